"""The real prompt corpora the simulator draws text from, and how to find them.

Corpora live in ``shared/data/corpora`` (see its README): OASST prompts and conversation
trees, self-instruct seed and user-oriented tasks, and T0 templated tasks. T0 gives about
120 items per template; :meth:`Corpora.t0_item` splices the first line of one item's
variable part into another's so large templated jobs need not repeat items verbatim.

>>> import random
>>> c = Corpora.load(find_corpora_dir(None))
>>> len(c.seed) > 100 and len(c.conversations) > 100
True
>>> "\\n" in c.t0_item(random.Random(1), c.t0_templates()[0]).text
True
"""

from __future__ import annotations

import gzip
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from distillwatch.errors import UsageError

CORPUS_FILES = (
    "oasst_prompt_lottery_en_250.jsonl",
    "oasst_en_100_conversations.jsonl.gz",
    "self_instruct_seed_tasks.jsonl",
    "self_instruct_user_oriented.jsonl",
    "t0_templated_tasks.jsonl.gz",
)
ENV_VAR = "DISTILLWATCH_CORPORA"


@dataclass(frozen=True)
class Task:
    """A prompt and the length of a reference answer (0 when the corpus has none)."""

    text: str
    answer_chars: int
    source: str


@dataclass(frozen=True)
class Pair:
    """A question with a reference response (for grading prompts)."""

    question: str
    answer: str


@dataclass(frozen=True)
class T0Template:
    name: str
    dataset: str
    prefix: str
    suffix: str
    middles: tuple[str, ...]
    answer_chars: tuple[int, ...]


@dataclass
class Corpora:
    """All corpus text, loaded once per run."""

    lottery: list[Task]
    #: conversation paths: each a list of user turns with the reply length after each
    conversations: list[list[Task]]
    seed: list[Task]
    user: dict[str, list[Task]]
    pairs: list[Pair]
    templates: dict[str, T0Template]
    by_dataset: dict[str, list[str]] = field(default_factory=dict)
    _singles: list[Task] = field(default_factory=list, repr=False)

    @classmethod
    def load(cls, directory: Path) -> Corpora:
        """Read every corpus file in *directory*."""
        lottery = [
            Task(str(orjson.loads(line)), 0, "lottery")
            for line in _lines(directory / CORPUS_FILES[0])
        ]
        conversations: list[list[Task]] = []
        pairs: list[Pair] = []
        for line in _lines(directory / CORPUS_FILES[1]):
            root = orjson.loads(line)
            for path in _paths(root, [], limit=8):
                conversations.append(path)
            for reply in root.get("replies", [])[:1]:
                pairs.append(Pair(root["text"], reply["text"]))
        seed = [_task(r, "seed") for r in map(orjson.loads, _lines(directory / CORPUS_FILES[2]))]
        user: dict[str, list[Task]] = {}
        for line in _lines(directory / CORPUS_FILES[3]):
            record = orjson.loads(line)
            user.setdefault(str(record.get("motivation_app", "")), []).append(_task(record, "user"))
        for path_name in (CORPUS_FILES[2], CORPUS_FILES[3]):
            for line in _lines(directory / path_name):
                record = orjson.loads(line)
                inst = record["instances"][0]
                pairs.append(Pair(_task(record, "").text, str(inst.get("output", ""))))
        rows: dict[str, list[dict[str, Any]]] = {}
        for line in _lines(directory / CORPUS_FILES[4]):
            record = orjson.loads(line)
            rows.setdefault(record["template"], []).append(record)
        templates = {name: _template(name, items) for name, items in rows.items()}
        for items in rows.values():
            pairs.extend(Pair(r["prompt"], r["completion"]) for r in items[:3])
        by_dataset: dict[str, list[str]] = {}
        for t in templates.values():
            by_dataset.setdefault(t.dataset, []).append(t.name)
        return cls(lottery, conversations, seed, user, pairs, templates, by_dataset)

    def t0_templates(self) -> list[str]:
        return sorted(self.templates)

    def t0_item(self, rng: random.Random, template: str) -> Task:
        """An item of *template*; usually a splice of two real items (see module doc)."""
        t = self.templates[template]
        i = rng.randrange(len(t.middles))
        middle = t.middles[i]
        j = rng.randrange(len(t.middles))
        if j != i:
            _, sep, tail = middle.partition("\n")
            other_head = t.middles[j].partition("\n")[0]
            if sep and other_head:
                middle = other_head + sep + tail
        return Task(t.prefix + middle + t.suffix, t.answer_chars[i], "t0")

    def singles(self) -> list[Task]:
        """Every non-T0 single prompt: lottery, conversation openers, seed and user tasks
        (a new list each call; callers may shuffle it)."""
        if not self._singles:
            openers = {path[0].text: path[0] for path in self.conversations}
            user = [task for tasks in self.user.values() for task in tasks]
            self._singles = [*self.lottery, *openers.values(), *self.seed, *user]
        return list(self._singles)


def _lines(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for line in fh:
            if line.strip():
                yield line


def _task(record: dict[str, Any], source: str) -> Task:
    inst = record["instances"][0]
    text = str(record["instruction"]).strip()
    if inst.get("input"):
        text = f"{text}\n\n{str(inst['input']).strip()}"
    return Task(text, len(str(inst.get("output", ""))), source)


def _paths(node: dict[str, Any], prefix: list[Task], limit: int) -> Iterator[list[Task]]:
    """Root-to-leaf user turns of an OASST tree (prompter -> assistant -> prompter ...)."""
    replies = [r for r in node.get("replies", []) if r.get("role") == "assistant"]
    if not replies:
        yield [*prefix, Task(node["text"], 0, "trees")]
        return
    produced = 0
    for reply in sorted(replies, key=lambda r: (r.get("rank") is None, r.get("rank") or 0))[:2]:
        turn = Task(node["text"], len(reply["text"]), "trees")
        followers = [r for r in reply.get("replies", []) if r.get("role") == "prompter"]
        if not followers:
            yield [*prefix, turn]
            produced += 1
        for follower in followers[:2]:
            for path in _paths(follower, [*prefix, turn], limit):
                yield path
                produced += 1
                if produced >= limit:
                    return


def _common_prefix(texts: list[str]) -> str:
    first, last = min(texts), max(texts)
    n = 0
    while n < len(first) and first[n] == last[n]:
        n += 1
    return first[:n]


def _template(name: str, items: list[dict[str, Any]]) -> T0Template:
    prompts = [str(r["prompt"]) for r in items]
    prefix = _common_prefix(prompts)
    suffix = _common_prefix([p[::-1] for p in prompts])[::-1]
    shortest = min(len(p) for p in prompts)
    if len(prefix) + len(suffix) > shortest:
        suffix = suffix[len(prefix) + len(suffix) - shortest :]
    middles = tuple(p[len(prefix) : len(p) - len(suffix)] for p in prompts)
    return T0Template(
        name=name,
        dataset=str(items[0]["dataset"]),
        prefix=prefix,
        suffix=suffix,
        middles=middles,
        answer_chars=tuple(len(str(r["completion"])) for r in items),
    )


def _candidates(start: Path) -> Iterator[Path]:
    for directory in (start, *start.parents):
        yield directory / "shared" / "data" / "corpora"
        yield directory.parent / "shared" / "data" / "corpora"


def find_corpora_dir(explicit: Path | None) -> Path:
    """The corpora directory: *explicit*, else $DISTILLWATCH_CORPORA, else the first
    ``shared/data/corpora`` found walking up from the working directory or this package."""
    if explicit is not None:
        return _checked(explicit, "--corpora")
    env = os.environ.get(ENV_VAR)
    if env:
        return _checked(Path(env), f"${ENV_VAR}")
    for start in (Path.cwd().resolve(), Path(__file__).resolve().parent):
        for candidate in _candidates(start):
            if (candidate / CORPUS_FILES[0]).is_file():
                return _checked(candidate, "found")
    raise UsageError(
        "no prompt corpora found: pass --corpora DIR or set DISTILLWATCH_CORPORA to the "
        "shared/data/corpora directory"
    )


def _checked(directory: Path, origin: str) -> Path:
    missing = [name for name in CORPUS_FILES if not (directory / name).is_file()]
    if missing:
        raise UsageError(
            f"corpora directory {directory} ({origin}) lacks {', '.join(missing)}; "
            "point --corpora at shared/data/corpora"
        )
    return directory
