"""HTTP caching: validators (ETag, Last-Modified) from the sources' versions, 304 answers
without running a query, Cache-Control and Vary per route, and a response cache.

Two ASGI layers share one `Validators`: `ConditionalRequests` (innermost, so the
compression layer outside it can give each content coding its own ETag) and
`ResponseCache` (outside compression, so a hit skips compressing again).
"""
