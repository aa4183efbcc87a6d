"""What may be published: every object of every write is checked here before it is stored.

An object is refused (a failure in the add-objects status, with the reason) when:

- it references or is TLP:RED (``tlp.MARKING_IDS["red"]``) anywhere: never stored;
- it holds a property named like prompt text (``prompt``, ``messages``, ... anywhere,
  nested too): "prompt text may not be shared";
- its type, a property, a key of a nested list item, or an extension is not on the
  allow-list (``allowlist.toml``): the property is named;
- a free-text property is longer than its limit, or any string longer than ``max_string``;
- it is an SDO/SRO whose ``created_by_ref`` is not the caller's identity, or an identity
  other than the caller's own; a marking-definition other than the fixed TLP 2.0 ones; an
  extension-definition other than distillwatch's three;
- it is not valid STIX 2.1 for ``stix2.parse`` (``allow_custom`` only for our own SCOs,
  whose properties are checked here instead), or its STIX pattern fails
  ``stix2patterns`` (the validator's message is the reason).

``stix2.parse`` runs ``stix2patterns.validator.run_validator(pattern, pattern_version)`` for
every ``pattern_type: stix`` indicator; the hub requires ``pattern_version`` to be absent or
``2.1``, so a parsed indicator's pattern has passed the 2.1 validator, and the validator
is run again only to word the reason of a refusal.

>>> rails = Guardrails(load_allowlist())
>>> me = "identity--6b7a9f1c-3b57-4d3e-9a3e-2a3b3f6c9a11"
>>> obj = {"type": "campaign", "spec_version": "2.1", "created_by_ref": me,
...        "id": "campaign--0b6ab4f2-1f2b-4e43-9c44-0c0d7e6f52a1",
...        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
...        "name": "Teal Harvest", "prompt": "Think step by step"}
>>> rails.check(obj, frozenset({me})).reason
"prompt text may not be shared (property 'prompt')"
"""

from __future__ import annotations

import logging
import os
import re
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

from distillwatch.errors import ConfigError
from distillwatch.hub.storage import NewObject, datetime_us, parse_timestamp
from distillwatch.intel import vocab
from distillwatch.outputs import tlp

KINDS = ("sdo", "sro", "smo", "sco")
FROM_VOCAB = "from-vocab"
#: extension name (as allowlist.toml spells it) -> extension-definition id
EXTENSION_NAMES: dict[str, str] = {**vocab.EXTENSIONS, "tlp-2.0": tlp.EXTENSION_ID}
FIXED_SETS = ("tlp-2.0", "distillwatch")
RED = tlp.MARKING_IDS["red"]
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_ID_RE = re.compile(r"([a-z0-9][a-z0-9-]*[a-z0-9])--(" + _UUID + ")")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MAX_REASON = 300
log = logging.getLogger("distillwatch.hub")


# -- the allow-list ------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeRule:
    """What one type may carry: its kind, all allowed properties, allowed extension ids."""

    kind: str
    properties: frozenset[str]
    extensions: frozenset[str] = frozenset()
    custom: bool = False
    fixed: str = ""


@dataclass(frozen=True)
class AllowList:
    """The validated content of ``allowlist.toml``."""

    types: Mapping[str, TypeRule]
    free_text: Mapping[str, int]
    nested: Mapping[str, frozenset[str]]
    #: extension-definition id -> keys allowed inside the extension
    extension_keys: Mapping[str, frozenset[str]]
    prompt_properties: frozenset[str]
    max_string: int


def _fail(source: str, what: str) -> ConfigError:
    return ConfigError(f"{source}: {what}; fix the allow-list file (see the packaged one)")


def _str_list(source: str, where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(source, f"{where} must be a list of non-empty strings")
    return list(value)


def _pos_int(source: str, where: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise _fail(source, f"{where} must be a positive integer, not {value!r}")
    return value


def _parse_allowlist(raw: dict[str, Any], source: str, cap: int | None) -> AllowList:
    known = {"max_string", "prompt_properties", "free_text", "common", "nested", "extensions"}
    unknown = set(raw) - known - {"types"}
    if unknown:
        raise _fail(source, f"unknown top-level keys {sorted(unknown)}")
    for key in (*known, "types"):
        if key not in raw:
            raise _fail(source, f"missing {key!r}")
    max_string = _pos_int(source, "max_string", raw["max_string"])
    prompts = frozenset(_str_list(source, "prompt_properties", raw["prompt_properties"]))
    free_text = {
        k: _pos_int(source, f"free_text.{k}", v) for k, v in dict(raw["free_text"]).items()
    }
    if cap is not None:
        free_text = {k: min(v, cap) for k, v in free_text.items()}
    common = raw["common"]
    if not isinstance(common, dict) or set(common) != set(KINDS):
        raise _fail(source, f"[common] must list properties for exactly {list(KINDS)}")
    common_sets = {k: frozenset(_str_list(source, f"common.{k}", v)) for k, v in common.items()}
    nested = {
        k: frozenset(_str_list(source, f"nested.{k}", v)) for k, v in dict(raw["nested"]).items()
    }
    extension_keys: dict[str, frozenset[str]] = {}
    for name, keys in dict(raw["extensions"]).items():
        if name not in EXTENSION_NAMES:
            raise _fail(source, f"unknown extension {name!r}; known: {sorted(EXTENSION_NAMES)}")
        if keys == FROM_VOCAB:
            if name != "sighting-feedback":
                raise _fail(source, f"extension {name!r} has no keys in intel.vocab")
            extension_keys[EXTENSION_NAMES[name]] = frozenset(vocab.FEEDBACK_PROPERTIES)
        else:
            extension_keys[EXTENSION_NAMES[name]] = frozenset(
                _str_list(source, f"extensions.{name}", keys)
            )
    types: dict[str, TypeRule] = {}
    for name, spec in dict(raw["types"]).items():
        types[name] = _parse_type(source, name, spec, common_sets, extension_keys)
    if not types:
        raise _fail(source, "[types] is empty; nothing could be published")
    return AllowList(types, free_text, nested, extension_keys, prompts, max_string)


def _parse_type(
    source: str,
    name: str,
    spec: Any,
    common: dict[str, frozenset[str]],
    extension_keys: dict[str, frozenset[str]],
) -> TypeRule:
    where = f"types.{name}"
    if not isinstance(spec, dict):
        raise _fail(source, f"{where} must be a table")
    unknown = set(spec) - {"kind", "properties", "extensions", "custom", "fixed"}
    if unknown:
        raise _fail(source, f"{where} has unknown keys {sorted(unknown)}")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise _fail(source, f"{where}.kind must be one of {list(KINDS)}, not {kind!r}")
    props = spec.get("properties")
    if props == FROM_VOCAB:
        if name not in vocab.SCO_PROPERTIES:
            raise _fail(source, f"{where}: only {sorted(vocab.SCO_PROPERTIES)} are in intel.vocab")
        own = set(vocab.SCO_PROPERTIES[name])
    else:
        own = set(_str_list(source, f"{where}.properties", props))
    ext_ids = set()
    for ext in _str_list(source, f"{where}.extensions", spec.get("extensions", [])):
        if ext not in EXTENSION_NAMES or EXTENSION_NAMES[ext] not in extension_keys:
            raise _fail(source, f"{where} names extension {ext!r}, not declared in [extensions]")
        ext_ids.add(EXTENSION_NAMES[ext])
    custom = spec.get("custom", False)
    if not isinstance(custom, bool) or (custom and name not in vocab.SCO_PROPERTIES):
        raise _fail(source, f"{where}.custom may be true only for {sorted(vocab.SCO_PROPERTIES)}")
    fixed = spec.get("fixed", "")
    if fixed not in ("", *FIXED_SETS):
        raise _fail(source, f"{where}.fixed must be one of {list(FIXED_SETS)}")
    if fixed == "tlp-2.0" and name != "marking-definition":
        raise _fail(source, f"{where}: fixed 'tlp-2.0' applies to marking-definition only")
    if fixed == "distillwatch" and name != "extension-definition":
        raise _fail(source, f"{where}: fixed 'distillwatch' applies to extension-definition only")
    if kind == "smo" and not fixed:
        raise _fail(source, f"{where}: meta objects must be restricted with `fixed`")
    return TypeRule(kind, frozenset(own | common[kind]), frozenset(ext_ids), custom, fixed)


def load_allowlist(path: Path | None = None, *, free_text_cap: int | None = None) -> AllowList:
    """Read and validate the allow-list (the packaged ``allowlist.toml`` by default).

    *free_text_cap* lowers every free-text limit to at most that many characters.

    >>> load_allowlist().free_text["description"]
    500
    >>> load_allowlist(free_text_cap=100).free_text["description"]
    100
    """
    if path is None:
        source = "distillwatch/hub/allowlist.toml"
        text = resources.files("distillwatch.hub").joinpath("allowlist.toml").read_text("utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read allow-list {path}: {exc.strerror}") from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(source, f"not valid TOML ({exc})") from exc
    return _parse_allowlist(raw, source, free_text_cap)


# -- checking objects ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """An object refused by the guardrails; ``reason`` goes into the status failure."""

    id: str
    version: str | None
    reason: str


@lru_cache(maxsize=1)
def _fixed_markings() -> dict[str, dict[str, Any]]:
    return {
        tlp.MARKING_IDS[level]: tlp.marking_object(level)
        for level in tlp.MARKING_IDS
        if level != "red"
    }


def _same_marking(obj: dict[str, Any], expected: dict[str, Any]) -> bool:
    if set(obj) != set(expected):
        return False
    for key, value in expected.items():
        if key == "created":
            got = obj[key]
            if not isinstance(got, str) or parse_timestamp_or_none(got) != parse_timestamp(value):
                return False
        elif obj[key] != value:
            return False
    return True


def parse_timestamp_or_none(text: str) -> int | None:
    """:func:`~distillwatch.hub.storage.parse_timestamp`, or None when it is not one."""
    try:
        return parse_timestamp(text)
    except ValueError:
        return None


class Guardrails:
    """Checks objects against an :class:`AllowList`; see the module docstring."""

    def __init__(self, allowlist: AllowList) -> None:
        self.allowlist = allowlist

    def check(
        self, obj: Any, identities: frozenset[str], *, index: int = 0
    ) -> NewObject | Rejection:
        """A :class:`NewObject` ready to store, or the :class:`Rejection` with its reason.

        *identities* are the caller's identity ids; *index* names an object without an id.
        """
        if not isinstance(obj, dict):
            return Rejection(f"objects[{index}]", None, "not a JSON object")
        oid, otype = obj.get("id"), obj.get("type")
        label = oid if isinstance(oid, str) and oid else f"objects[{index}]"
        version = _version_text(obj)
        reason = self._reason(obj, oid, otype, identities)
        if reason is not None:
            return Rejection(label[:200], version, reason[:_MAX_REASON])
        assert isinstance(oid, str) and isinstance(otype, str)
        rule = self.allowlist.types[otype]
        parsed, reason = _parse_stix(obj, otype, rule.custom)
        if reason is not None:
            return Rejection(oid, version, reason[:_MAX_REASON])
        version_us: int | None = None
        if rule.kind == "sco":
            version = None
        else:
            stamp = parsed.get("modified") or parsed.get("created")
            version_us = datetime_us(stamp)
        created_by = obj.get("created_by_ref")
        return NewObject(
            id=oid,
            type=otype,
            spec_version="2.1",
            version=version,
            version_us=version_us,
            created_by=created_by if isinstance(created_by, str) else None,
            body=orjson.dumps(obj).decode("utf-8"),
        )

    def _reason(
        self, obj: dict[str, Any], oid: Any, otype: Any, identities: frozenset[str]
    ) -> str | None:
        allow = self.allowlist
        if not isinstance(otype, str) or not isinstance(oid, str):
            return "an object needs string 'type' and 'id' properties"
        m = _ID_RE.fullmatch(oid)
        if m is None or m.group(1) != otype:
            return f"id {oid!r} must be '{otype}--<UUID>'"
        problem = self._scan(obj)
        if problem is not None:
            return problem
        rule = allow.types.get(otype)
        if rule is None:
            return f"type {otype!r} may not be published on this hub"
        spec = obj.get("spec_version")
        if spec != "2.1" and not (rule.kind == "sco" and spec is None):
            return f"spec_version must be '2.1', not {spec!r}"
        extra = sorted(set(obj) - rule.properties)
        if extra:
            names = ", ".join(repr(p) for p in extra)
            return f"property {names} is not on the hub's allow-list for {otype}"
        reason = self._nested(obj, rule)
        if reason is not None:
            return reason
        if rule.kind in ("sdo", "sro"):
            creator = obj.get("created_by_ref")
            if creator not in identities:
                mine = ", ".join(sorted(identities)) or "none"
                return f"created_by_ref must be your own identity ({mine}), not {creator!r}"
            if otype == "identity" and oid not in identities:
                return f"an identity object may only be your own ({', '.join(sorted(identities))})"
        if rule.fixed == "tlp-2.0":
            expected = _fixed_markings().get(oid)
            if expected is None or not _same_marking(obj, expected):
                return "only the fixed TLP 2.0 marking definitions (not TLP:RED) may be published"
        if rule.fixed == "distillwatch":
            if oid not in vocab.EXTENSIONS.values():
                return "only distillwatch's own extension definitions may be published"
            if obj.get("created_by_ref") != vocab.PROJECT_IDENTITY:
                return f"created_by_ref of {oid} must be {vocab.PROJECT_IDENTITY}"
        if rule.custom:
            return _custom_sco(obj, otype)
        if otype == "indicator" and obj.get("pattern_type") == "stix":
            pv = obj.get("pattern_version")
            if pv not in (None, "2.1"):
                return f"pattern_version must be '2.1' for a STIX pattern, not {pv!r}"
        return None

    def _scan(self, obj: dict[str, Any]) -> str | None:
        """TLP:RED, prompt properties and string lengths, anywhere in *obj*."""
        allow = self.allowlist
        prompts, limits, max_string = allow.prompt_properties, allow.free_text, allow.max_string
        stix_pattern = obj.get("pattern_type") == "stix"
        red: str | None = None
        prompt: str | None = None
        long: str | None = None
        stack: list[tuple[Any, str, int]] = [(obj, "", 0)]
        while stack:
            value, path, depth = stack.pop()
            if isinstance(value, dict):
                for key, item in value.items():
                    where = f"{path}.{key}" if path else str(key)
                    if key in prompts and prompt is None:
                        prompt = where
                    limit = limits.get(key)
                    if (
                        limit is not None
                        and long is None
                        and not (key == "pattern" and depth == 0 and stix_pattern)
                    ):
                        long = _too_long(item, where, limit)
                    stack.append((item, where, depth + 1))
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    stack.append((item, f"{path}[{i}]", depth + 1))
            elif isinstance(value, str):
                if value == RED:
                    red = path
                elif len(value) > max_string and long is None:
                    long = f"{path} is longer than {max_string} characters"
        if red is not None:
            return f"TLP:RED content may not be shared through the hub ({red} references it)"
        if prompt is not None:
            return f"prompt text may not be shared (property {prompt!r})"
        return long

    def _nested(self, obj: dict[str, Any], rule: TypeRule) -> str | None:
        for key, allowed in self.allowlist.nested.items():
            items = obj.get(key)
            if items is None:
                continue
            if not isinstance(items, list):
                return f"{key} must be a list"
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    return f"{key}[{i}] must be an object"
                extra = sorted(set(item) - allowed)
                if extra:
                    return f"property '{key}[{i}].{extra[0]}' is not on the hub's allow-list"
        exts = obj.get("extensions")
        if exts is None:
            return None
        if not isinstance(exts, dict):
            return "extensions must be an object"
        for ext_id, body in exts.items():
            if ext_id not in rule.extensions:
                return f"extension 'extensions.{ext_id}' is not on the hub's allow-list"
            if not isinstance(body, dict):
                return f"extensions.{ext_id} must be an object"
            extra = sorted(set(body) - self.allowlist.extension_keys[ext_id])
            if extra:
                return f"property 'extensions.{ext_id}.{extra[0]}' is not on the hub's allow-list"
        return None


def _too_long(value: Any, where: str, limit: int) -> str | None:
    if isinstance(value, str) and len(value) > limit:
        return f"{where} is longer than {limit} characters ({len(value)})"
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, str) and len(item) > limit:
                return f"{where}[{i}] is longer than {limit} characters ({len(item)})"
    return None


def _version_text(obj: dict[str, Any]) -> str | None:
    for key in ("modified", "created"):
        value = obj.get(key)
        if isinstance(value, str):
            return value
    return None


def _custom_sco(obj: dict[str, Any], otype: str) -> str | None:
    """Typed checks of distillwatch's own SCOs (stix2 does not know them)."""
    ext_id = vocab.EXTENSIONS[otype]
    exts = obj.get("extensions")
    if not isinstance(exts, dict) or exts.get(ext_id) != {"extension_type": "new-sco"}:
        return f"a {otype} must declare extensions.{ext_id} = {{extension_type: new-sco}}"
    digest, key_id = obj.get("digest"), obj.get("key_id")
    if not isinstance(digest, str) or _HEX64.fullmatch(digest) is None:
        return "digest must be 64 lowercase hex characters (HMAC-SHA-256)"
    if not isinstance(key_id, str) or not key_id or len(key_id) > 100:
        return "key_id must be a non-empty string of at most 100 characters"
    if otype == "keyed-digest":
        if obj.get("kind") not in vocab.DIGEST_KINDS:
            return f"kind must be one of {list(vocab.DIGEST_KINDS)}"
        return None
    part = obj.get("part")
    if part is not None and part not in vocab.FINGERPRINT_PARTS:
        return f"part must be one of {list(vocab.FINGERPRINT_PARTS)}"
    sketch = obj.get("minhash")
    if sketch is not None and (
        not isinstance(sketch, list)
        or len(sketch) != vocab.MINHASH_PERM
        or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**32 for v in sketch
        )
    ):
        return f"minhash must be a list of {vocab.MINHASH_PERM} unsigned 32-bit integers"
    return None


def _parse_stix(obj: dict[str, Any], otype: str, custom: bool) -> tuple[Any, str | None]:
    """(parsed object, None) or (None, reason) from ``stix2.parse``."""
    import stix2  # lazy: ~0.3 s to import
    from stix2.exceptions import InvalidValueError

    try:
        return stix2.parse(obj, allow_custom=custom, version="2.1"), None
    except Exception as exc:  # stix2 raises STIXError, ValueError, TypeError, ...
        if (
            otype == "indicator"
            and obj.get("pattern_type") == "stix"
            and isinstance(exc, InvalidValueError)
            and exc.prop_name == "pattern"
        ):
            from stix2patterns.validator import run_validator

            errors = run_validator(str(obj.get("pattern")), "2.1")
            if errors:
                return None, "invalid STIX pattern: " + "; ".join(str(e) for e in errors)
        return None, f"not valid STIX 2.1: {exc}"


# -- checking big envelopes on every core --------------------------------------------------

_worker_rails: Guardrails | None = None


def _init_worker(allowlist: AllowList) -> None:
    global _worker_rails
    _worker_rails = Guardrails(allowlist)


def _warm_up() -> bool:
    """Import stix2 and fill the pattern parser's caches before the first real envelope."""
    from stix2patterns.validator import run_validator

    for pattern in (
        "[ipv4-addr:value = '198.51.100.0/24']",
        "[autonomous-system:number = 64496] OR [ipv6-addr:value = '2001:db8::/32']",
        "[llm-prompt-fingerprint:digest = '" + "0" * 64 + "']",
    ):
        run_validator(pattern, "2.1")
    return True


def _check_chunk(
    objects: list[Any], identities: frozenset[str], start: int
) -> list[NewObject | Rejection]:
    assert _worker_rails is not None, "worker started without _init_worker"
    return [_worker_rails.check(obj, identities, index=start + i) for i, obj in enumerate(objects)]


class GuardrailPool:
    """:meth:`Guardrails.check` over a whole envelope, in worker processes when it is big.

    ``stix2`` and the ANTLR pattern validator are pure Python and CPU-bound (about 0.4 ms
    per indicator), so one process checks ~2,500 objects/s at best; envelopes of at least
    *min_batch* objects are split over *workers* processes (spawned on first use, each
    loading the allow-list once). Smaller envelopes, or ``workers < 2``, are checked inline.
    Workers are *spawned*, so a script that starts a hub must guard its entry point with
    ``if __name__ == "__main__":`` (or set ``HubSettings.check_workers = 0``).

    >>> pool = GuardrailPool(load_allowlist(), workers=0)
    >>> [type(r).__name__ for r in pool.check_all([{"type": "note"}], frozenset())]
    ['Rejection']
    """

    def __init__(self, allowlist: AllowList, workers: int, min_batch: int = 128) -> None:
        self.allowlist = allowlist
        self.workers = workers
        self.min_batch = min_batch
        self._rails = Guardrails(allowlist)
        self._pool: Any = None
        self._lock = threading.Lock()

    def check_all(
        self, objects: list[Any], identities: frozenset[str]
    ) -> list[NewObject | Rejection]:
        """One result per object, in order."""
        if self.workers < 2 or len(objects) < self.min_batch:
            return [self._rails.check(o, identities, index=i) for i, o in enumerate(objects)]
        from concurrent.futures.process import BrokenProcessPool

        size = -(-len(objects) // self.workers)
        try:
            pool = self._ensure_pool()
            futures = [
                pool.submit(_check_chunk, objects[start : start + size], identities, start)
                for start in range(0, len(objects), size)
            ]
            return [result for future in futures for result in future.result()]
        except BrokenProcessPool:
            log.warning("guardrail worker processes failed; checking inline from now on")
            self.close()
            self.workers = 0
            return self.check_all(objects, identities)

    def start(self) -> None:
        """Spawn the workers now and let each import stix2 (no-op with fewer than 2)."""
        if self.workers >= 2:
            pool = self._ensure_pool()
            for _ in range(self.workers):
                pool.submit(_warm_up)

    def _ensure_pool(self) -> Any:
        with self._lock:
            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(self.allowlist,),
                )
            return self._pool

    def close(self) -> None:
        """Stop the worker processes (if any were started)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def default_workers() -> int:
    """Worker processes for big envelopes: one per CPU (up to 4), none on one CPU."""
    cpus = os.cpu_count() or 1
    return 0 if cpus < 2 else min(cpus, 4)
