"""Provider A publishes to our own hub, provider B pulls and matches: real server, real CLI."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from distillwatch.hub.admin import add_collection, add_member
from distillwatch.hub.server import running_hub
from distillwatch.hub.settings import HubSettings
from distillwatch.outputs.ids import stable_uuid

BIN = Path(sys.executable).parent / "distillwatch"


def run(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.pop("DISTILLWATCH_HUB_TOKEN", None)
    if token is not None:
        env["DISTILLWATCH_HUB_TOKEN"] = token
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=600, env=env)


def ok(*args: str, token: str | None = None) -> str:
    done = run(*args, token=token)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("hub-roundtrip")
    ok("simulate", "--out", str(base / "a"), "--seed", "64", "--scale", "0.1", "--days", "3")
    ok("scan", str(base / "a" / "events.jsonl.gz"), "--out", str(base / "scan-a"), "-q")
    ok("intel", "keygen", "--out", str(base / "group.key"), "--group", "isac")
    ok(
        "intel", "build", str(base / "scan-a"), "--org", "provider-a",
        "--key-file", str(base / "group.key"), "--out", str(base / "a.json"),
    )  # fmt: skip
    db = f"sqlite:///{base / 'hub.db'}"
    coll = add_collection(db, "distillation", "shared by the isac members")
    ident = {
        org: "identity--" + stable_uuid("identity", org) for org in ("provider-a", "provider-b")
    }
    tokens = {
        "a": add_member(db, "provider-a", ident["provider-a"], read=[coll], write=[coll]),
        "b": add_member(db, "provider-b", ident["provider-b"], read=[coll]),
    }
    return {"base": base, "db": db, "coll": coll, "tokens": tokens}


def test_publish_pull_and_no_prompt_text_in_the_hub(world: dict[str, object]) -> None:
    base, coll, tokens = world["base"], world["coll"], world["tokens"]
    assert isinstance(base, Path) and isinstance(coll, str) and isinstance(tokens, dict)
    with running_hub(HubSettings(db_url=str(world["db"]), check_workers=0)) as url:
        hub = f"{url}/default/"
        out = ok("intel", "push", str(base / "a.json"), "--hub", hub, "--collection", coll,
                 token=tokens["a"])  # fmt: skip
        assert "refused" not in out.lower()
        # B may read but not write; without a token nothing works
        refused = run("intel", "push", str(base / "a.json"), "--hub", hub, "--collection",
                      coll, token=tokens["b"])  # fmt: skip
        assert refused.returncode != 0
        assert run("intel", "pull", "--hub", hub, "--out", str(base / "nope")).returncode != 0
        ok("intel", "pull", "--hub", hub, "--collection", coll, "--out", str(base / "intel-b"),
           token=tokens["b"])  # fmt: skip
    pulled = [
        o for f in (base / "intel-b").rglob("*.json") if f.name != "state.json"
        for o in json.loads(f.read_text())["objects"]
    ]  # fmt: skip
    published = json.loads((base / "a.json").read_text())["objects"]
    assert {o["id"] for o in pulled} == {o["id"] for o in published}

    # no prompt (nor skeleton) text of provider A reached the hub's database
    prompts = set()
    with __import__("gzip").open(base / "a" / "events.jsonl.gz", "rt") as fh:
        for line in fh:
            prompt = json.loads(line).get("prompt") or ""
            if len(prompt) >= 40:
                prompts.add(prompt[:40])
    skeletons = {
        t["skeleton"]
        for c in json.loads((base / "scan-a" / "campaigns.json").read_text())["campaigns"]
        for t in c["templates"]
        if len(t["skeleton"]) >= 20
    }
    con = sqlite3.connect(str(world["db"]).removeprefix("sqlite:///"))
    dump = "\n".join(con.iterdump())
    con.close()
    assert prompts and skeletons
    assert not [p for p in prompts if p in dump]
    assert not [s for s in skeletons if s in dump]
