"""Erasing a person in WooCommerce: the account deleted, orders anonymized or deleted.

- The customer account goes with ``DELETE /customers/{id}?force=true`` (customers cannot be
  trashed); WooCommerce keeps their orders and sets their ``customer_id`` to 0. A hold on
  ``customers`` keeps the account instead, with every field it does not name blanked as
  WooCommerce's ``customer_data_eraser`` does.
- Orders are anonymized as WooCommerce's own eraser does (:mod:`.anonymize`) and their notes
  deleted; with the plan's action ``delete`` and no hold on ``orders`` they are deleted
  (``force=true``). Orders under a hold (bookkeeping: bokføringsloven § 13) are anonymized
  except for the fields the hold names, and the hold is reported in ``kept``.

Orders go before the account, so an erasure stopped half-way still finds the rest next time
(by customer id while the account lives, by billing e-mail after). A second erasure finds
nothing to change.
"""

from __future__ import annotations

from personvern.connectors.base import ErasurePlan, ErasureResult, Hold
from personvern.connectors.woocommerce.anonymize import customer_erasure, order_erasure
from personvern.connectors.woocommerce.client import WooClient
from personvern.connectors.woocommerce.finding import Found, flatten


def held_fields(holds: tuple[Hold, ...], collection: str) -> frozenset[str]:
    return frozenset(f for h in holds if h.collection == collection for f in h.fields)


async def erase(client: WooClient, found: Found, plan: ErasurePlan) -> ErasureResult:
    deleted: dict[str, int] = {}
    anonymized: dict[str, int] = {}
    notes: list[str] = []
    ip_left = 0
    order_held = held_fields(plan.holds, "orders")
    order_hold = any(h.collection == "orders" for h in plan.holds)
    keep_notes = any(h.collection == "order_notes" for h in plan.holds)

    def count(into: dict[str, int], collection: str, n: int = 1) -> None:
        if n:
            into[collection] = into.get(collection, 0) + n

    for order in found.orders:
        order_id = int(order["id"])
        order_notes = found.notes.get(order_id, [])
        if plan.action == "delete" and not order_hold:
            if await client.delete_order(order_id):
                count(deleted, "orders")
                count(deleted, "order_notes", len(order_notes))
            continue
        body, left = order_erasure(flatten(order), order_held)
        ip_left += bool(left)
        if body:
            await client.update_order(order_id, body)
            count(anonymized, "orders")
        if not keep_notes:
            for note in order_notes:
                if await client.delete_order_note(order_id, int(note["id"])):
                    count(deleted, "order_notes")
    if found.customer is not None:
        customer_id = int(found.customer["id"])
        if any(h.collection == "customers" for h in plan.holds):
            body = customer_erasure(flatten(found.customer), held_fields(plan.holds, "customers"))
            if body:
                await client.update_customer(customer_id, body)
                count(anonymized, "customers")
        elif await client.delete_customer(customer_id):
            count(deleted, "customers")
    if ip_left:
        notes.append(
            f"The IP address and browser stay on {ip_left} order(s): WooCommerce's REST API "
            "keeps customer_ip_address and customer_user_agent read-only. Run WooCommerce's "
            "own eraser for this person (WordPress → Tools → Erase Personal Data, with "
            "'Remove personal data from orders on request' on), or the wordpress connector "
            "through the personvern-bridge plugin, to mask them."
        )
    has = {"customers": found.customer is not None, "orders": bool(found.orders)}
    has["order_notes"] = any(found.notes.get(int(o["id"])) for o in found.orders)
    kept = tuple(h for h in plan.holds if has.get(h.collection))
    return ErasureResult(deleted=deleted, anonymized=anonymized, kept=kept, notes=tuple(notes))
