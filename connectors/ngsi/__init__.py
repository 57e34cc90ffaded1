"""FIWARE NGSI sources: NGSI-v2 (Orion) now, NGSI-LD beside it."""
