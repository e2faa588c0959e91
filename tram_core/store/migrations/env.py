"""Alembic's environment for TRAM: configured in code (``tram_core.store.migrations``), never from an alembic.ini.

It runs on the connection ``migrations`` hands it in ``config.attributes["connection"]``, inside that connection's
transaction (the caller commits).
"""

from alembic import context

from tram_core.store.schema import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
