"""The SensorThings API 1.1 suite: sensing core (read only), request data / filtering on
the data present, create-update-delete (--allow-writes) and MQTT (--mqtt HOST:PORT); and,
as a suite of its own (`profile.py`), SensorThings profile conformance (--profile). Its
checks register when `conformance.suites.load_all()` imports the modules listed there.

When the target has no `value` list of entity sets at its root, every check is skipped
with that reason, so `--suite all` against a Features endpoint stays clean."""
