"""MQTT over WebSockets on the gateway's own host and port (`/{tenant}/mqtt`, `/mqtt`):
`codec.py` the MQTT 3.1.1/5 packets, `session.py` one client's protocol, `topics.py` the
standard STA topics and the broker topics behind them, `hub.py` the fan-out to clients
(through the broker, or in process without one), `endpoint.py` the routes and who may do
what."""
