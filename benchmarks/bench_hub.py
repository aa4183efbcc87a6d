"""Hub throughput: POST and paged GET of STIX indicators, our hub (SQLite) vs medallion.

Both servers run on 127.0.0.1 in a background thread of this process (ours through
``running_hub``, medallion 3.0.0's memory backend through werkzeug), and receive the same
pre-serialized envelopes of valid indicators with distinct patterns over HTTP keep-alive.
Each server first takes a warm-up of envelopes into another collection (our hub checks big
envelopes in worker processes that need a moment to load stix2), untimed. POST is timed
until every status is back; GET pages through the collection with ``limit=1000`` and
parses every page. Prints objects/s; asserts nothing.

medallion's memory backend compares every new object with every stored one and rebuilds
headers from its whole manifest on every page (quadratic), so it gets its own, smaller
object count (``--medallion-objects``); the table says how many each server got.

    .venv/bin/python benchmarks/bench_hub.py                      # 10,000 objects
    .venv/bin/python benchmarks/bench_hub.py --objects 20000 --medallion-objects 5000
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import requests

from distillwatch.hub.admin import add_collection, add_member
from distillwatch.hub.server import running_hub
from distillwatch.hub.settings import HubSettings

TAXII = "application/taxii+json;version=2.1"
IDENTITY = "identity--6b7a9f1c-3b57-4d3e-9a3e-2a3b3f6c9a11"
AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"


def make_envelopes(n: int, size: int) -> list[bytes]:
    """*n* valid indicators (distinct ids and patterns) in envelopes of *size*."""
    objects = []
    for i in range(n):
        stamp = f"2026-03-01T00:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}Z"
        objects.append(
            {
                "type": "indicator",
                "spec_version": "2.1",
                "id": f"indicator--{uuid.uuid4()}",
                "created": stamp,
                "modified": stamp,
                "created_by_ref": IDENTITY,
                "name": f"proxy fleet range {i}",
                "indicator_types": ["anomalous-activity"],
                "pattern": f"[ipv4-addr:value = '10.{i // 65536 % 256}.{i // 256 % 256}"
                f".{i % 256}/32']",
                "pattern_type": "stix",
                "valid_from": stamp,
                "confidence": 70,
                "object_marking_refs": [AMBER],
            }
        )
    return [orjson.dumps({"objects": objects[start : start + size]}) for start in range(0, n, size)]


class Target:
    """A TAXII collection to push to and page through (and one to warm up with)."""

    def __init__(self, name: str, objects_url: str, warm_url: str, auth: tuple[str, str]) -> None:
        self.name = name
        self.objects_url = objects_url
        self.warm_url = warm_url
        self.session = requests.Session()
        self.session.auth = auth

    def post_all(self, envelopes: list[bytes], url: str | None = None) -> int:
        headers = {"Accept": TAXII, "Content-Type": TAXII}
        stored = 0
        for body in envelopes:
            resp = self.session.post(
                url or self.objects_url, data=body, headers=headers, timeout=600
            )
            resp.raise_for_status()
            stored += int(resp.json()["success_count"])
        return stored

    def get_all(self, limit: int) -> int:
        headers = {"Accept": TAXII}
        params: dict[str, Any] = {"limit": limit}
        count = 0
        while True:
            resp = self.session.get(self.objects_url, params=params, headers=headers, timeout=600)
            resp.raise_for_status()
            page = orjson.loads(resp.content)
            count += len(page.get("objects", []))
            if not page.get("more"):
                return count
            params = {"limit": limit, "next": page["next"]}


@contextmanager
def our_hub(work: Path) -> Iterator[Target]:
    db = f"sqlite:///{work / 'hub.db'}"
    coll, warm = add_collection(db, "bench"), add_collection(db, "warm-up")
    token = add_member(db, "bench", IDENTITY, read=[coll, warm], write=[coll, warm])
    settings = HubSettings(db_url=db, page_size_max=1000, max_content_length=100 * 2**20)
    with running_hub(settings) as url:
        base = f"{url}/default/collections/"
        yield Target(
            "distillwatch hub (SQLite)",
            f"{base}{coll}/objects/",
            f"{base}{warm}/objects/",
            ("bench", token),
        )


@contextmanager
def medallion_hub(work: Path) -> Iterator[Target]:
    from medallion import load_app
    from werkzeug.serving import make_server

    coll, warm = str(uuid.uuid4()), str(uuid.uuid4())
    data = {
        "/discovery": {"title": "bench", "api_roots": [], "default": ""},
        "api1": {
            "information": {
                "title": "bench",
                "versions": [TAXII],
                "max_content_length": 100 * 2**20,
            },
            "status": [],
            "collections": [
                {
                    "id": cid,
                    "title": cid,
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                }
                for cid in (coll, warm)
            ],
        },
    }
    (work / "medallion-data.json").write_text(json.dumps(data))
    config = {
        "users": {"bench": "secret"},
        "taxii": {"max_page_size": 1000},
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(work / "medallion-data.json"),
        },
    }
    (work / "medallion.json").write_text(json.dumps(config))
    app = load_app(str(work / "medallion.json"))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}/api1/collections/"
        yield Target(
            "medallion 3.0.0 (memory)",
            f"{base}{coll}/objects/",
            f"{base}{warm}/objects/",
            ("bench", "secret"),
        )
    finally:
        server.shutdown()
        thread.join()


def measure(
    target: Target, envelopes: list[bytes], warm_up: list[bytes], limit: int
) -> tuple[float, float]:
    """(POST objects/s, GET objects/s) of *target*."""
    n = sum(len(orjson.loads(e)["objects"]) for e in envelopes)
    target.post_all(warm_up, target.warm_url)
    started = time.perf_counter()
    stored = target.post_all(envelopes)
    post_s = time.perf_counter() - started
    if stored != n:
        print(f"  warning: {target.name} stored {stored} of {n} objects")
    started = time.perf_counter()
    got = target.get_all(limit)
    get_s = time.perf_counter() - started
    if got != n:
        print(f"  warning: {target.name} returned {got} of {n} objects")
    return n / post_s, got / get_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000, help="objects for our hub")
    parser.add_argument("--medallion-objects", type=int, default=3000)
    parser.add_argument("--warm-up", type=int, default=2000, help="untimed objects first")
    parser.add_argument("--envelope", type=int, default=500, help="objects per POST")
    parser.add_argument("--limit", type=int, default=1000, help="objects per GET page")
    parser.add_argument("--skip-medallion", action="store_true")
    args = parser.parse_args()

    print(
        f"indicators in envelopes of {args.envelope}, GET limit {args.limit}, "
        f"{args.warm_up:,} untimed warm-up objects per server"
    )
    hubs: list[tuple[Callable[[Path], Any], int]] = [(our_hub, args.objects)]
    if not args.skip_medallion:
        hubs.append((medallion_hub, args.medallion_objects))
    warm_up = make_envelopes(args.warm_up, args.envelope)
    rows = []
    for factory, n in hubs:
        envelopes = make_envelopes(n, args.envelope)
        with tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp, factory(Path(tmp)) as target:
            post_rate, get_rate = measure(target, envelopes, warm_up, args.limit)
            rows.append((target.name, n, post_rate, get_rate))
    print(f"{'server':<28}{'objects':>9}{'POST objects/s':>16}{'GET objects/s':>16}")
    for name, n, post_rate, get_rate in rows:
        print(f"{name:<28}{n:>9,}{post_rate:>16,.0f}{get_rate:>16,.0f}")


if __name__ == "__main__":
    main()
