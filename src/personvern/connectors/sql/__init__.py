"""The ``sql`` connector (registered as ``personvern.connectors.sql:SqlConnector``)."""

from personvern.connectors.sql.connector import SqlConnector, SqlSettings

__all__ = ["SqlConnector", "SqlSettings"]
