"""Corpus selectors: which prompts a persona's users send.

A selector is ``|``-separated parts: ``lottery``, ``trees`` (OASST conversations),
``seed``, ``user`` (all self-instruct user-oriented tasks), ``user:App1,App2`` (those of
these apps), ``t0:dataset1,dataset2`` (T0 items of these datasets), ``pairs`` (a question
with a response to judge).

>>> import random
>>> from distillwatch.sim.corpora import Corpora, find_corpora_dir
>>> corpora = Corpora.load(find_corpora_dir(None))
>>> src = TaskSource.parse(corpora, "user:Leetcode|t0:ag_news")
>>> len(src.draw(random.Random(0)).text) > 10
True
"""

from __future__ import annotations

import random
from collections.abc import Callable

from distillwatch.errors import ConfigError
from distillwatch.sim.corpora import Corpora, Task


class TaskSource:
    """Draws prompts (and whole conversations) for one selector."""

    def __init__(
        self,
        corpora: Corpora,
        selector: str,
        parts: list[Callable[[random.Random], Task]],
        has_trees: bool,
    ) -> None:
        self.corpora = corpora
        self.selector = selector
        self._parts = parts
        self.has_trees = has_trees

    @classmethod
    def parse(cls, corpora: Corpora, selector: str) -> TaskSource:
        """The source described by *selector* (a ConfigError names a bad part)."""
        names = [part.strip() for part in selector.split("|")]
        parts = [_part(corpora, selector, name) for name in names]
        return cls(corpora, selector, parts, "trees" in names)

    def draw(self, rng: random.Random) -> Task:
        return rng.choice(self._parts)(rng)

    def conversation(self, rng: random.Random, followups: tuple[str, ...]) -> list[Task]:
        """A multi-turn exchange: an OASST path when available, else a prompt + follow-ups."""
        if self.has_trees and rng.random() < 0.7:
            path = rng.choice(self.corpora.conversations)
            if len(path) > 1 or rng.random() < 0.5:
                return list(path)
        first = self.draw(rng)
        more = [Task(rng.choice(followups), 0, "followup") for _ in range(rng.randint(1, 2))]
        return [first, *more]


def _pool(tasks: list[Task], selector: str, what: str) -> Callable[[random.Random], Task]:
    if not tasks:
        raise ConfigError(f"corpus selector {selector!r}: {what} matches no prompts")
    return lambda rng: rng.choice(tasks)


def _part(c: Corpora, selector: str, part: str) -> Callable[[random.Random], Task]:
    if part == "lottery":
        return _pool(c.lottery, selector, part)
    if part == "seed":
        return _pool(c.seed, selector, part)
    if part == "trees":
        return _pool([path[0] for path in c.conversations], selector, part)
    if part == "pairs":
        pairs = c.pairs

        def pair(rng: random.Random) -> Task:
            p = rng.choice(pairs)
            text = f"Question: {p.question}\n\nStudent answer: {p.answer}"
            return Task(text, 400, "pairs")

        return pair
    if part == "user":
        return _pool([t for tasks in c.user.values() for t in tasks], selector, part)
    if part.startswith("user:"):
        apps = [a.strip() for a in part[5:].split(",")]
        return _pool([t for a in apps for t in c.user.get(a, [])], selector, part)
    if part.startswith("t0:"):
        names = [n for d in part[3:].split(",") for n in c.by_dataset.get(d.strip(), [])]
        if not names:
            raise ConfigError(f"corpus selector {selector!r}: {part} has no templates")
        return lambda rng: c.t0_item(rng, rng.choice(names))
    raise ConfigError(f"corpus selector part {part!r} is unknown (see docs/simulator.md)")
