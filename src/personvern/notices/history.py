"""The privacy policy's versions: a new number and date each time its text changes.

The policy is rendered from the inventory, so it changes whenever the facts do. On start,
and whenever the admin asks, :func:`publish` renders both languages, and if the text is not
the one last stored, stores it as the next version (Art. 12(1) and 13(3): people must be
able to see what they were told, and be told again before a new purpose). The consent
banner re-asks when the version it recorded is older than the current one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import func, select

from personvern.inventory.schema import Inventory
from personvern.notices.render import render_notice
from personvern.notices.versions import diff_html, policy_fingerprint
from personvern.runtime import Runtime
from personvern.store.tables import PolicyVersion


@dataclass(frozen=True)
class Published:
    number: int
    published: date
    fingerprint: str
    new: bool


def _markdown(inventory: Inventory, lang: Literal["nb", "en"]) -> str:
    # Rendered without a version line: the fingerprint is of the content alone.
    return render_notice(inventory, "policy", lang, "md").decode()


def publish(runtime: Runtime, inventory: Inventory) -> Published:
    """Store the rendered policy as a new version if it changed; return the current one."""
    nb, en = _markdown(inventory, "nb"), _markdown(inventory, "en")
    fingerprint = policy_fingerprint(nb + "\n\n" + en)
    with runtime.audit.session() as session:
        latest = session.scalars(
            select(PolicyVersion).order_by(PolicyVersion.number.desc()).limit(1)
        ).first()
        if latest is not None and latest.fingerprint == fingerprint:
            return Published(latest.number, latest.published_at.date(), fingerprint, new=False)
        # A text seen before (the facts went back to an earlier state) still gets a new
        # number: people were shown something else in between.
        number = (session.scalar(select(func.max(PolicyVersion.number))) or 0) + 1
        version = PolicyVersion(
            number=number,
            fingerprint=fingerprint,
            markdown_nb=nb,
            markdown_en=en,
        )
        session.add(version)
        session.flush()
        runtime.audit.append(
            session,
            actor="system",
            action="policy.version_published",
            object_type="policy_version",
            object_id=str(number),
            details={"fingerprint": fingerprint},
        )
        return Published(number, version.published_at.date(), fingerprint, new=True)


def versions(runtime: Runtime) -> list[PolicyVersion]:
    """Every stored version, newest first."""
    with runtime.sessions() as session:
        return list(session.scalars(select(PolicyVersion).order_by(PolicyVersion.number.desc())))


def version(runtime: Runtime, number: int) -> PolicyVersion | None:
    with runtime.sessions() as session:
        return session.get(PolicyVersion, number)


def compare(runtime: Runtime, old: int, new: int, lang: str) -> str:
    """A readable HTML diff between two stored versions in one language."""
    a, b = version(runtime, old), version(runtime, new)
    if a is None or b is None:
        missing = old if a is None else new
        raise LookupError(f"there is no policy version {missing}")
    if lang == "en":
        return diff_html(a.markdown_en, b.markdown_en)
    return diff_html(a.markdown_nb, b.markdown_nb)
