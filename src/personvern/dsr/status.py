"""The kinds of request and the states a request and its steps go through.

A request: ``unverified`` (the e-mail link not yet followed; expires after 7 days) →
``verified`` → ``awaiting_approval`` (when the shop reviews plans first) → ``running`` →
``waiting`` (only manual tasks remain) → ``completed``; or ``refused`` (Art. 12(4), with
reasons), ``expired`` (never verified) or ``failed`` (a step failed fatally; an admin
decides).
"""

from __future__ import annotations

from typing import Final, Literal

RequestKind = Literal["access", "rectify", "erase", "object", "restrict"]
KINDS: Final[tuple[RequestKind, ...]] = ("access", "rectify", "erase", "object", "restrict")

# The article of the GDPR each kind rests on, for texts and reports.
ARTICLE: Final[dict[RequestKind, str]] = {
    "access": "15",
    "rectify": "16",
    "erase": "17",
    "object": "21(2)–(3)",
    "restrict": "18",
}

RequestStatus = Literal[
    "unverified",
    "verified",
    "awaiting_approval",
    "running",
    "waiting",
    "completed",
    "refused",
    "expired",
    "failed",
]
OPEN_STATUSES: Final[frozenset[str]] = frozenset(
    {"unverified", "verified", "awaiting_approval", "running", "waiting", "failed"}
)

StepAction = Literal["access", "erase", "rectify", "unsubscribe", "restrict"]
StepStatus = Literal["pending", "running", "done", "failed", "waiting", "skipped"]
# A step in one of these states is finished and is never run again.
FINISHED_STEPS: Final[frozenset[str]] = frozenset({"done", "skipped"})
