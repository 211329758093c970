"""Retention (issue 7): rules applied on a schedule, legal holds, dry runs and reports.

- :mod:`personvern.retention.engine` turns the inventory's rules into one
  :class:`~personvern.connectors.base.SweepRule` per target and runs it through the
  system's connector, with the share check and retries;
- :mod:`personvern.retention.holds` — legal holds: open requests, disputes, manual holds;
- :mod:`personvern.retention.reports` — a report row per rule × system, and the audit entry;
- :mod:`personvern.retention.schedule` — the daily run (in-process on SQLite, a periodic
  job on PostgreSQL);
- :mod:`personvern.retention.cli` — ``personvern retention …``.
"""
