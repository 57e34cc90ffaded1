"""A protocol-faithful NGSI test broker (Orion's NGSI-v2 API), shipped with the demo."""
