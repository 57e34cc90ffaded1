"""Requests per client and per tenant within a time window (`server.rate_limits`)."""
