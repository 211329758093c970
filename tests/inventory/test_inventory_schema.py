"""The schema's own behaviour: round trips, numbers written as text, organisation numbers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from personvern.inventory.loader import load_inventory, load_inventory_text
from personvern.inventory.schema import Address, Inventory, SupervisoryAuthority


def load(text: str) -> Inventory:
    result = load_inventory_text(text)
    assert result.problems == []
    assert result.inventory is not None
    return result.inventory


def test_round_trip(valid_yaml: str) -> None:
    inventory = load(valid_yaml)

    data = inventory.to_dict()

    assert Inventory.from_dict(data) == inventory
    assert data["cookies"][1]["lifetime"] == "P2Y"
    assert data["cookies"][0]["lifetime"] == "session"
    assert "dpo" not in data["controller"]  # an unset optional value is left out


def test_round_trip_keeps_a_none_that_replaces_a_default(broken: Callable[..., str]) -> None:
    text = broken(
        "  contacts:\n",
        "  supervisory_authority:\n"
        "    name: Integritetsskyddsmyndigheten\n"
        "    url: https://www.imy.se\n"
        "    address: null\n"
        "  contacts:\n",
    )
    inventory = load(text)

    assert inventory.controller.supervisory_authority.address is None
    assert Inventory.from_dict(inventory.to_dict()) == inventory


def test_from_dict_is_typed() -> None:
    authority = SupervisoryAuthority.from_dict({})

    assert authority.name == "Datatilsynet"


def test_numbers_written_without_quotes_are_text() -> None:
    address = Address.from_dict({"street": "Storgata 1", "postal_code": 5003, "city": "Bergen"})

    assert address.postal_code == "5003"


@pytest.mark.parametrize("number", ["912345688", "912 345 688", 912345688])
def test_valid_org_numbers(broken: Callable[..., str], number: object) -> None:
    inventory = load(broken("912 345 688", str(number)))

    assert inventory.controller.org_number == "912345688"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("912345687", "fails the MOD11 check"),
        ("91234568", "an organisation number has nine digits"),
        ("9123456880", "an organisation number has nine digits"),
        ("911111119", "fails the MOD11 check"),  # the check digit would be 10
    ],
)
def test_invalid_org_numbers(broken: Callable[..., str], number: str, message: str) -> None:
    [problem] = load_inventory_text(broken("912 345 688", number)).problems

    assert message in problem.message
    assert problem.hint


def test_models_are_frozen(valid_yaml: str) -> None:
    inventory = load(valid_yaml)

    with pytest.raises(ValidationError):
        inventory.controller.name = "Another"  # type: ignore[misc]  # what this test checks


ASSEMBLE = Path(__file__).resolve().parents[2] / "examples" / "assemble" / "privacy.yaml"


@pytest.mark.skipif(not ASSEMBLE.exists(), reason="the Assemble example is not there yet")
def test_the_assemble_example_is_valid_and_round_trips() -> None:
    result = load_inventory(ASSEMBLE)

    assert [p.format() for p in result.problems] == []
    assert result.inventory is not None
    assert Inventory.from_dict(result.inventory.to_dict()) == result.inventory
