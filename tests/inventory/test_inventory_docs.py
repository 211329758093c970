"""``docs/inventory.md`` documents every field of the schema, and its examples are valid."""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from personvern.inventory.loader import load_inventory_text
from personvern.inventory.schema import Inventory

DOC = Path(__file__).resolve().parents[2] / "docs" / "inventory.md"


def _models(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    seen.add(model)
    for info in model.model_fields.values():
        pending: list[Any] = [info.annotation]
        while pending:
            tp = pending.pop()
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                if tp not in seen:
                    _models(tp, seen)
            elif get_origin(tp) is not None or isinstance(tp, types.UnionType | type(Union)):
                pending.extend(get_args(tp))
    return seen


def test_every_field_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [
        f"{model.__name__}.{name}"
        for model in sorted(_models(Inventory, set()), key=lambda m: m.__name__)
        for name in model.model_fields
        if f"`{name}`" not in text
    ]

    assert missing == []


def test_the_examples_make_a_valid_inventory() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    # The blocks that give a whole section (they start with a top-level field, and are not
    # the outline of the file with "…" in it) make an inventory together.
    sections = [b for b in blocks if b.split(":", 1)[0] in Inventory.model_fields and "…" not in b]

    result = load_inventory_text("".join(sections), "docs/inventory.md")

    assert [p.format() for p in result.problems] == []
    assert result.inventory is not None
    assert {"controller", "systems", "activities", "cookies", "retention"} <= {
        s.split(":", 1)[0] for s in sections
    }
