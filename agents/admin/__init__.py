"""The Django admin site: platform operators inspect and repair any customer's data.

Only project super admins get in (`Agent.is_staff` is derived from permission bit 1). The
admin is a third front door onto the same services as the API and the console: every add,
change, delete and action calls a service with the operator as `actor`, so it cannot bypass a
rule (address uniqueness, the last admin, history and events). Deletion is always the soft
delete of the services; Django's hard delete is never reachable. The plumbing shared with the
tags' admin is `voipbin_admin/admin_support.py`.

Django's autodiscovery imports this package; importing the modules registers their ModelAdmins.
"""

from agents.admin import access_keys, agents, customers, history, site  # noqa: F401
