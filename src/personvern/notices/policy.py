"""The privacy policy (personvernerklæring): GDPR Art. 13 and 14 from the inventory.

Art. 13(1): (a) controller, (b) DPO, (c) purposes and legal bases, (d) legitimate
interests, (e) recipients, (f) transfers and safeguards. Art. 13(2): (a) retention,
(b) rights, (c) withdrawal of consent, (d) complaint to Datatilsynet, (e) whether data is
required, (f) automated decisions. Art. 14(2)(f): sources. Art. 21(4): the right to object
to direct marketing, shown separately. Markedsføringsloven § 15: opting out of e-mail
marketing. The wording is in ``templates/policy.{nb,en}.md.j2``; this module decides which
facts each section shows.
"""

from __future__ import annotations

from typing import Any

from personvern.inventory.schema import Inventory
from personvern.notices.facts import ActivityFacts, DocumentFacts, SystemFacts

TEMPLATE = "policy.{lang}.md.j2"


def context(facts: DocumentFacts, inventory: Inventory) -> dict[str, Any]:
    """What the policy template needs beyond the shared facts."""
    sourced: list[tuple[ActivityFacts, SystemFacts]] = [
        (activity, source) for activity in facts.activities for source in activity.other_sources
    ]
    marketing = [a for a in facts.activities if a.direct_marketing]
    return {
        "sourced": sourced,
        "automated": [a for a in facts.activities if a.automated_decision],
        "optional_cookies": any(c.category != "necessary" for c in inventory.cookies),
        # Art. 21(4): shown separately where data is used for direct marketing at all.
        "marketing": bool(marketing),
        # Markedsføringsloven § 15: e-mail marketing needs an opt-out in every message.
        "email_marketing": any(
            a.data_use.startswith("marketing.communications") for a in marketing
        ),
    }
