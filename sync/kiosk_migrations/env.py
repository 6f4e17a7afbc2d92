"""Alembic environment for the kiosk database: always given a connection by
`hailong.sync.kiosk_migrations.upgrade`, never a URL."""

from __future__ import annotations

from alembic import context

from hailong.sync.kiosk_schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "the kiosk migrations run through hailong.sync.kiosk_migrations.upgrade(connection)"
    )
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
