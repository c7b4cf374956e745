"""Storage: SQLAlchemy engine/session helpers, the declarative base, Alembic migrations."""
