"""The store: SQLAlchemy tables, Alembic migrations and the engine/session factory."""
