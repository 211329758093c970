"""Data-subject requests: intake, verification, deadlines, the plan, the executor, reports."""
