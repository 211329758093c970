"""The connector registry: a declared connector name → its class.

Built by the app factory (and the CLI), never at import time. personvern's own connectors
register exactly as a third-party one would: through the ``personvern.connectors``
entry-point group in their package's metadata (see ``pyproject.toml``). A name that is not
registered errors with the list of valid ones.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from personvern.connectors.base import Connector

ENTRY_POINT_GROUP = "personvern.connectors"
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def _names_file(setting: str) -> bool:
    return setting == "dataset" or setting.endswith(("_path", "_file"))


class UnknownConnector(LookupError):
    pass


class ConnectorSettingsError(ValueError):
    pass


class ConnectorRegistry:
    def __init__(self, classes: Iterable[type[Connector]] = ()) -> None:
        self._classes: dict[str, type[Connector]] = {}
        for cls in classes:
            self.register(cls)

    @classmethod
    def from_entry_points(cls) -> ConnectorRegistry:
        """Every connector installed in this environment, ours and third parties'."""
        registry = cls()
        for point in entry_points(group=ENTRY_POINT_GROUP):
            loaded = point.load()
            if not (isinstance(loaded, type) and issubclass(loaded, Connector)):
                raise TypeError(f"entry point {point.name!r} is not a Connector subclass")
            registry.register(loaded)
        return registry

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
        a variable that is not set is an error naming it. A setting that names a file
        (``dataset``, ``*_path``, ``*_file``) and is relative is taken relative to
        ``base_dir``, the inventory's folder, so an inventory and its datasets move together.
        """
        cls = self.get(name)
        env = os.environ if environ is None else environ
        resolved: dict[str, Any] = {}
        for key, value in settings.items():
            if key.endswith("_env") and isinstance(value, str) and _ENV_NAME.match(value):
                if value not in env:
                    raise ConnectorSettingsError(
                        f"the {name} connector needs the environment variable {value} "
                        f"(setting {key}); set it where personvern runs"
                    )
                resolved[key.removesuffix("_env")] = env[value]
            elif base_dir is not None and _names_file(key) and isinstance(value, str):
                path = Path(value)
                resolved[key] = str(path if path.is_absolute() else base_dir / path)
            else:
                resolved[key] = value
        try:
            model = cls.Settings.model_validate(resolved)
        except ValidationError as exc:
            raise ConnectorSettingsError(
                f"the settings of the {name} connector are invalid: {exc}"
            ) from exc
        return cls(model)
