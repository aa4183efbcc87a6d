"""Teacher texts from the shipped corpora, and clear errors for broken corpus files."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from distillwatch.errors import IngestError
from distillwatch.sim.corpora import find_corpora_dir
from distillwatch.sim.teacher import TEACHER_FILES, TeacherText, teacher_texts


@pytest.fixture(scope="module")
def corpora() -> Path:
    return find_corpora_dir(None)


@pytest.fixture(scope="module")
def texts(corpora: Path) -> list[TeacherText]:
    return teacher_texts(corpora)


def _tree_pairs(node: dict, parent: str = "") -> list[tuple[str, str]]:
    pairs = []
    if node["role"] == "assistant":
        pairs.append((parent, node["text"].strip()))
    for reply in node["replies"]:
        pairs.extend(_tree_pairs(reply, node["text"] if node["role"] == "prompter" else ""))
    return pairs


def test_every_source_is_read_in_file_order(corpora, texts):
    with gzip.open(corpora / "t0_templated_tasks.jsonl.gz", "rt") as fh:
        t0 = [json.loads(line) for line in fh]
    with gzip.open(corpora / "oasst_en_100_conversations.jsonl.gz", "rt") as fh:
        trees = [json.loads(line) for line in fh]
    oasst = [pair for tree in trees for pair in _tree_pairs(tree)]
    counts = Counter(t.source for t in texts)
    assert counts["oasst"] == len(oasst)
    assert counts["t0"] == sum(1 for r in t0 if r["completion"].strip())
    assert [(t.prompt, t.text) for t in texts[: len(oasst)]] == oasst
    first_t0 = texts[len(oasst)]
    assert (first_t0.source, first_t0.prompt, first_t0.text) == (
        "t0",
        t0[0]["prompt"],
        t0[0]["completion"].strip(),
    )
    assert [t.source for t in texts] == sorted(
        (t.source for t in texts),
        key=["oasst", "t0", "self_instruct_seed", "self_instruct_user"].index,
    )
    assert all(t.text == t.text.strip() and t.text for t in texts)


def test_self_instruct_prompt_is_instruction_plus_input(corpora, texts):
    with open(corpora / "self_instruct_user_oriented.jsonl") as fh:
        record = json.loads(fh.readline())
    inst = record["instances"][0]
    first = next(t for t in texts if t.source == "self_instruct_user")
    assert first.prompt == f"{record['instruction'].strip()}\n\n{inst['input'].strip()}"
    assert first.text == inst["output"].strip()
    seed = [t for t in texts if t.source == "self_instruct_seed"]
    assert len(seed) == 175
    assert any("\n\n" not in t.prompt for t in seed)  # tasks without input keep the bare prompt


def test_deterministic(corpora, texts):
    assert teacher_texts(corpora) == texts


def _copy_corpora(src: Path, dst: Path, skip: str = "") -> Path:
    for name in TEACHER_FILES:
        if name != skip:
            (dst / name).symlink_to(src / name)
    return dst


def test_missing_file_is_an_ingest_error(corpora, tmp_path):
    broken = _copy_corpora(corpora, tmp_path, skip="self_instruct_seed_tasks.jsonl")
    with pytest.raises(IngestError, match=r"self_instruct_seed_tasks.jsonl is missing; pass"):
        teacher_texts(broken)


def test_unreadable_gzip_is_an_ingest_error(corpora, tmp_path):
    broken = _copy_corpora(corpora, tmp_path, skip="t0_templated_tasks.jsonl.gz")
    (broken / "t0_templated_tasks.jsonl.gz").write_bytes(b"not gzip at all")
    with pytest.raises(IngestError, match="unreadable"):
        teacher_texts(broken)


def test_bad_json_and_missing_fields_are_ingest_errors(corpora, tmp_path):
    broken = _copy_corpora(corpora, tmp_path, skip="self_instruct_user_oriented.jsonl")
    path = broken / "self_instruct_user_oriented.jsonl"
    path.write_text('{"instruction": "x", "instances": [{"input": ""}]}\n')
    with pytest.raises(IngestError, match=r"record 1 lacks an expected field") as info:
        teacher_texts(broken)
    assert "\n" not in str(info.value)
    path.write_text("{not json\n")
    with pytest.raises(IngestError, match="unreadable"):
        teacher_texts(broken)
    path.write_text("[1, 2]\n")
    with pytest.raises(IngestError, match="not a JSON object"):
        teacher_texts(broken)
