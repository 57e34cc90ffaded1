"""The OGC API – Features suite: Part 1 (core, GeoJSON, HTML, OpenAPI 3.0), Part 2 (CRS
by reference) and Part 3 (queryables, filtering with CQL2). Its checks register when
`conformance.suites.load_all()` imports the modules listed there; `api` tells the runner
what the server declares and which collections to test; see `conformance.features.names`
for the identifiers."""
