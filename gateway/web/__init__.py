"""What browsers need from the gateway besides the facades: CORS and compression, as ASGI
middleware around the app (see `gateway.app.create_app` for their order)."""
