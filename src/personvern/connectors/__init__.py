"""Connectors: one module per kind of system, all behind the contract in ``base``."""
