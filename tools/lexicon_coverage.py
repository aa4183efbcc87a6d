"""How often the provenance lexicon occurs in teacher texts.

For each source: lexicon occurrences per 1,000 words (lowercased word tokens, longest phrase
first, phrases within one line of text) and how many distinct groups occur at least 5 times.

    .venv/bin/python tools/lexicon_coverage.py [--corpora DIR] [--lexicon FILE] [--top N]

Sources: the assistant turns of ``oasst_en_100_conversations.jsonl.gz`` (a tree of
``role``/``text``/``replies`` dicts) and the ``completion`` of ``t0_templated_tasks.jsonl.gz``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillwatch.provenance.lexicon import Lexicon, load_lexicon

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "data" / "corpora"
_WORD = re.compile(r"(?<![\w'-])[a-z]+(?:['-][a-z]+)*(?![\w'-])")


@dataclass(frozen=True)
class Coverage:
    source: str
    words: int
    occurrences: int
    per_group: Counter[int]

    @property
    def per_1000(self) -> float:
        return 1000.0 * self.occurrences / max(self.words, 1)

    def groups_at_least(self, n: int) -> int:
        return sum(1 for c in self.per_group.values() if c >= n)


def tokens(text: str) -> list[str]:
    """Lowercased word tokens; a curly apostrophe counts as a straight one.

    >>> tokens("It\u2019s OK -- don't panic, e-mail me.")
    ["it's", 'ok', "don't", 'panic', 'e-mail', 'me']
    """
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def count(texts: Iterator[str], lexicon: Lexicon, source: str) -> Coverage:
    """Longest-match occurrences of the lexicon in ``texts``."""
    words = occ = 0
    per_group: Counter[int] = Counter()
    for text in texts:
        for line in text.splitlines():
            toks = tokens(line)
            words += len(toks)
            i = 0
            while i < len(toks):
                for n in range(min(lexicon.max_words, len(toks) - i), 0, -1):
                    ref = lexicon.lookup(tuple(toks[i : i + n]))
                    if ref is not None:
                        per_group[ref[0]] += 1
                        occ += 1
                        i += n
                        break
                else:
                    i += 1
    return Coverage(source, words, occ, per_group)


def _assistant_turns(node: dict[str, Any]) -> Iterator[str]:
    if node.get("role") == "assistant" and isinstance(node.get("text"), str):
        yield node["text"]
    for child in node.get("replies") or []:
        yield from _assistant_turns(child)


def oasst(path: Path) -> Iterator[str]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            yield from _assistant_turns(json.loads(line))


def t0(path: Path) -> Iterator[str]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            completion = json.loads(line).get("completion")
            if isinstance(completion, str):
                yield completion


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpora", type=Path, default=CORPORA)
    ap.add_argument("--lexicon", type=Path, default=None, help="default: the shipped lexicon")
    ap.add_argument("--top", type=int, default=0, help="also list the N most frequent groups")
    args = ap.parse_args()
    lex = load_lexicon(args.lexicon)
    print(f"lexicon: {len(lex.groups)} groups, longest variant {lex.max_words} words")
    sources = [
        ("oasst assistant turns", oasst(args.corpora / "oasst_en_100_conversations.jsonl.gz")),
        ("t0 completions", t0(args.corpora / "t0_templated_tasks.jsonl.gz")),
    ]
    for name, texts in sources:
        cov = count(texts, lex, name)
        print(
            f"{name}: {cov.words} words, {cov.occurrences} occurrences, "
            f"{cov.per_1000:.1f} per 1,000 words, {cov.groups_at_least(5)} groups with >= 5, "
            f"{len(cov.per_group)} groups seen"
        )
        by_kind: Counter[str] = Counter()
        for gid, n in cov.per_group.items():
            by_kind[lex.groups[gid].kind] += n
        shares = ", ".join(f"{k} {1000.0 * n / max(cov.words, 1):.1f}" for k, n in by_kind.items())
        print(f"  per 1,000 words by kind: {shares}")
        for gid, n in cov.per_group.most_common(args.top):
            print(f"  {n:6d}  {' / '.join(' '.join(v) for v in lex.groups[gid].variants)}")


if __name__ == "__main__":
    main()
