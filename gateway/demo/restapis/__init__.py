"""Small, realistic proprietary JSON APIs for the `rest` connector: served by the tests over
loopback HTTP, and by the demo beside the gateway (each module has `create_app()`).

- `aot`: an Array of Things-style sensor API (nodes, sensors, observations; page/size,
  next links in the body and in a `Link` header, GeoJSON locations);
- `barriers`: accessibility-barrier reports in the style of an app such as FairCare
  (limit/offset or cursor paging, lon/lat and WKT positions, nested address and photos);
- `open311`: München's barrier reports as Open311 GeoReport v2 service requests (a bare
  array, page/page_size, service codes, open/closed with an extended detailed status);
- `laerm`, `parken`, `pegel`: noise monitors, car parks and tide gauges for the
  SensorThings sync.

The data is generated from fixed seeds, so every run serves the same records.
"""
