"""Trigram indexes for the `q` search (README, "Performance", "Large customers").

`q` is a case-insensitive "contains" on an agent's name, username and detail (and the admin
site's search also on address targets): Django writes it `UPPER(col::text) LIKE UPPER(%s)` on
PostgreSQL, so the GIN indexes are on `UPPER(col)` with pg_trgm's operator class and a
`LIKE '%...%'` is answered from them instead of a sequential scan. They cover deleted rows too
(the admin site searches those). PostgreSQL only: on SQLite the search is a plain scan and
this migration does nothing. The indexes are built CONCURRENTLY (the migration is not atomic),
so writes to a large table go on while they are built.
"""

from django.db import migrations

INDEXES = (
    ("agent_name_trgm_idx", "agents_agent", "name"),
    ("agent_username_trgm_idx", "agents_agent", "username"),
    ("agent_detail_trgm_idx", "agents_agent", "detail"),
    ("address_target_trgm_idx", "agents_address", "target"),
)


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        # A concurrent build that failed leaves an invalid index behind: drop it first.
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY {name} ON {table} USING gin (UPPER({column}) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    # The extension stays: other objects of the database may use it.


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("agents", "0006_status_change_report_index"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
