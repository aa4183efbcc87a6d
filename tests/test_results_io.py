"""result.json.gz: a scan result written and read back unchanged, and bad files refused."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import math
import typing
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from distillwatch import results
from distillwatch.errors import OutputError, UsageError
from distillwatch.results import (
    AccountVerdict,
    BehaviourEvidence,
    CampaignVerdict,
    InfraUse,
    IngestSummary,
    LinkEvidence,
    ScanResult,
    SignalHit,
    TemplateUse,
    Timeline,
    ValueUse,
)
from distillwatch.results_io import (
    RESULT_FILE,
    read_result,
    result_from_json,
    result_to_json,
    write_result,
)

T0 = datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=UTC)
PARIS = timezone(timedelta(hours=1))
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def real_result(tmp_path_factory: pytest.TempPathFactory) -> ScanResult:
    """A real scan of a tiny simulated traffic (2 days, 3% scale: about 80 accounts)."""
    from distillwatch.config import load_scan_config
    from distillwatch.ingest import load_events
    from distillwatch.pipeline import run_scan
    from distillwatch.sim import SimConfig, simulate

    out = tmp_path_factory.mktemp("io-sim")
    simulate(SimConfig(out=out, seed=3, days=2, scale=0.03))
    events, summary = load_events([out / "events.jsonl.gz"], out / "q.jsonl", progress=False)
    return run_scan(events, summary, load_scan_config(None))


def edge_result() -> ScanResult:
    """Every dataclass of results.py, every field away from its default, and the values JSON
    cannot tell apart on its own."""
    evidence = {
        "ids": ("i1", ("nested", 2)),
        "as_list": ["a", 1, 2.5, None, True],
        "when": datetime(2026, 3, 2, 10, 0),  # naive
        # the second 01:30 of the night clocks went back (fold=1), in a named zone
        "named": datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK),
        "day": T0.date(),
        "ratio": float("nan"),
        "peak": float("inf"),
        "low": float("-inf"),
        "by_hour": {3: 7, (1, 2): "pair"},  # non-string keys
        "$tuple": "a key that looks like a tag",
        "deep": {"x": [{"y": ("z",)}], "empty": {}},
        "surrogate": "broken \udc80 text",
        "int_not_float": 3,
        "float_whole": 3.0,
    }
    hit = SignalHit("extraction_intent", 0.91, 1.8, evidence, "87% ask for reasoning")
    account = AccountVerdict(
        account_id="acct-1",
        risk=0.97,
        flagged=True,
        n_requests=2001,
        first_seen=T0,
        last_seen=datetime(2026, 3, 4, 11, 0, tzinfo=PARIS),
        campaign_id="cmp-1",
        own_risk=0.5,
        hits=[hit, SignalHit("volume", 1, 0, {})],  # ints in float fields stay ints
    )
    naive = AccountVerdict("acct-2", 0.1, False, 3, datetime(2026, 3, 2), datetime(2026, 3, 3))
    campaign = CampaignVerdict(
        campaign_id="cmp-1",
        account_ids=["acct-1", "acct-3"],
        n_requests=4000,
        risk=0.99,
        flagged=True,
        first_seen=T0,
        last_seen=T0 + timedelta(days=3),
        hits=[hit],
        links=[LinkEvidence("payment_fingerprint", "payment ab12", 2, 2, 4.1, ("acct-1", "x"))],
        behaviour=[BehaviourEvidence({"template": 0.87, "config": 0.2}, True, 18, 6, ["head"])],
        actor_id="actor-1",
        techniques=["AML.T0024.002"],
        sample_prompts=["Solve step by step: <script>", "ünïcode ✓ 数学"],
        templates=[TemplateUse("head", "Solve step by step: {X}", 2, 300, 5, 3)],
        infrastructure=[InfraUse("asn", "AS64500", True, 2)],
        payment_fingerprints=[ValueUse("pf_1", 2)],
        timeline=Timeline(T0, 1, {"acct-1": [0, 3, 5], "acct-3": [1, 0, 0]}, [2, 2, 0], 7),
    )
    quiet = CampaignVerdict("cmp-2", ["acct-2"], 3, 0.2, False, T0, T0)
    ingest = IngestSummary(
        n_read=4100,
        n_ok=4003,
        n_duplicates=3,
        quarantined=Counter({"missing_field:prompt": 15, "bad_json": 5}),
        sources=["traffic/events.jsonl.gz"],
        warnings=Counter({"prompt_truncated": 2}),
    )
    return ScanResult([account, naive], [campaign, quiet], ingest, T0, None, 0.8, 4003)


def _rounded(value: object) -> object:
    if isinstance(value, float):
        return float(f"{value:.12g}") if value == value and abs(value) != float("inf") else value
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _documented_id(body: dict[str, object]) -> str:
    """The first 16 hex digits of sha256 of the canonical JSON of ``result``, floats rounded
    to 12 significant digits."""
    text = json.dumps(_rounded(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _same_evidence(a: object, b: object) -> bool:
    """Equal, with NaN equal to NaN and the same types all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_evidence(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same_evidence(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_real_scan_round_trips_unchanged(real_result, tmp_path):
    assert real_result.accounts and real_result.campaigns  # the scan found something
    assert any(c.timeline is not None for c in real_result.campaigns)
    text = result_to_json(real_result)
    back = result_from_json(text)
    assert back == real_result
    assert type(back.ingest.quarantined) is Counter and type(back.ingest.warnings) is Counter
    links = [link for c in back.campaigns for link in c.links]
    assert links and all(type(link.account_ids) is tuple for link in links)
    # zone names are kept (Arrow gives ZoneInfo("UTC")), not only offsets
    assert back.accounts[0].first_seen.tzinfo == real_result.accounts[0].first_seen.tzinfo
    assert back.window_start is not None and real_result.window_start is not None
    assert back.window_start.tzinfo == real_result.window_start.tzinfo
    # through a file too, and the file's scan id is the one in the JSON text
    path = write_result(real_result, tmp_path)
    assert path == tmp_path / RESULT_FILE
    scan_id, from_file = read_result(tmp_path)
    assert from_file == real_result and scan_id == json.loads(text)["scan_id"]
    assert scan_id == _documented_id(json.loads(text)["result"])


def test_edge_cases_round_trip_with_their_types():
    result = edge_result()
    back = result_from_json(result_to_json(result))
    original_hit, back_hit = result.accounts[0].hits[0], back.accounts[0].hits[0]
    assert _same_evidence(back_hit.evidence, original_hit.evidence)
    assert back_hit.evidence["ids"] == ("i1", ("nested", 2))
    assert back_hit.evidence["when"].tzinfo is None
    named = back_hit.evidence["named"]
    assert named.tzinfo is NEW_YORK and named.utcoffset() == timedelta(hours=-5)
    assert type(back.accounts[0].hits[1].score) is int
    # everything else compares equal (NaN aside, which never equals itself)
    for verdict in (result.accounts[0], back.accounts[0], result.campaigns[0], back.campaigns[0]):
        verdict.hits = []
    assert back == result
    assert back.accounts[0].last_seen.utcoffset() == timedelta(hours=1)
    assert back.accounts[1].first_seen.tzinfo is None
    assert back.window_end is None and back.campaigns[1].timeline is None
    assert back.campaigns[0].links[0].account_ids == ("acct-1", "x")
    assert back.ingest.quarantined.most_common(1) == [("missing_field:prompt", 15)]


def test_every_field_of_every_result_class_is_written():
    doc = json.loads(result_to_json(edge_result()))
    assert (doc["format"], doc["version"]) == ("distillwatch-scan-result", 1)
    body = doc["result"]
    seen = {
        ScanResult: body,
        AccountVerdict: body["accounts"][0],
        CampaignVerdict: body["campaigns"][0],
        SignalHit: body["accounts"][0]["hits"][0],
        IngestSummary: body["ingest"],
        LinkEvidence: body["campaigns"][0]["links"][0],
        BehaviourEvidence: body["campaigns"][0]["behaviour"][0],
        TemplateUse: body["campaigns"][0]["templates"][0],
        InfraUse: body["campaigns"][0]["infrastructure"][0],
        ValueUse: body["campaigns"][0]["payment_fingerprints"][0],
        Timeline: body["campaigns"][0]["timeline"],
    }
    every_class = {
        c for _, c in vars(results).items() if isinstance(c, type) and dataclasses.is_dataclass(c)
    }
    assert every_class == set(seen)  # a new result class needs a case here
    for cls, obj in seen.items():
        assert set(obj) == {f.name for f in dataclasses.fields(cls)}, cls.__name__
        assert typing.get_type_hints(cls)  # annotations resolve


def test_same_result_same_id_and_bytes_and_a_change_changes_the_id(tmp_path):
    a, b = edge_result(), edge_result()
    assert result_to_json(a) == result_to_json(b)
    first = write_result(a, tmp_path / "one.json.gz").read_bytes()
    assert write_result(b, tmp_path / "two.json.gz").read_bytes() == first
    b.accounts[1].risk = 0.11
    ids = {json.loads(result_to_json(r))["scan_id"] for r in (a, b)}
    assert len(ids) == 2 and all(len(i) == 16 for i in ids)


def test_empty_result_round_trips(tmp_path):
    empty = ScanResult([], [], IngestSummary(), None, None, 0.8, 0)
    write_result(empty, tmp_path)
    assert read_result(tmp_path / RESULT_FILE)[1] == empty


def test_evidence_that_is_not_json_ready_is_a_type_error_naming_it():
    result = edge_result()
    result.accounts[1].hits = [SignalHit("x", 0.5, 0.1, {"bad": {1, 2}})]
    with pytest.raises(TypeError, match=r"accounts\[1\]\.hits\[0\]\.evidence\.bad is a set"):
        result_to_json(result)


def test_unwritable_target_is_an_output_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write"):
        write_result(edge_result(), blocker / "scan.json.gz")


# ---------------------------------------------------------------- bad files


def _gz(path: Path, text: str) -> Path:
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    return path


def test_missing_file_says_to_run_scan(tmp_path):
    with pytest.raises(UsageError, match=r"no result\.json\.gz in .*distillwatch scan") as info:
        read_result(tmp_path)
    assert f"--out {tmp_path}" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(UsageError, match=r"no result\.json\.gz at"):
        read_result(tmp_path / "nope.json.gz")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"plain text, not gzip", "as gzip"),
        (gzip.compress(b'{"format": "distillwatch-scan-result"')[:-12], "as gzip"),
        (gzip.compress(b"{not json"), "not valid JSON"),
        (gzip.compress(b"[1, 2]"), "not a distillwatch scan result"),
        (gzip.compress(b'{"format": "other", "version": 1}'), "not a distillwatch scan result"),
        (gzip.compress(b"\xff\xfe bad utf-8"), "not UTF-8"),
    ],
)
def test_corrupt_files_are_refused_in_one_line(tmp_path, content, message):
    path = tmp_path / RESULT_FILE
    path.write_bytes(content)
    with pytest.raises(UsageError, match=message) as info:
        read_result(path)
    assert "\n" not in str(info.value)


def test_other_version_is_refused(tmp_path):
    doc = json.loads(result_to_json(edge_result()))
    doc["version"] = 2
    with pytest.raises(UsageError, match="version 2, this distillwatch reads version 1"):
        read_result(_gz(tmp_path / RESULT_FILE, json.dumps(doc)))


def test_edited_content_no_longer_matches_its_id(tmp_path):
    doc = json.loads(result_to_json(edge_result()))
    doc["result"]["accounts"][1]["risk"] = 0.99
    with pytest.raises(UsageError, match="altered after it was written"):
        read_result(_gz(tmp_path / RESULT_FILE, json.dumps(doc)))


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda r: r.update(accounts="oops"), r"result\.accounts: expected a list"),
        (lambda r: r["accounts"][0].pop("risk"), r"accounts\[0\]: risk is missing"),
        (lambda r: r["accounts"][0].update(risk="high"), r"accounts\[0\]\.risk: expected float"),
        (lambda r: r["accounts"][0].update(n_requests=True), "expected int, found bool"),
        (lambda r: r.update(window_start="yesterday"), "not an ISO 8601 datetime"),
    ],
)
def test_wrong_structure_is_unusable_and_says_where(edit, where):
    doc = json.loads(result_to_json(edge_result()))
    edit(doc["result"])
    with pytest.raises(UsageError, match=where):
        result_from_json(json.dumps(doc))


def test_fields_missing_from_an_older_file_take_their_defaults_and_unknown_ones_are_ignored():
    doc = json.loads(result_to_json(edge_result()))
    campaign = doc["result"]["campaigns"][0]
    del campaign["timeline"], campaign["templates"]  # as if written before they existed
    campaign["from_the_future"] = {"x": 1}
    doc["scan_id"] = _documented_id(doc["result"])
    back = result_from_json(json.dumps(doc))
    assert back.campaigns[0].timeline is None and back.campaigns[0].templates == []
    assert back.campaigns[0].links == edge_result().campaigns[0].links


def test_a_rescan_of_the_same_input_has_the_same_scan_id(small_scan: Path) -> None:
    """Decisions are kept per scan id: scanning the same input again must not lose them
    (risks may differ in their last bits between runs; link ties must sort the same)."""
    from tests.conftest import run_cli

    again = small_scan.parent / "S-again"
    traffic = small_scan.parent / "D" / "events.jsonl.gz"
    run_cli("scan", str(traffic), "--out", str(again), "-q")
    assert read_result(again)[0] == read_result(small_scan)[0]
    assert (again / "campaigns.csv").read_bytes() == (small_scan / "campaigns.csv").read_bytes()
