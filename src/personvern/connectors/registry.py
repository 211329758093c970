"""The connector registry: a declared connector name → its class.

Built by the app factory (and the CLI), never at import time. personvern's own connectors
register exactly as a third-party one would: through the ``personvern.connectors``
entry-point group in their package's metadata (see ``pyproject.toml``). A name that is not
registered errors with the list of valid ones.

A plugin that fails to load (a third-party package with a missing dependency, a typo in its
entry point) must not take personvern down with it: the registry records it in
:attr:`ConnectorRegistry.broken`, logs a warning, and only a system that uses that connector
fails, with a message saying why (:meth:`ConnectorRegistry.get`).
"""

from __future__ import annotations

import difflib
import logging
import os
import re
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from personvern.connectors.base import Connector

ENTRY_POINT_GROUP = "personvern.connectors"
log = logging.getLogger(__name__)
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def _is_env_setting(key: str, value: Any) -> bool:
    return key.endswith("_env") and isinstance(value, str) and bool(_ENV_NAME.match(value))


def required_variables(settings: Mapping[str, Any]) -> list[str]:
    """The environment variables a connector's settings need: those with no written default."""
    return [
        value
        for key, value in settings.items()
        if _is_env_setting(key, value) and key.removesuffix("_env") not in settings
    ]


def _names_file(setting: str) -> bool:
    return setting == "dataset" or setting.endswith(("_path", "_file"))


def missing_environment(
    settings: Mapping[str, Any], environ: Mapping[str, str]
) -> list[tuple[str, str]]:
    """The ``(setting, variable)`` pairs whose ``*_env`` variable is not set in ``environ``
    and has no written default beside it (see :meth:`ConnectorRegistry.build`)."""
    return [
        (key, value)
        for key, value in settings.items()
        if _is_env_setting(key, value)
        and value not in environ
        and key.removesuffix("_env") not in settings
    ]


class UnknownConnector(LookupError):
    pass


class ConnectorSettingsError(ValueError):
    pass


class ConnectorRegistry:
    def __init__(self, classes: Iterable[type[Connector]] = ()) -> None:
        self._classes: dict[str, type[Connector]] = {}
        # Entry points that are installed but could not be loaded: name → why.
        self.broken: dict[str, str] = {}
        for cls in classes:
            self.register(cls)

    @classmethod
    def from_entry_points(cls) -> ConnectorRegistry:
        """Every connector installed in this environment, ours and third parties'.

        An entry point that fails to load is recorded in :attr:`broken` and logged, not
        raised: one broken plugin must not stop the app, the CLI or the jobs.
        """
        registry = cls()
        for point in entry_points(group=ENTRY_POINT_GROUP):
            try:
                loaded = point.load()
            except Exception as exc:  # a plugin's import may raise anything
                registry._broken(point.name, point.value, f"{type(exc).__name__}: {exc}")
                continue
            if not (isinstance(loaded, type) and issubclass(loaded, Connector)):
                registry._broken(point.name, point.value, "it is not a Connector subclass")
                continue
            registry.register(loaded)
        return registry

    def _broken(self, name: str, target: str, why: str) -> None:
        self.broken[name] = why
        log.warning(
            "the connector entry point %r (%s) failed to load: %s; systems using it will "
            "fail until the plugin is fixed or uninstalled",
            name,
            target,
            why,
        )

    def register(self, cls: type[Connector]) -> None:
        if cls.name in self._classes and self._classes[cls.name] is not cls:
            raise ValueError(f"two connectors are named {cls.name!r}")
        self._classes[cls.name] = cls

    def names(self) -> list[str]:
        return sorted(self._classes)

    def get(self, name: str) -> type[Connector]:
        try:
            return self._classes[name]
        except KeyError:
            if name in self.broken:
                raise UnknownConnector(
                    f"the connector {name!r} is installed but failed to load "
                    f"({self.broken[name]}); install what it is missing or reinstall the "
                    "package that provides it, then restart personvern"
                ) from None
            close = difflib.get_close_matches(name, self.names(), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UnknownConnector(
                f"no connector is named {name!r}; the installed ones are "
                f"{', '.join(self.names()) or '(none)'}.{hint}"
            ) from None

    def build(
        self,
        name: str,
        settings: Mapping[str, Any],
        environ: Mapping[str, str] | None = None,
        *,
        base_dir: Path | None = None,
    ) -> Connector:
        """A connector from its inventory settings, with ``*_env`` settings resolved.

        ``api_key_env: MAILCHIMP_API_KEY`` becomes ``api_key`` with the variable's value;
        a variable that is not set is an error naming it — unless the setting is also given
        as it is (``base_url: https://api.klarna.com`` beside ``base_url_env:
        KLARNA_API_URL``): then the variable, where set, overrides the written value (the
        demo points vendors at its sandboxes this way), and the written value is the
        default. A setting that names a file (``dataset``, ``*_path``, ``*_file``) and is
        relative is taken relative to ``base_dir``, the inventory's folder, so an inventory
        and its datasets move together.
        """
        cls = self.get(name)
        env = os.environ if environ is None else environ
        resolved: dict[str, Any] = {}
        for key, value in settings.items():
            if _is_env_setting(key, value):
                continue
            if base_dir is not None and _names_file(key) and isinstance(value, str):
                path = Path(value)
                resolved[key] = str(path if path.is_absolute() else base_dir / path)
            else:
                resolved[key] = value
        for key, value in settings.items():
            if not _is_env_setting(key, value):
                continue
            target = key.removesuffix("_env")
            if value in env:
                resolved[target] = env[value]
            elif target not in settings:
                raise ConnectorSettingsError(
                    f"the {name} connector needs the environment variable {value} "
                    f"(setting {key}); set it where personvern runs"
                )
        try:
            model = cls.Settings.model_validate(resolved)
        except ValidationError as exc:
            raise ConnectorSettingsError(
                f"the settings of the {name} connector are invalid: {exc}"
            ) from exc
        return cls(model)
