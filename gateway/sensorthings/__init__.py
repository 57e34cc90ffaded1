"""OGC SensorThings API 1.1 facade: per tenant at `/{tenant}/sta/v1.1/`, federated at
`/sta/v1.1/`.

Layout (one concern per module):

- `model.py`      the entity model: types, properties, relations, what is mandatory;
- `paths.py`      resource paths (`Things(1)/Datastreams`, `/name/$value`, `$ref`);
- `odata/`        the one OData parser: `expr.py` ($filter, $orderby), `options.py` (the
                  options tree, nested $expand), `bind.py` (checked against the model),
                  `render.py` (back to text for nextLinks and upstream servers);
- `store/`        the embedded store: `schema.py`, `compile.py` + `calls.py` + `joins.py`
                  (the tree to SQL with bound parameters), `order.py` (keyset paging),
                  `read.py`, `write.py`, `modify.py`, `bulk.py` (plans shared by both
                  drivers), `sqlite.py` and `postgres.py` (the drivers);
- `encode.py`     entities to JSON (selfLinks, navigationLinks, $select, dataArray);
- `service.py`    one tenant over its embedded store; `proxy.py` an upstream STA server;
                  `federated.py` the federated root over all tenants;
- `routes.py`     thin HTTP routes with their own STA-shaped errors; `root.py` the service
                  root document; `auth.py` the API key; `jsonpatch.py` JSON Patch;
- `mqtt.py`       the bridge to the MQTT broker; `aot.py` the Array-of-Things importer;
- `sync/`         other sensor backends (NGSI-v2/LD brokers) synchronised into the store:
                  mapping, upsert by external key, polling, subscriptions, one scheduler;
- `ws/`           MQTT over WebSockets at `/{tenant}/mqtt` and `/mqtt`: the MQTT 3.1.1/5
                  server codec, one client's session, the standard topics, the hub;
- `facade.py`     what the application builds, opens and closes; `config.py` its settings.
"""
