"""The supervisor console: server-rendered pages over the same services and selectors as the API.

Views only translate: a form parses the request, a service does the work, a `DomainError` goes
back next to the field it is about (or into a message). Supervisors (admins and managers) see
their own customer only, a project super admin included; another customer's agent in a URL is
answered as missing (404). A plain agent gets its own page (status and addresses) and a 403 for
every supervisor page. One module per page: `sign_in`, `board`, `agents` (the list and what it
starts), `agent_detail`, `me`, `access_keys`, `imports`; what several share is in `common` and
`voipbin_admin.console`.
"""
