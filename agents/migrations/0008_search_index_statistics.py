"""A larger statistics sample of the searched expressions (README, "Large customers").

`agents/trigram_search.py` prices each trigram of a search from PostgreSQL's statistics of the
trigram indexes' expressions (`UPPER(name)`, `UPPER(username)`, `UPPER(detail)`): 1,000 values
each instead of the default 100, so a trigram held by one row in a thousand is told from one
held by none. It costs the next ANALYZE a larger sample of the table (300,000 rows). PostgreSQL
only; nothing on SQLite.
"""

from django.db import migrations

INDEXES = ("agent_name_trgm_idx", "agent_username_trgm_idx", "agent_detail_trgm_idx")
SAMPLE = 1000


def set_statistics(target: int):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name in INDEXES:
            schema_editor.execute(f"ALTER INDEX {name} ALTER COLUMN 1 SET STATISTICS {target}")

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0007_search_trigram_indexes"),
    ]

    operations = [
        migrations.RunPython(set_statistics(SAMPLE), set_statistics(-1), elidable=False),
    ]
