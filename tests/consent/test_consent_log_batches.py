"""One batch of the consent writer with every kind of choice in it, on both stores.

Under load a batch mixes first choices, repeats, changes of a consent id written in an
earlier batch and two choices under one id; on PostgreSQL the first kind takes a one-
statement fast path and the others the general one. Whatever the mix, the answers come
back in the batch's order and the history of each receipt is one unbroken chain.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from consent_support import entries

from personvern.consent.chain import GENESIS, Pending, entry_hash
from personvern.consent.choice import Choice
from personvern.consent.log import ConsentLog
from personvern.runtime import Runtime
from personvern.store.base import utcnow

SITE = "https://www.assemble.no"
TEXTS = "a" * 64


def _choice(consent_id: str, method: str = "accept_all") -> Choice:
    granted = ["preferences", "analytics", "marketing"] if method == "accept_all" else []
    denied = [] if method == "accept_all" else ["preferences", "analytics", "marketing"]
    return Choice(
        consent_id=consent_id,
        site=SITE,
        policy_version=1,
        texts_hash=TEXTS,
        granted=granted,  # type: ignore[arg-type]  # literals checked by the model
        denied=denied,  # type: ignore[arg-type]
        method=method,  # type: ignore[arg-type]
        language="nb",
    )


def _pending(consent_id: str, method: str = "accept_all", seconds: int = 0) -> Pending:
    at = utcnow() + timedelta(seconds=seconds)
    return Pending(_choice(consent_id, method), at, "203.0.113.0/24", "Firefox")


def test_a_mixed_batch_is_answered_in_order_with_intact_chains(runtime: Runtime) -> None:
    log = ConsentLog(runtime)
    try:
        earlier = str(uuid.uuid4())
        first = log._write_batch([_pending(earlier)])
        assert [(w.seq, w.created) for w in first] == [(1, True)]

        new, twice = str(uuid.uuid4()), str(uuid.uuid4())
        batch = [
            _pending(new),  # a first choice
            _pending(earlier, "reject_all", 1),  # a change of an id from an earlier batch
            _pending(twice),  # two choices under one id in the same batch
            _pending(twice, "reject_all", 2),
            _pending(earlier, "reject_all", 1),  # and the change repeated: idempotent
        ]
        answers = log._write_batch(batch)
        assert [(w.consent_id, w.seq, w.created) for w in answers] == [
            (new, 1, True),
            (earlier, 2, True),
            (twice, 1, True),
            (twice, 2, True),
            (earlier, 2, False),
        ]
        assert answers[1].receipt_id == first[0].receipt_id
        assert answers[2].receipt_id == answers[3].receipt_id
    finally:
        log.close()

    for consent_id, length in ((earlier, 2), (new, 1), (twice, 2)):
        chain = entries(runtime, consent_id)
        assert [e.seq for e in chain] == list(range(1, length + 1))
        previous = GENESIS
        for entry in chain:
            assert entry.prev_hash == previous
            assert entry.entry_hash == entry_hash(
                consent_id=consent_id,
                seq=entry.seq,
                at=entry.at,
                request=entry.request_hash,
                ip_prefix=entry.ip_prefix,
                ua_family=entry.ua_family,
                prev_hash=previous,
            )
            previous = entry.entry_hash
