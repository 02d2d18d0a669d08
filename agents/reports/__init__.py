"""Supervisor reports (issue 15): where the day went, per agent and per status.

Reads only, computed in the database from the status history:

- `periods`: the customer's days, hours and 15-minute slots as UTC boundaries (zoneinfo, so a
  daylight-saving day has 23 or 25 hours), and the parsing of a requested range;
- `queries`: the SQL (window functions over each agent's history, clipped to the buckets), the
  same text on PostgreSQL and SQLite;
- `selectors`: what the doors call: the status report, the timeline, the staffing curve and a
  page of one agent's history.
"""
