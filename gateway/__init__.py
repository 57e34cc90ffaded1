"""TwinBridge: one standard API over every city's data platform."""

__version__ = "0.1.0"
