"""intel push / pull against a real medallion 3.0.0 TAXII 2.1 server on 127.0.0.1."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from tests.intel.conftest_publish import NOW, RING, pub_medallion, write_scan

from distillwatch.errors import HubError, IntelError
from distillwatch.intel.bundle import build_bundle
from distillwatch.intel.client import (
    STATE_FILE,
    TOKEN_ENV,
    PushRefused,
    pull,
    push,
    token_from_env_or_file,
)

__all__ = ["pub_medallion"]  # the fixture, imported for pytest to find


@pytest.fixture(scope="module")
def bundle_file(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("bundle")
    text = build_bundle(write_scan(base / "scan"), org_name="Acme AI", keyring=RING, now=NOW)
    bundle = json.loads(text)
    # medallion 3.0.0 cannot serve extension-definition objects: its version lookup
    # (common.find_att) takes their `version` property ("1.0.0") for a timestamp and every
    # GET of the collection fails with HTTP 500. Our own hub stores them; here they go.
    bundle["objects"] = [o for o in bundle["objects"] if o["type"] != "extension-definition"]
    path = base / "intel.json"
    path.write_text(json.dumps(bundle, indent=2), "utf-8")
    return path


def bundle_ids(path: Path) -> set[str]:
    return {o["id"] for o in json.loads(path.read_text())["objects"]}


def pulled_ids(directory: Path) -> list[str]:
    out: list[str] = []
    for page in sorted(directory.glob("*.json")):
        data = json.loads(page.read_text())
        assert data["type"] == "bundle"
        out += [o["id"] for o in data["objects"]]
    return out


def test_push_then_paged_pull_then_nothing_new(pub_medallion, bundle_file, tmp_path):
    hub, coll = pub_medallion.url, pub_medallion.collections["paged"]
    expected = bundle_ids(bundle_file)
    report = push(bundle_file, hub, coll, pub_medallion.token)
    assert report.total == report.succeeded == len(expected) and not report.failures

    out = tmp_path / "intel"
    (first,) = pull(hub, out, collection_id=coll, token=pub_medallion.token, page_size=7)
    assert first.n_objects == len(expected)
    assert len(first.files) == math.ceil(len(expected) / 7)  # one file per page
    ids = pulled_ids(out / coll)
    assert sorted(ids) == sorted(expected)  # every object once, none lost between pages
    state = json.loads((out / STATE_FILE).read_text())
    assert state == {f"{hub}|{coll}": {"added_after": first.added_after}}

    (second,) = pull(hub, out, collection_id=coll, token=pub_medallion.token, page_size=7)
    assert second.n_objects == 0 and second.files == []
    assert second.added_after == first.added_after
    assert len(list((out / coll).glob("*.json"))) == len(first.files)

    # --since before the push overrides the saved cursor and gets everything again
    (again,) = pull(
        hub, out, collection_id=coll, since="2000-01-01T00:00:00Z", token=pub_medallion.token
    )
    assert again.n_objects == len(expected)


def test_pull_without_collection_reads_every_readable_one(pub_medallion, bundle_file, tmp_path):
    push(bundle_file, pub_medallion.api_root, pub_medallion.collections["cli"], pub_medallion.token)
    results = pull(pub_medallion.url, tmp_path / "all", token=pub_medallion.token)
    by_coll = {r.collection_id: r.n_objects for r in results}
    assert set(by_coll) == {
        pub_medallion.collections[k] for k in ("paged", "twice", "cli", "readonly")
    }
    assert by_coll[pub_medallion.collections["cli"]] == len(bundle_ids(bundle_file))


def test_the_hub_refusing_objects_fails_the_push(pub_medallion, bundle_file):
    hub, coll = pub_medallion.url, pub_medallion.collections["twice"]
    push(bundle_file, hub, coll, pub_medallion.token)
    with pytest.raises(PushRefused) as err:  # medallion refuses a version it already holds
        push(bundle_file, hub, coll, pub_medallion.token)
    report = err.value.report
    assert report.succeeded == 0 and len(report.failures) == report.total
    assert {f.id for f in report.failures} == bundle_ids(bundle_file)
    assert "Unable to process object" in str(err.value) and "\n" not in str(err.value)
    assert isinstance(err.value, HubError)


def test_push_is_split_to_fit_max_content_length(pub_medallion, bundle_file):
    small_root = pub_medallion.api_root.replace("/dwtest/", "/dwsmall/")  # an API root URL
    assert len(bundle_file.read_bytes()) > 6000
    report = push(
        bundle_file, small_root, pub_medallion.collections["chunked"], pub_medallion.token
    )
    assert report.succeeded == len(bundle_ids(bundle_file))


def test_read_only_collection(pub_medallion, bundle_file):
    with pytest.raises(HubError, match="read-only"):
        push(
            bundle_file,
            pub_medallion.url,
            pub_medallion.collections["readonly"],
            "member:pw-0f9e8d",
        )


@pytest.mark.parametrize("token", ["member:wrong-password", "nobody:pw-0f9e8d", "bearer-token"])
def test_wrong_token_is_one_line_hub_error(pub_medallion, tmp_path, token):
    with pytest.raises(HubError) as err:
        pull(pub_medallion.url, tmp_path, token=token)
    assert "HTTP 401" in str(err.value) and "\n" not in str(err.value)
    assert token not in str(err.value)
    assert not (tmp_path / STATE_FILE).exists()


def test_unknown_collection(pub_medallion, tmp_path):
    with pytest.raises(HubError, match="no collection nope"):
        pull(pub_medallion.url, tmp_path, collection_id="nope", token=pub_medallion.token)


def test_unreachable_hub_is_one_line(tmp_path, bundle_file):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(HubError) as err:
        push(bundle_file, f"http://127.0.0.1:{port}/taxii2/", "c", "t")
    assert "cannot reach the hub" in str(err.value) and "\n" not in str(err.value)


def test_token_sources(tmp_path, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with pytest.raises(IntelError, match="--token-file"):
        token_from_env_or_file(None)
    monkeypatch.setenv(TOKEN_ENV, " from-env \n")
    assert token_from_env_or_file(None) == "from-env"
    f = tmp_path / "token"
    f.write_text("from-file\n")
    assert token_from_env_or_file(f) == "from-file"  # an explicit file wins
    f.write_text("")
    with pytest.raises(IntelError, match="empty"):
        token_from_env_or_file(f)
    with pytest.raises(IntelError, match="cannot read"):
        token_from_env_or_file(tmp_path / "missing")


def test_bad_bundle_and_state_are_intel_errors(tmp_path, pub_medallion):
    bad = tmp_path / "b.json"
    bad.write_text('{"type": "campaign"}')
    with pytest.raises(IntelError, match="not a STIX bundle"):
        push(bad, pub_medallion.url, "c", pub_medallion.token)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / STATE_FILE).write_text("[1, 2")
    with pytest.raises(IntelError, match="delete it"):
        pull(pub_medallion.url, tmp_path / "out", token=pub_medallion.token)
