"""The record of processing activities (behandlingsprotokoll), GDPR Art. 30.

Art. 30(1) for the controller: (a) name and contact details of the controller, joint
controllers, representative and DPO; (b) purposes; (c) categories of data subjects and of
personal data; (d) categories of recipients, including in third countries; (e) transfers
to third countries; (f) time limits for erasure; (g) a general description of the Art. 32(1)
security measures. Art. 30(2), for processing done as a processor on behalf of others, gets
its own section; the inventory has no field for such processing yet, so the section states
what must be recorded there.

The record is for the owner and Datatilsynet (Art. 30(4)), never the public, so it shows
the inventory's notes and the retention periods the shop chose itself.
"""

from __future__ import annotations

from typing import Any

from personvern.inventory.schema import Inventory
from personvern.notices.facts import DocumentFacts

TEMPLATE = "records.{lang}.md.j2"


def context(facts: DocumentFacts, inventory: Inventory) -> dict[str, Any]:
    notes = [s for s in facts.systems if s.note or (s.transfer and s.transfer.note)]
    return {"notes": notes}
