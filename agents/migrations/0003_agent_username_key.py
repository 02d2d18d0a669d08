"""Usernames are compared by one stored key (agents/usernames.py) instead of LOWER(username),
which PostgreSQL folds differently from the UPPER() of `iexact`."""

import unicodedata

from django.db import migrations, models


def _fold(username):
    # Frozen copy of agents.usernames.fold_username, as of this migration.
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())
    return folded.replace("\u0131", "i")


def fill_username_keys(apps, schema_editor):
    Agent = apps.get_model("agents", "Agent")
    batch = []
    for agent in Agent.objects.only("id", "username").iterator(chunk_size=2000):
        agent.username_key = _fold(agent.username)
        batch.append(agent)
        if len(batch) == 2000:
            Agent.objects.bulk_update(batch, ["username_key"])
            batch = []
    Agent.objects.bulk_update(batch, ["username_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0002_drop_indexes_covered_by_composite_ones"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="agent", name="agent_username_live_unique"),
        migrations.AddField(
            model_name="agent",
            name="username_key",
            field=models.CharField(default="", editable=False, max_length=255),
            preserve_default=False,
        ),
        migrations.RunPython(fill_username_keys, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="agent",
            constraint=models.UniqueConstraint(
                condition=models.Q(("tm_delete__isnull", True)),
                fields=("username_key",),
                name="agent_username_live_unique",
            ),
        ),
    ]
