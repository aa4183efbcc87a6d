"""Teacher texts: the answers a model served, taken from the shipped corpora.

An attacker harvests a teacher's answers and trains a student on them. These are the
answers we simulate that teacher with (about 475k words): every assistant turn of the
OASST conversation trees, every T0 ``completion``, and every ``instances[].output`` of
the two self-instruct files, each with the prompt it answers. Find the directory the way
the simulator does, with :func:`distillwatch.sim.corpora.find_corpora_dir`.

>>> from distillwatch.sim.corpora import find_corpora_dir
>>> texts = teacher_texts(find_corpora_dir(None))
>>> sorted({t.source for t in texts})
['oasst', 'self_instruct_seed', 'self_instruct_user', 't0']
>>> all(t.text and t.prompt for t in texts)
True
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from distillwatch.errors import IngestError

OASST_FILE = "oasst_en_100_conversations.jsonl.gz"
T0_FILE = "t0_templated_tasks.jsonl.gz"
SEED_FILE = "self_instruct_seed_tasks.jsonl"
USER_FILE = "self_instruct_user_oriented.jsonl"
TEACHER_FILES = (OASST_FILE, T0_FILE, SEED_FILE, USER_FILE)


@dataclass(frozen=True)
class TeacherText:
    """One teacher answer: the prompt it answers, its text, and which corpus it came from
    (``oasst``, ``t0``, ``self_instruct_seed`` or ``self_instruct_user``)."""

    prompt: str
    text: str
    source: str


def teacher_texts(corpora: Path) -> list[TeacherText]:
    """Every teacher answer in *corpora*, in a fixed order: OASST (file order, depth first
    through each tree), then T0, then self-instruct seed tasks, then user-oriented tasks.
    Answers that are empty after stripping are skipped.

    Raises :class:`~distillwatch.errors.IngestError` when a file is missing or unreadable.

    >>> from distillwatch.sim.corpora import find_corpora_dir
    >>> first = teacher_texts(find_corpora_dir(None))[0]
    >>> first.source, first.prompt[:30]
    ('oasst', 'How can I find the best 401k p')
    """
    texts: list[TeacherText] = []
    for name, parse in _PARSERS:
        path = corpora / name
        for number, record in enumerate(_records(path), start=1):
            try:
                texts.extend(parse(record))
            except (KeyError, TypeError, AttributeError) as exc:
                raise IngestError(
                    f"teacher corpus {path} record {number} lacks an expected field "
                    f"({type(exc).__name__}: {exc}); restore the file from shared/data/corpora"
                ) from exc
    return texts


def _answer(prompt: str, text: Any, source: str) -> Iterator[TeacherText]:
    answer = str(text or "").strip()
    if answer:
        yield TeacherText(prompt, answer, source)


def _oasst(node: dict[str, Any], parent: str = "") -> Iterator[TeacherText]:
    """Assistant turns of one tree, each with the prompter turn it replies to."""
    text = str(node["text"] or "")
    if node["role"] == "assistant" and parent and not node.get("deleted"):
        yield from _answer(parent, text, "oasst")
    prompt = text if node["role"] == "prompter" else ""
    for reply in node.get("replies") or []:
        yield from _oasst(reply, prompt)


def _t0(record: dict[str, Any]) -> Iterator[TeacherText]:
    return _answer(str(record["prompt"]), record["completion"], "t0")


def _self_instruct(source: str) -> Callable[[dict[str, Any]], Iterator[TeacherText]]:
    def parse(record: dict[str, Any]) -> Iterator[TeacherText]:
        instruction = str(record["instruction"]).strip()
        for instance in record["instances"]:
            given = str(instance.get("input") or "").strip()
            prompt = f"{instruction}\n\n{given}" if given else instruction
            yield from _answer(prompt, instance["output"], source)

    return parse


_PARSERS: tuple[tuple[str, Callable[[dict[str, Any]], Iterable[TeacherText]]], ...] = (
    (OASST_FILE, _oasst),
    (T0_FILE, _t0),
    (SEED_FILE, _self_instruct("self_instruct_seed")),
    (USER_FILE, _self_instruct("self_instruct_user")),
)


def _records(path: Path) -> list[dict[str, Any]]:
    """The JSON objects of one corpus file; any failure becomes one IngestError."""
    if not path.is_file():
        raise IngestError(
            f"teacher corpus {path} is missing; pass the shared/data/corpora directory "
            "(see find_corpora_dir, or set DISTILLWATCH_CORPORA)"
        )
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            lines = fh.read().splitlines()
        records = [orjson.loads(line) for line in lines if line.strip()]
    except (OSError, EOFError, zlib.error, orjson.JSONDecodeError) as exc:
        raise IngestError(
            f"teacher corpus {path} is unreadable ({exc}); restore it from shared/data/corpora"
        ) from exc
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise IngestError(
                f"teacher corpus {path} record {number} is not a JSON object; "
                "restore the file from shared/data/corpora"
            )
    return records
