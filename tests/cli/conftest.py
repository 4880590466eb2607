"""The station commands run against real databases: the server specs' SQLite and PostgreSQL fixtures."""

from server.store_support import database_url, pg_databases  # noqa: F401  (fixtures)
