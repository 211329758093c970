"""Loading fideslang datasets: what loads unchanged, and the errors for what cannot work."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from personvern.connectors.datasets import DatasetError, DatasetSpec, load_dataset_text
from personvern.connectors.traversal import Input

SHOP_DATASET = Path(__file__).resolve().parents[2] / "examples" / "assemble" / "shop_dataset.yml"

# Shaped like Fides' postgres_example_test_dataset.yml (customer → orders → order_item).
FIDES_STYLE = """\
dataset:
  - fides_key: postgres_example
    name: Postgres Example Test Dataset
    collections:
      - name: customer
        fields:
          - name: email
            data_categories: [user.contact.email]
            fidesops_meta:
              identity: email
              data_type: string
          - name: id
            data_categories: [user.unique_id]
            fides_meta:
              primary_key: True
          - name: address_id
            data_categories: [system.operations]
            fides_meta:
              references:
                - dataset: postgres_example
                  field: address.id
                  direction: to
      - name: address
        fields:
          - name: id
            data_categories: [system.operations]
            fides_meta: {primary_key: True}
          - name: city
            data_categories: [user.contact.address.city]
      - name: orders
        fields:
          - name: id
            data_categories: [system.operations]
            fides_meta: {primary_key: True}
          - name: customer_id
            data_categories: [user.unique_id]
            fides_meta:
              references:
                - {dataset: postgres_example, field: customer.id, direction: from}
      - name: order_item
        fields:
          - name: order_id
            data_categories: [system.operations]
            fides_meta:
              references:
                - {dataset: postgres_example, field: orders.id, direction: from}
          - name: details
            fields:
              - name: gift_note
                data_categories: [user.content.private]
      - name: login
        fides_meta:
          masking_strategy_override: {strategy: delete}
        fields:
          - name: id
            data_categories: [system.operations]
          - name: customer_id
            data_categories: [user.unique_id]
            fides_meta:
              references:
                - dataset: postgres_example
                  field: customer.id
          - name: device
            data_categories: [user.device]
            fides_meta:
              masking_strategy_override:
                strategy: string_rewrite
                configuration: {rewrite_value: skjult}
"""


def fides_style() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(FIDES_STYLE)
    return data


def load(data: dict[str, Any]) -> DatasetSpec:
    return load_dataset_text(yaml.safe_dump(data, sort_keys=False), source="test.yml")


def test_a_fides_dataset_loads_unchanged() -> None:
    spec = load_dataset_text(FIDES_STYLE, source="fides.yml")
    assert spec.key == "postgres_example"
    assert set(spec.collections) == {"customer", "address", "orders", "order_item", "login"}
    assert spec.collections["customer"].field("email").identity == "email"  # type: ignore[union-attr]
    assert spec.collections["login"].delete_rows
    device = spec.collections["login"].field("device")
    assert device is not None
    assert device.masking is not None
    assert device.masking.to_dict() == {
        "strategy": "string_rewrite",
        "configuration": {"rewrite_value": "skjult"},
    }
    gift = spec.collections["order_item"].field("details.gift_note")
    assert gift is not None
    assert gift.path == ("details", "gift_note")


def test_the_plan_follows_references_three_levels_down() -> None:
    spec = load_dataset_text(FIDES_STYLE)
    steps = {s.collection: s for s in spec.graph.plan(["email"]).steps}
    order = [s.collection for s in spec.graph.plan(["email"]).steps]
    assert order.index("customer") < order.index("orders") < order.index("order_item")
    assert order.index("customer") < order.index("address")  # direction: to
    assert steps["order_item"].inputs == (Input("order_id", None, "orders", "id"),)
    assert steps["address"].inputs == (Input("id", None, "customer", "address_id"),)
    # The undirected reference carries values from customer, reached first, to login.
    assert steps["login"].inputs == (Input("customer_id", None, "customer", "id"),)
    assert set(steps["customer"].outputs) == {"id", "address_id"}


def test_the_shop_dataset_loads_and_names_its_bookkeeping_fields() -> None:
    from personvern.connectors.datasets import load_dataset

    spec = load_dataset(SHOP_DATASET)
    held = spec.fields_with_use("essential.legal_obligation")
    assert {"order_number", "billing_name", "total", "vat", "created_at"} <= set(held["orders"])
    assert spec.graph.identity_types == {"email", "phone", "customer_id"}


def test_round_trip() -> None:
    spec = load_dataset_text(FIDES_STYLE)
    again = DatasetSpec.from_dict(spec.to_dict())
    assert again.to_dict() == spec.to_dict()
    assert again.graph == spec.graph


def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of ``data`` with the value at a path like ``0.customer.email.fides_meta`` set."""
    out = copy.deepcopy(data)
    node: Any = out["dataset"][0]
    parts = path.split(".")
    for part in parts[:-1]:
        if isinstance(node, dict) and "collections" in node:
            node = next(c for c in node["collections"] if c["name"] == part)
        elif isinstance(node, dict) and "fields" in node and part not in node:
            node = next(f for f in node["fields"] if f["name"] == part)
        else:
            node = node[part]
    node[parts[-1]] = value
    return out


REF = "dataset: postgres_example"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            "orders.customer_id.fides_meta",
            {"references": [{"dataset": "postgres_example", "field": "customers.id"}]},
            "there is no collection 'customers' (did you mean 'customer'?)",
        ),
        (
            "orders.customer_id.fides_meta",
            {"references": [{"dataset": "postgres_example", "field": "customer.idd"}]},
            "customer has no field 'idd' (did you mean 'id'?)",
        ),
        (
            "orders.customer_id.fides_meta",
            {"references": [{"dataset": "postgres_example", "field": "orders.id"}]},
            "refers to its own collection",
        ),
        (
            "orders.customer_id.fides_meta",
            {},
            "collection orders cannot be reached from any identity",
        ),
        (
            "customer.email.fidesops_meta",
            {},
            "no field has fides_meta.identity",
        ),
        (
            "customer.email.data_categories",
            ["user.contact.emial"],
            "did you mean 'user.contact.email'",
        ),
        (
            "login.device.fides_meta",
            {"masking_strategy_override": {"strategy": "hash_it"}},
            "'hash_it' is not a masking strategy",
        ),
        (
            "login.device.fides_meta",
            {"masking_strategy_override": {"strategy": "delete"}},
            "collection-level override",
        ),
        (
            "login.device.fides_meta",
            {
                "masking_strategy_override": {
                    "strategy": "random_string_rewrite",
                    "configuration": {"length": "long"},
                }
            },
            "configuration of random_string_rewrite is invalid",
        ),
        (
            "orders.customer_id.fides_meta",
            {
                "references": [
                    {"dataset": "postgres_example", "field": "customer.id", "direction": "up"}
                ]
            },
            "direction",
        ),
        ("address.name", "address; drop table x", "not a plain identifier"),
        ("customer.fides_meta", {"after": ["postgres_example.nowhere"]}, "'nowhere'"),
    ],
)
def test_problems_are_reported_clearly(path: str, value: Any, message: str) -> None:
    with pytest.raises(DatasetError) as caught:
        load(_set(fides_style(), path, value))
    assert message in str(caught.value)
    assert re.search(r"test\.yml(:\d+)?: ", str(caught.value))


def test_orderings_that_cannot_hold_are_rejected() -> None:
    data = _set(
        fides_style(),
        "customer.id.fides_meta",
        {
            "primary_key": True,
            "references": [
                {"dataset": "postgres_example", "field": "orders.id", "direction": "from"}
            ],
        },
    )
    with pytest.raises(DatasetError, match="wait on each other"):
        load(data)


def test_problems_name_the_line() -> None:
    text = FIDES_STYLE.replace("field: address.id", "field: adress.id")
    with pytest.raises(DatasetError) as caught:
        load_dataset_text(text, source="fides.yml")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "adress.id" in t)
    assert any(p.startswith(f"fides.yml:{line - 1}:") for p in caught.value.problems)


def test_every_problem_is_reported_at_once() -> None:
    data = _set(fides_style(), "customer.email.data_categories", ["user.nope"])
    data = _set(data, "login.device.fides_meta", {"masking_strategy_override": {"strategy": "x"}})
    with pytest.raises(DatasetError) as caught:
        load(data)
    assert len(caught.value.problems) == 2


def test_references_to_other_datasets_are_noted_not_followed() -> None:
    data = _set(
        fides_style(),
        "address.city.fides_meta",
        {"references": [{"dataset": "mongo_example", "field": "profile.city"}]},
    )
    spec = load(data)
    assert any("mongo_example" in n for n in spec.notes)


def test_several_datasets_need_a_key() -> None:
    data = fides_style()
    other = copy.deepcopy(data["dataset"][0])
    other["fides_key"] = "second"
    data["dataset"].append(other)
    text = yaml.safe_dump(data)
    with pytest.raises(DatasetError, match="choose one with dataset_key"):
        load_dataset_text(text)
    assert load_dataset_text(text, key="postgres_example").key == "postgres_example"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dataset: [\n", "test.yml:"),
        ("- just\n- a list\n", "expected a fideslang dataset"),
        ("fides_key: x\n", "collections"),
    ],
)
def test_unreadable_files(text: str, message: str) -> None:
    with pytest.raises(DatasetError, match=re.escape(message)):
        load_dataset_text(text, source="test.yml")


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    from personvern.connectors.datasets import load_dataset

    with pytest.raises(DatasetError, match="cannot read the dataset file"):
        load_dataset(tmp_path / "nope.yml")
