"""State shared by every worker and instance through Redis (`server.shared_state`): the
response cache, circuit breakers and single flight of upstream metadata. Without Redis,
or while it is unreachable, each worker keeps its own, as a single process would."""
