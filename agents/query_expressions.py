"""SQL that builds an agent's `tag_ids` and `addresses` as JSON inside the agent query itself.

A list page is then one query returning plain rows, instead of one query per relation plus a
model instance per related row (the prefetch path cost ~90% of a 100-agent page). Each
expression is a correlated subquery on the outer agent row, written once per database: JSON
aggregation has no portable ORM spelling in Django 5.2, and SQLite before 3.44 cannot order
inside an aggregate, so it aggregates an ordered subquery. Both return JSON text.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Expression, Model, TextField

_TAG_IDS = {
    "postgresql": (
        "COALESCE((SELECT json_agg(t.tag_id ORDER BY t.id) FROM tags_agenttag t"
        " WHERE t.agent_id = {agent}.id), '[]'::json)::text"
    ),
    "sqlite": (
        "(SELECT json_group_array(tag_id) FROM"
        " (SELECT t.tag_id FROM tags_agenttag t WHERE t.agent_id = {agent}.id ORDER BY t.id))"
    ),
}

_ADDRESSES = {
    "postgresql": (
        "COALESCE((SELECT json_agg(json_build_object('type', d.type, 'target', d.target,"
        " 'target_name', d.target_name, 'name', d.name, 'detail', d.detail) ORDER BY d.position)"
        " FROM agents_address d WHERE d.agent_id = {agent}.id), '[]'::json)::text"
    ),
    "sqlite": (
        "(SELECT json_group_array(json_object('type', type, 'target', target,"
        " 'target_name', target_name, 'name', name, 'detail', detail)) FROM"
        " (SELECT d.type, d.target, d.target_name, d.name, d.detail FROM agents_address d"
        " WHERE d.agent_id = {agent}.id ORDER BY d.position))"
    ),
}


class _AgentRelationJSON(Expression):
    """JSON text of one relation of the outer query's agent row."""

    sql_by_vendor: dict[str, str] = {}
    output_field = TextField()

    def as_sql(self, compiler, connection):
        template = self.sql_by_vendor.get(connection.vendor)
        if template is None:
            raise NotImplementedError(f"{type(self).__name__} has no SQL for {connection.vendor}")
        agent_alias = connection.ops.quote_name(compiler.query.get_initial_alias())
        return template.format(agent=agent_alias), []


class AgentTagIdsJSON(_AgentRelationJSON):
    """`["<tag uuid>", ...]` in the order the tags were given."""

    sql_by_vendor = _TAG_IDS


class AgentAddressesJSON(_AgentRelationJSON):
    """`[{"type", "target", "target_name", "name", "detail"}, ...]` in ring order."""

    sql_by_vendor = _ADDRESSES


def agent_by_id_sql(vendor: str, *, live_only: bool) -> str:
    """One agent by id with `tag_ids_json` and `addresses_json`, for `Agent.objects.raw()`.

    The API reads one agent on most requests; written in SQL, an in-process `GET
    /v1.0/agents/{id}` went from 1.4 ms to 1.0 ms of CPU (README, "Performance").
    """
    tag_ids = _TAG_IDS[vendor].format(agent="a")
    addresses = _ADDRESSES[vendor].format(agent="a")
    columns = f"a.*, {tag_ids} AS tag_ids_json, {addresses} AS addresses_json"
    sql = f"SELECT {columns} FROM agents_agent a WHERE a.id = %s"  # noqa: S608 (fixed fragments)
    return f"{sql} AND a.tm_delete IS NULL" if live_only else sql


def db_param(model: type[Model], field_name: str, value: object) -> object:
    """`value` as the database driver takes it for that field of `model` (what the ORM does to
    a value before it reaches SQL), for the statements written in SQL."""
    return model._meta.get_field(field_name).get_db_prep_save(value, connection)
