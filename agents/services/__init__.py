"""Every write to agents, their credentials and history: the rules of contract sections 2, 6, 8.

Each service is keyword-only, takes the acting agent (or access key, or `permissions.SYSTEM`
for the operator's own tools) as `actor`, runs in one transaction, records status history and
events in that same transaction, and raises `voipbin_admin.errors.DomainError` subclasses
carrying the contract's `reason` codes. The database's unique constraints back every
uniqueness rule, so a concurrent writer that slips past a check gets the same documented
error, never a 500 (`voipbin_admin.core.atomic_service`).

One module per concern; callers use the names below (`from agents import services`):

- `agents`: create, profile, permission, direct hash, delete, restore;
- `status`: the status and its history;
- `addresses`, `tags`: what an agent's calls ring, which tags it has;
- `credentials`: passwords, login tokens, access keys;
- `customers`: a customer and its first admin;
- `cleaning`: the input rules (`clean_*`), which the CSV import checks its cells with too;
- `events`: the event rows and the compare-and-set writer of the hot paths;
- `rules`: the row lock and the rights rules several services share;
- `csv_import`: the console's CSV import (its preview, and the task's work), imported as
  `from agents.services import csv_import` (the file's format is `agents.csv_format`).
"""

from agents.credentials import hash_secret
from agents.services.addresses import agent_replace_addresses
from agents.services.agents import (
    agent_create,
    agent_delete,
    agent_regenerate_direct_hash,
    agent_restore,
    agent_set_permission,
    agent_update,
)
from agents.services.cleaning import (
    PASSWORD_MAX_LENGTH,
    REASON_MAX_LENGTH,
    PreparedPassword,
    clean_address_list,
    clean_password,
    clean_permission,
    clean_ring_method,
    clean_status,
    clean_tag_ids,
    clean_username,
    prepare_password,
)
from agents.services.credentials import (
    ACCESS_KEY_MAX_LIFETIME,
    access_key_create,
    access_key_delete,
    access_key_update,
    agent_set_password,
    login_token_create,
    login_token_issue,
    login_token_revoke,
)
from agents.services.customers import customer_create_with_admin, customer_update
from agents.services.events import record_agent_events
from agents.services.status import agent_set_status
from agents.services.tags import agent_add_tags, agent_remove_tags, agent_replace_tags

__all__ = [
    "ACCESS_KEY_MAX_LIFETIME",
    "PASSWORD_MAX_LENGTH",
    "REASON_MAX_LENGTH",
    "PreparedPassword",
    "access_key_create",
    "access_key_delete",
    "access_key_update",
    "agent_add_tags",
    "agent_create",
    "agent_delete",
    "agent_regenerate_direct_hash",
    "agent_remove_tags",
    "agent_replace_addresses",
    "agent_replace_tags",
    "agent_restore",
    "agent_set_password",
    "agent_set_permission",
    "agent_set_status",
    "agent_update",
    "clean_address_list",
    "clean_password",
    "clean_permission",
    "clean_ring_method",
    "clean_status",
    "clean_tag_ids",
    "clean_username",
    "customer_create_with_admin",
    "customer_update",
    "hash_secret",
    "login_token_create",
    "login_token_issue",
    "login_token_revoke",
    "prepare_password",
    "record_agent_events",
]
