"""``distillwatch provenance keygen | mark | test | keys`` as a user runs them (real processes)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from distillwatch.provenance.lexicon import load_lexicon
from distillwatch.provenance.text import occurrences

BIN = Path(sys.executable).parent / "distillwatch"

ANSWERS = [
    "For example, you do not need to buy a new laptop; it is usually cheaper to upgrade.",
    "However, you are going to need a screwdriver. Perhaps you can borrow one from a friend.",
    "In addition, make sure that you back up your files, because you cannot undo it.",
    'Run `pip install x` and do not edit "do not change this" at https://example.com/do-not.',
]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=120, env=env)


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), "utf-8")
    return path


def test_keygen_writes_a_private_key_and_never_overwrites(tmp_path):
    key = tmp_path / "k.json"
    done = run("provenance", "keygen", "--out", str(key))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    data = json.loads(key.read_text())
    assert data["format"] == "distillwatch-provenance-key/1" and data["key_id"] in done.stdout
    assert data["secret"] not in done.stdout
    again = run("provenance", "keygen", "--out", str(key))
    assert again.returncode == 2 and "exists" in again.stderr
    assert json.loads(key.read_text()) == data


def test_mark_keeps_fields_quarantines_bad_lines_and_tests_positive(tmp_path):
    key = tmp_path / "k.json"
    other = tmp_path / "other.json"
    assert run("provenance", "keygen", "--out", str(key)).returncode == 0
    assert run("provenance", "keygen", "--out", str(other)).returncode == 0
    lines = [json.dumps({"id": i, "text": t}) for i, t in enumerate(ANSWERS * 30)]
    lines.insert(3, "{not json")
    lines.insert(7, json.dumps({"id": "no-text"}))
    source = write(tmp_path / "in.jsonl", lines)
    target, ledger = tmp_path / "out.jsonl", tmp_path / "k.ledger"
    done = run(
        "provenance",
        "mark",
        "--key-file",
        str(key),
        str(source),
        str(target),
        "--ledger",
        str(ledger),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["texts"] == 120 and summary["quarantined"] == 2
    # only words of marked lexicon positions can change (the key is random: no fixed share)
    lex = load_lexicon()
    in_positions = sum(
        len(t[o.start : o.end].split())
        for t in ANSWERS * 30
        for o in occurrences(t, lex, 2)
        if o.eligible
    )
    assert 0 < summary["words_changed"] <= in_positions
    assert summary["share_changed"] == summary["words_changed"] / summary["words"]
    assert "2 bad line(s)" in done.stderr
    quarantine = [
        json.loads(x) for x in (tmp_path / "out.jsonl.quarantine.jsonl").read_text().splitlines()
    ]
    assert [q["line"] for q in quarantine] == [4, 8] and "JSON" in quarantine[0]["reason"]
    out = [json.loads(x) for x in target.read_text().splitlines()]
    assert [o["id"] for o in out] == list(range(120))
    assert all(
        "`pip install x`" in o["text"] and '"do not change this"' in o["text"] for o in out[3::4]
    )

    test = run(
        "provenance",
        "test",
        str(target),
        "--key-file",
        str(key),
        "--key-file",
        str(other),
        "--ledger",
        str(ledger),
        "--json",
    )
    assert test.returncode == 0, test.stderr
    mine, theirs = json.loads(test.stdout)
    assert mine["verdict"] == "marked" and mine["match_rate"] == 1.0 and mine["ledger"]
    assert mine["p_adjusted"] >= mine["p_value"] and theirs["p_value"] > mine["p_value"]
    plain = run("provenance", "test", str(source), "--key-file", str(key))
    assert plain.returncode == 0 and "p (Holm)" in plain.stdout
    assert "1 bad line" in plain.stderr or "2 bad line" in plain.stderr


def test_bad_inputs_are_one_line_errors(tmp_path):
    missing = run(
        "provenance",
        "test",
        str(tmp_path / "none.jsonl"),
        "--key-file",
        str(tmp_path / "nokey.json"),
    )
    assert missing.returncode == 2 and "keygen" in missing.stderr
    assert "Traceback" not in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    wrong = write(tmp_path / "wrong.json", ['{"format": "distillwatch-group-keys/1"}'])
    bad = run("provenance", "mark", "--key-file", str(wrong), str(wrong), str(tmp_path / "o"))
    assert bad.returncode == 2 and "not a provenance key file" in bad.stderr
    key = tmp_path / "k.json"
    run("provenance", "keygen", "--out", str(key))
    same = run("provenance", "mark", "--key-file", str(key), str(wrong), str(wrong))
    assert same.returncode == 2 and "never overwritten" in same.stderr
    nokeys = run("provenance", "test", str(wrong))
    assert nokeys.returncode == 2 and "--key-file" in nokeys.stderr


def test_keys_lists_campaign_keys_of_a_marks_directory(tmp_path):
    from distillwatch.provenance.campaigns import CampaignKeys, CampaignMarker

    marker = CampaignMarker(CampaignKeys(tmp_path / "marks"))
    marked = [marker.mark(t, "cmp-1") for t in ANSWERS]
    done = run("provenance", "keys", "--marks", str(tmp_path / "marks"))
    assert done.returncode == 0 and "cmp-1" in done.stdout
    suspect = write(tmp_path / "s.jsonl", [json.dumps({"text": t}) for t in marked])
    test = run("provenance", "test", str(suspect), "--marks", str(tmp_path / "marks"), "--json")
    (row,) = json.loads(test.stdout)
    assert row["campaign_id"] == "cmp-1" and row["ledger"] and row["match_rate"] == 1.0
