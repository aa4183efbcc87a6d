"""Shared pieces of the publish-side tests (``test_publish_*``), imported explicitly.

- a scan's ``campaigns.json`` holding values that must never be published;
- a tiny validator for the JSON Schema subset the ``schemas/`` files use (``jsonschema``
  is not a dependency);
- a real ``medallion`` 3.0.0 TAXII 2.1 server (memory backend) in a subprocess on
  127.0.0.1 with its own JSON config.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from distillwatch.intel.keys import GroupKey, Keyring

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
NOW = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
KEY = GroupKey(
    "isac-20261101-0a0b0c", b"\x42" * 32, NOW - timedelta(days=9), NOW + timedelta(days=80)
)
OTHER_KEY = GroupKey("isac-20261101-ffeedd", b"\x17" * 32, KEY.valid_from, KEY.valid_until)
RING = Keyring("isac", [KEY])

# What the fixture scan knows and must never leave the provider.
PAYMENT = "card_7f3a9c2e41d8"
RESIDENTIAL_IP = "81.2.3.4"
RESIDENTIAL_V6 = "2a02:8108:1234:5678::/64"
ACCOUNT_IDS = ["acct_secret_001", "acct_secret_002", "acct_secret_003"]
SHARED_TAIL = "number the steps then state the final answer after the line <q>"
HEAVY_HEAD = "you are a grading assistant score the answer below from <n> to <n>"
RARE_HEAD = "a wrapper only one account used a handful of times"
PROMPT = "Please prove that the square root of 2 is irrational, step by step."
CAMPAIGN_IDS = ["C-1a2b3c4d5e", "C-2b3c4d5e6f", "C-3c4d5e6f70", "C-4d5e6f7081"]
HOSTING_PREFIX = "207.180.211.0/24"
UNFLAGGED_PREFIX = "192.0.2.0/24"
SECRETS = [
    PAYMENT,
    RESIDENTIAL_IP,
    "2a02:8108:1234:5678",
    *ACCOUNT_IDS,
    SHARED_TAIL,
    HEAVY_HEAD,
    RARE_HEAD,
    "number the steps",
    PROMPT,
    "square root",
    *CAMPAIGN_IDS,
    UNFLAGGED_PREFIX,
]


def campaign_entry(cid: str, **over: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "campaign_id": cid,
        "flagged": True,
        "risk": 0.87,
        "actor_id": None,
        "first_seen": "2026-11-02T01:00:00Z",
        "last_seen": "2026-11-08T23:00:00Z",
        "n_accounts": 3,
        "n_requests": 1000,
        "signals": ["volume", "extraction_intent"],
        "techniques": ["AML.T0040"],
        "templates": [],
        "infrastructure": [],
        "payment_fingerprints": [],
        "account_ids": list(ACCOUNT_IDS),
        "sample_prompts": [PROMPT],  # an unknown field: must be ignored, never copied
    }
    entry.update(over)
    return entry


def campaigns_doc() -> dict[str, Any]:
    main = campaign_entry(
        CAMPAIGN_IDS[0],
        risk=0.998,
        n_requests=14898,
        techniques=["AML.T0040", "AML.T0024.002", "AML.T9999"],
        templates=[
            {"part": "tail", "skeleton": SHARED_TAIL, "n_accounts": 3, "n_requests": 14840},
            {"part": "head", "skeleton": HEAVY_HEAD, "n_accounts": 1, "n_requests": 4000},
            {"part": "head", "skeleton": RARE_HEAD, "n_accounts": 1, "n_requests": 12},
            {"part": "head", "skeleton": "<q> <n>", "n_accounts": 3, "n_requests": 14000},
            {"part": "head", "skeleton": "", "n_accounts": 3, "n_requests": 14000},
        ],
        infrastructure=[
            {"kind": "ip-prefix", "value": HOSTING_PREFIX, "hosting": True, "n_accounts": 2},
            {"kind": "ip-address", "value": RESIDENTIAL_IP, "hosting": False, "n_accounts": 2},
            {"kind": "ip-prefix", "value": RESIDENTIAL_V6, "hosting": False, "n_accounts": 2},
            {"kind": "asn", "value": "14061", "hosting": True, "n_accounts": 3},
            {"kind": "asn", "value": "3320", "hosting": False, "n_accounts": 2},
        ],
        payment_fingerprints=[{"value": PAYMENT, "n_accounts": 3}],
    )
    return {
        "format": "distillwatch-campaigns/1",
        "window": {"start": "2026-11-02T00:00:00Z", "end": "2026-11-09T00:00:00Z"},
        "campaigns": [
            main,
            campaign_entry(CAMPAIGN_IDS[1], actor_id="actor-77", risk=0.91),
            campaign_entry(
                CAMPAIGN_IDS[2],
                actor_id="actor-77",
                risk=0.95,
                first_seen="2026-11-03T00:00:00Z",
                last_seen="2026-11-09T00:00:00Z",
            ),
            campaign_entry(
                CAMPAIGN_IDS[3],
                flagged=False,
                risk=0.2,
                infrastructure=[
                    {
                        "kind": "ip-prefix",
                        "value": UNFLAGGED_PREFIX,
                        "hosting": True,
                        "n_accounts": 2,
                    }
                ],
            ),
        ],
    }


def write_scan(directory: Path, doc: dict[str, Any] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "campaigns.json").write_text(json.dumps(doc or campaigns_doc()), "utf-8")
    return directory


# ------------------------------------------------------------------ JSON Schema subset

_ANNOTATIONS = {"$schema", "$id", "title", "description"}
_TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "integer": int,
}


def schema_errors(instance: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Errors of *instance* against *schema* (the draft 2020-12 subset our schemas use).

    An unknown keyword is an error too, so the subset cannot silently grow.
    """
    errors: list[str] = []
    for kw, want in schema.items():
        if kw in _ANNOTATIONS:
            continue
        if kw == "type":
            ok = isinstance(instance, _TYPES[want])
            if want == "integer" and isinstance(instance, bool):
                ok = False
            if not ok:
                return [f"{path}: not of type {want}"]
        elif kw == "const":
            if instance != want:
                errors.append(f"{path}: must be {want!r}")
        elif kw == "enum":
            if instance not in want:
                errors.append(f"{path}: {instance!r} not in {want}")
        elif kw == "pattern":
            if isinstance(instance, str) and not re.search(want, instance):
                errors.append(f"{path}: {instance!r} does not match {want}")
        elif kw == "minLength":
            if isinstance(instance, str) and len(instance) < want:
                errors.append(f"{path}: shorter than {want}")
        elif kw == "maxLength":
            if isinstance(instance, str) and len(instance) > want:
                errors.append(f"{path}: longer than {want}")
        elif kw == "minimum":
            if isinstance(instance, int | float) and instance < want:
                errors.append(f"{path}: below {want}")
        elif kw == "maximum":
            if isinstance(instance, int | float) and instance > want:
                errors.append(f"{path}: above {want}")
        elif kw == "minItems":
            if isinstance(instance, list) and len(instance) < want:
                errors.append(f"{path}: fewer than {want} items")
        elif kw == "maxItems":
            if isinstance(instance, list) and len(instance) > want:
                errors.append(f"{path}: more than {want} items")
        elif kw == "items":
            if isinstance(instance, list):
                for i, item in enumerate(instance):
                    errors += schema_errors(item, want, f"{path}[{i}]")
        elif kw == "required":
            if isinstance(instance, dict):
                errors += [f"{path}: lacks {k!r}" for k in want if k not in instance]
        elif kw == "properties":
            if isinstance(instance, dict):
                for k, sub in want.items():
                    if k in instance:
                        errors += schema_errors(instance[k], sub, f"{path}.{k}")
        elif kw == "additionalProperties":
            if isinstance(instance, dict):
                extra = set(instance) - set(schema.get("properties", {}))
                if want is False:
                    errors += [f"{path}: unexpected {k!r}" for k in sorted(extra)]
                elif isinstance(want, dict):
                    for k in sorted(extra):
                        errors += schema_errors(instance[k], want, f"{path}.{k}")
        else:
            errors.append(f"{path}: schema keyword {kw!r} is not supported by this validator")
    return errors


def load_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text("utf-8"))


# ------------------------------------------------------------------ medallion

MEMBER, PASSWORD = "member", "pw-0f9e8d"


@dataclass(frozen=True)
class Medallion:
    url: str  # discovery URL
    api_root: str
    collections: dict[str, str]  # role -> collection id
    token: str  # credential for our client (name:password -> Basic)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _collection(cid: str, title: str, *, can_write: bool = True) -> dict[str, Any]:
    return {
        "id": cid,
        "title": title,
        "description": "distillwatch publish-side tests",
        "can_read": True,
        "can_write": can_write,
        "media_types": ["application/stix+json;version=2.1"],
        "objects": [],
        "manifest": [],
    }


@pytest.fixture(scope="module")
def pub_medallion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Medallion]:
    """A medallion 3.0.0 server (memory backend) on 127.0.0.1, stopped after the module."""
    base = tmp_path_factory.mktemp("medallion")
    port = _free_port()
    host = f"http://127.0.0.1:{port}"
    colls = {
        "paged": "4c9e6f1a-7d2b-4e8a-9f31-0b5d6c7e8a90",
        "twice": "5d0f7a2b-8e3c-4f9b-a042-1c6e7d8f9ba1",
        "cli": "6e1a8b3c-9f4d-4a0c-b153-2d7f8e9a0cb2",
        "chunked": "7f2b9c4d-a05e-4b1d-8264-3e8a9fab1dc3",
        "readonly": "8a3cad5e-b16f-4c2e-9375-4f9bab0c2ed4",
    }
    data = {
        "/discovery": {
            "title": "medallion for distillwatch tests",
            "default": f"{host}/dwtest/",
            "api_roots": [f"{host}/dwtest/"],
        },
        "dwtest": {
            "information": {
                "title": "dwtest",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 10_000_000,
            },
            "status": [],
            "collections": [
                _collection(colls["paged"], "paged"),
                _collection(colls["twice"], "twice"),
                _collection(colls["cli"], "cli"),
                _collection(colls["readonly"], "readonly", can_write=False),
            ],
        },
        # a second API root with a small max_content_length: pushes must be split
        "dwsmall": {
            "information": {
                "title": "dwsmall",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 6000,
            },
            "status": [],
            "collections": [_collection(colls["chunked"], "chunked")],
        },
    }
    (base / "data.json").write_text(json.dumps(data), "utf-8")
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(base / "data.json"),
        },
        "users": {MEMBER: PASSWORD},
        "taxii": {"max_page_size": 100},
    }
    (base / "config.json").write_text(json.dumps(config), "utf-8")
    log = (base / "medallion.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "medallion.scripts.run", "--host", "127.0.0.1", "--port",
         str(port), "--log-level", "ERROR", str(base / "config.json")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{host}/taxii2/", timeout=1)
                break
            except requests.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "medallion did not start: " + (base / "medallion.log").read_text()
                    ) from None
                time.sleep(0.1)
        yield Medallion(f"{host}/taxii2/", f"{host}/dwtest/", colls, f"{MEMBER}:{PASSWORD}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
