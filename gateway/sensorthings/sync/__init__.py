"""Synchronisation of other sensor backends into a tenant's embedded SensorThings store.

- `config.py`     the `sensorthings.sync` sources (pydantic, documented in the README);
- `units.py`      UN/CEFACT unit codes (Smart Data Models) to UCUM;
- `ngsimap.py`    NGSI entities (v2, LD, LD temporal) to Things/Datastreams/readings;
- `upsert.py`     one store transaction per batch: find-or-make by external key, add only
                  new Observations;
- `ngsi.py`       talking to a broker: polling windows, history, subscriptions;
- `restconfig.py`, `rest.py`  a proprietary REST/JSON API (`kind: rest`) by declared paths,
                  polled incrementally into a profile, as the same EntityData;
- `profiled.py`   a source's SensorThings profile; `convert.py` units to the profile's;
- `notify.py`     the notification endpoint `/{tenant}/sync/ngsi/{source}/notify`;
- `scheduler.py`  one scheduler for every source of every tenant.

The Array-of-Things import (`gateway/sensorthings/aot.py`) predates this package.
"""
