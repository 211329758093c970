"""The connector registry with real entry points: a broken plugin must not break personvern.

Each test installs a tiny distribution of its own in a temporary folder — a ``*.dist-info``
with ``entry_points.txt`` beside the plugin's module — and puts the folder on ``sys.path``,
so :func:`importlib.metadata.entry_points` finds it exactly as it finds a pip-installed
plugin. Nothing is mocked.
"""

from __future__ import annotations

import logging
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from personvern.connectors.registry import (
    ENTRY_POINT_GROUP,
    ConnectorRegistry,
    UnknownConnector,
)

GOOD_PLUGIN = """
from typing import ClassVar

from pydantic import BaseModel

from personvern.connectors.base import Capability, Connector


class NothingSettings(BaseModel):
    pass


class {cls}(Connector):
    name: ClassVar[str] = "{name}"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    Settings: ClassVar[type[BaseModel]] = NothingSettings

    async def check(self) -> None:
        return None
"""


class Plugin:
    """A distribution written to a folder: modules, and entry points in our group."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tag = uuid.uuid4().hex[:8]  # module and entry-point names unique to the test
        self.modules: list[str] = []
        self.points: dict[str, str] = {}

    def module(self, source: str) -> str:
        name = f"pv_plugin_{self.tag}_{len(self.modules)}"
        (self.root / f"{name}.py").write_text(source)
        self.modules.append(name)
        return name

    def entry_point(self, name: str, target: str) -> str:
        point = f"{name}_{self.tag}"
        self.points[point] = target
        return point

    def install(self) -> None:
        info = self.root / f"pv_plugin_{self.tag}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: pv-plugin-{self.tag}\nVersion: 0.1\n"
        )
        lines = [f"[{ENTRY_POINT_GROUP}]"] + [f"{k} = {v}" for k, v in self.points.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")


@pytest.fixture
def plugin(tmp_path: Path) -> Iterator[Plugin]:
    made = Plugin(tmp_path)
    yield made
    for name in made.modules:
        sys.modules.pop(name, None)


def _installed(plugin: Plugin, monkeypatch: pytest.MonkeyPatch) -> ConnectorRegistry:
    plugin.install()
    monkeypatch.syspath_prepend(str(plugin.root))  # also invalidates the import caches
    return ConnectorRegistry.from_entry_points()


def test_a_plugin_with_a_missing_dependency_is_recorded_not_raised(
    plugin: Plugin, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    missing = f"pv_missing_dependency_{plugin.tag}"
    module = plugin.module(f"import {missing}\n")
    point = plugin.entry_point("crm", f"{module}:CrmConnector")
    with caplog.at_level(logging.WARNING, logger="personvern.connectors.registry"):
        registry = _installed(plugin, monkeypatch)

    # Our own connectors are all there: one broken plugin does not stop the others.
    assert {"manual", "sql", "woocommerce", "mailchimp"} <= set(registry.names())
    assert point not in registry.names()
    assert registry.broken[point].startswith("ModuleNotFoundError: ")
    assert missing in registry.broken[point]

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert point in warnings[0].getMessage()
    assert "ModuleNotFoundError" in warnings[0].getMessage()

    with pytest.raises(UnknownConnector) as raised:
        registry.get(point)
    message = str(raised.value)
    assert "installed but failed to load" in message
    assert missing in message  # the missing module, named


@pytest.mark.parametrize(
    ("source", "target", "why"),
    [
        # Not a connector at all: the entry point names a function.
        ("def make():\n    return None\n", "make", "it is not a Connector subclass"),
        # The module imports, but the name in the entry point is not in it.
        ("X = 1\n", "CrmConnector", "AttributeError"),
        # The plugin's own code fails at import time.
        ("raise RuntimeError('no licence key')\n", "CrmConnector", "RuntimeError: no licence"),
    ],
)
def test_other_broken_entry_points_are_recorded_with_why(
    plugin: Plugin, monkeypatch: pytest.MonkeyPatch, source: str, target: str, why: str
) -> None:
    module = plugin.module(source)
    point = plugin.entry_point("crm", f"{module}:{target}")
    registry = _installed(plugin, monkeypatch)
    assert why in registry.broken[point]
    with pytest.raises(UnknownConnector, match="installed but failed to load"):
        registry.get(point)


def test_a_working_third_party_plugin_registers_beside_a_broken_one(
    plugin: Plugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"crm_{plugin.tag}"
    good = plugin.module(GOOD_PLUGIN.format(cls="CrmConnector", name=name))
    broken = plugin.module(f"import pv_missing_{plugin.tag}\n")
    plugin.points[name] = f"{good}:CrmConnector"
    bad_point = plugin.entry_point("other", f"{broken}:OtherConnector")
    registry = _installed(plugin, monkeypatch)

    assert registry.get(name).name == name
    assert registry.build(name, {}).name == name
    assert list(registry.broken) == [bad_point]


def test_an_unknown_name_still_lists_the_installed_ones() -> None:
    registry = ConnectorRegistry.from_entry_points()
    assert registry.broken == {}
    with pytest.raises(UnknownConnector, match=r"Did you mean 'woocommerce'\?"):
        registry.get("woocomerce")


def test_a_written_setting_is_the_default_its_variable_overrides() -> None:
    """``base_url: …`` beside ``base_url_env: …``: the variable wins where it is set (the
    demo's sandboxes), the written value otherwise (production); a variable with no written
    default stays required."""
    from personvern.connectors.klarna import KlarnaConnector
    from personvern.connectors.registry import ConnectorRegistry, ConnectorSettingsError

    registry = ConnectorRegistry([KlarnaConnector])
    settings = {
        "base_url": "https://api.klarna.com",
        "base_url_env": "KLARNA_API_URL",
        "username_env": "KLARNA_API_USERNAME",
        "password_env": "KLARNA_API_PASSWORD",
        "woocommerce_url": "https://shop.example",
        "woocommerce_consumer_key_env": "WC_KEY",
        "woocommerce_consumer_secret_env": "WC_SECRET",
    }
    secrets = {
        "KLARNA_API_USERNAME": "PK123",
        "KLARNA_API_PASSWORD": "pw",
        "WC_KEY": "ck_1",
        "WC_SECRET": "cs_1",
    }
    production = registry.build("klarna", settings, secrets)
    assert production.settings.model_dump()["base_url"] == "https://api.klarna.com"
    demo = registry.build("klarna", settings, {**secrets, "KLARNA_API_URL": "http://127.0.0.1:9/k"})
    assert demo.settings.model_dump()["base_url"] == "http://127.0.0.1:9/k"
    with pytest.raises(ConnectorSettingsError, match="KLARNA_API_PASSWORD"):
        registry.build(
            "klarna", settings, {k: v for k, v in secrets.items() if "PASSWORD" not in k}
        )
