"""The MITRE ATLAS technique catalog (``config/atlas.toml``), validated when loaded.

>>> catalog = load_atlas()
>>> catalog.get("AML.T0040").name
'AI Model Inference API Access'
>>> catalog.get("AML.T0040").url
'https://atlas.mitre.org/techniques/AML.T0040'
>>> catalog.techniques_for(["linkage"])
['AML.T0008.005']
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from distillwatch.errors import ConfigError

ATLAS_URL = "https://atlas.mitre.org/techniques/"
_ID_RE = re.compile(r"AML\.T\d{4}(\.\d{3})?")


@dataclass(frozen=True)
class AtlasTechnique:
    """One ATLAS technique: its id, name, our description and supporting signal ids."""

    id: str
    name: str
    description: str = ""
    signals: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        """The technique's page on atlas.mitre.org."""
        return ATLAS_URL + self.id


@dataclass(frozen=True)
class AtlasCatalog:
    """The techniques of one catalog file, in file order."""

    techniques: tuple[AtlasTechnique, ...]
    #: when the catalog was last edited (created/modified of shared attack-patterns)
    updated: datetime
    source: str = "atlas.toml"

    def get(self, technique_id: str) -> AtlasTechnique | None:
        """The technique with this id, or None if the catalog does not list it."""
        for tech in self.techniques:
            if tech.id == technique_id:
                return tech
        return None

    def techniques_for(self, signal_ids: Iterable[str]) -> list[str]:
        """Ids of the techniques supported by any of *signal_ids*, in catalog order."""
        wanted = set(signal_ids)
        return [t.id for t in self.techniques if wanted.intersection(t.signals)]


def _fail(source: str, problem: str) -> ConfigError:
    return ConfigError(f"{source}: {problem}; fix the file (see the comments at its top)")


def _str(entry: dict[str, Any], key: str, source: str, where: str, *, required: bool) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise _fail(source, f"{where}: '{key}' must be a non-empty string")
    return value.strip()


def _parse_technique(entry: Any, source: str, index: int) -> AtlasTechnique:
    where = f"technique #{index + 1}"
    if not isinstance(entry, dict):
        raise _fail(source, f"{where} must be a table ([[technique]])")
    unknown = set(entry) - {"id", "name", "description", "signals"}
    if unknown:
        raise _fail(source, f"{where}: unknown keys {sorted(unknown)}")
    tech_id = _str(entry, "id", source, where, required=True)
    if not _ID_RE.fullmatch(tech_id):
        raise _fail(source, f"{where}: id {tech_id!r} is not an ATLAS id like AML.T0024.002")
    signals = entry.get("signals", [])
    if not isinstance(signals, list) or not all(isinstance(s, str) and s for s in signals):
        raise _fail(source, f"{where} ({tech_id}): 'signals' must be a list of signal ids")
    return AtlasTechnique(
        id=tech_id,
        name=_str(entry, "name", source, f"{where} ({tech_id})", required=True),
        description=_str(entry, "description", source, f"{where} ({tech_id})", required=False),
        signals=tuple(signals),
    )


def parse_atlas(text: str, source: str = "atlas.toml") -> AtlasCatalog:
    """Parse and validate catalog *text*; :class:`ConfigError` says what is wrong.

    >>> parse_atlas('updated = 2026-01-01T00:00:00Z\\n[[technique]]\\nid = "T1"\\nname = "x"')
    Traceback (most recent call last):
    ...
    distillwatch.errors.ConfigError: atlas.toml: technique #1: id 'T1' is not an ATLAS id \
like AML.T0024.002; fix the file (see the comments at its top)
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(source, f"not valid TOML ({exc})") from exc
    updated = data.get("updated")
    if not isinstance(updated, datetime) or updated.tzinfo is None:
        raise _fail(
            source, "'updated' must be a TOML date-time with an offset, e.g. 2026-01-01T00:00:00Z"
        )
    entries = data.get("technique")
    if not isinstance(entries, list) or not entries:
        raise _fail(source, "it must list at least one [[technique]]")
    techniques = tuple(_parse_technique(e, source, i) for i, e in enumerate(entries))
    ids = [t.id for t in techniques]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise _fail(source, f"technique ids listed twice: {duplicates}")
    return AtlasCatalog(techniques=techniques, updated=updated, source=source)


def load_atlas(path: Path | None = None) -> AtlasCatalog:
    """Load the catalog from *path*, or the one shipped in ``distillwatch/config/atlas.toml``."""
    try:
        if path is None:
            resource = resources.files("distillwatch").joinpath("config", "atlas.toml")
            return parse_atlas(resource.read_text(encoding="utf-8"), "config/atlas.toml")
        return parse_atlas(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        where = "the packaged config/atlas.toml" if path is None else str(path)
        raise ConfigError(
            f"cannot read {where}: {exc.strerror or exc}; reinstall distillwatch or pass a "
            "readable catalog file"
        ) from exc
