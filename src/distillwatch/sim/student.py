"""A simulated student: a word n-gram language model trained on harvested answers.

The attacker's cheap student is an interpolated Kneser-Ney model over word tokens
(orders 1..``order``). Tokens: words keep their case and internal apostrophes or hyphens
(``don't``, ``well-known``), numbers keep internal ``.``/``,``/``:`` (``3.5``, ``2,000``),
dotted abbreviations stay whole (``e.g.``), every other non-space character is its own
token, and each line break is a token. Each training text is one document, framed by
``<s>`` padding and an ``</s>`` end token.

Sampling is exact for the interpolated distribution: at a context, with the discounted
mass of what followed it a seen continuation is drawn (``count - discount``), otherwise
the model backs off to the shorter context; below unigrams it draws uniformly from the
vocabulary. Per context, the discounted counts sit in one cumulative array, so a draw is
one dictionary lookup and one binary search per order tried.

>>> student = NGramStudent(order=2).fit(["The cat sat.", "The cat ran."] * 20)
>>> text = student.generate(6, seed=1)
>>> set(tokenize(text)) <= {"The", "cat", "sat", "ran", ".", "\\n"}
True
"""

from __future__ import annotations

import random
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from distillwatch.errors import UsageError

BOS = "<s>"
EOS = "</s>"
_BOS_ID = 0
_EOS_ID = 1

_TOKEN = re.compile(
    r"(?:[^\W\d_]\.){2,}"  # dotted abbreviations: e.g. i.e. U.S.
    r"|\d+(?:[.,:]\d+)+"  # numbers with internal separators: 3.5 2,000 10:30
    r"|[^\W_]+(?:['\u2019\-][^\W_]+)*"  # words with internal apostrophes or hyphens
    r"|\n"  # a line break
    r"|\S",  # any other character on its own
)
_NO_SPACE_BEFORE = frozenset(",.;:!?)]}%'\u2019\u201d\u2026/_")
_NO_SPACE_AFTER = frozenset("([{$\u201c\u2018/_")
_QUOTES = frozenset('"')
_APOSTROPHES = frozenset("'\u2019")
_CLITICS = frozenset(("s", "re", "ve", "ll", "d", "m", "t"))


def tokenize(text: str) -> list[str]:
    """The student's tokens of *text* (see the module docstring).

    >>> tokenize("Don't panic: it's well-known (e.g. 3.5%).\\nOk")
    ["Don't", 'panic', ':', "it's", 'well-known', '(', 'e.g.', '3.5', '%', ')', '.', '\\n', 'Ok']
    """
    return _TOKEN.findall(text.replace("\r\n", "\n"))


def detokenize(tokens: Iterable[str]) -> str:
    """Join *tokens* readably: no space before closing punctuation, none after opening
    brackets, none around line breaks; straight double quotes alternate open/close.

    >>> detokenize(["Hi", ",", "(", "you", ")", '"', "ok", '"', "!", "\\n", "Next"])
    'Hi, (you) "ok"!\\nNext'
    """
    out: list[str] = []
    prev = "\n"
    quote_open = False
    for tok in tokens:
        space = True
        if tok == "\n" or prev == "\n" or prev in _NO_SPACE_AFTER or tok in _NO_SPACE_BEFORE:
            space = False
        elif tok in _QUOTES:
            space = not quote_open
        elif prev in _QUOTES and quote_open:
            space = False
        elif len(tok) == 1 and tok == prev and not tok.isalnum():
            space = False  # runs such as ** or --
        elif (tok.lower() in _CLITICS and prev in _APOSTROPHES) or tok.lower() == "n't":
            space = False  # pre-split contractions in the corpora: it ' s, did n't
        if tok in _QUOTES:
            quote_open = not quote_open
        if space:
            out.append(" ")
        out.append(tok)
        prev = tok
    return "".join(out)


class NGramStudent:
    """Interpolated Kneser-Ney word n-gram model that can be fitted and sampled.

    Highest order uses raw counts, lower orders continuation counts (how many distinct
    words preceded the n-gram); one absolute ``discount`` for all orders.

    >>> s = NGramStudent(order=3, discount=0.5).fit(["one two three four ."] * 50)
    >>> s.generate(4, seed=0, prompt="one two")
    'three four.\\n\\none two'
    >>> round(s.prob("three", ["one", "two"]), 3)
    0.996
    """

    def __init__(self, order: int = 3, discount: float = 0.75) -> None:
        self.order = order
        self.discount = discount

    # ------------------------------------------------------------------ fitting
    def fit(self, texts: Iterable[str]) -> NGramStudent:
        """Count n-grams of every text (each text one document) and build the sampler."""
        if not isinstance(self.order, int) or self.order < 1:
            raise UsageError(f"order must be a positive integer, got {self.order!r}")
        if not 0.0 < self.discount <= 1.0:
            raise UsageError(f"discount must be in (0, 1], got {self.discount!r}")
        pad = self.order - 1
        ids: dict[str, int] = {BOS: _BOS_ID, EOS: _EOS_ID}
        stream: list[int] = []
        n_docs = 0
        for text in texts:
            tokens = tokenize(text.strip())
            if not tokens:
                continue
            n_docs += 1
            stream.extend([_BOS_ID] * pad)
            stream.extend(ids.setdefault(tok, len(ids)) for tok in tokens)
            stream.append(_EOS_ID)
        if n_docs == 0:
            raise UsageError("fit() got no text with any token; pass the teacher texts")
        arr = np.asarray(stream, dtype=np.int32)
        ends = np.flatnonzero(arr != _BOS_ID)  # every position that is predicted
        grams = np.stack([arr[ends - pad + j] for j in range(self.order)], axis=1)
        self.ids_: dict[str, int] = ids
        self.vocab_: list[str] = list(ids)
        self.is_word_: list[bool] = [tok[0].isalnum() for tok in self.vocab_]
        self.is_word_[_BOS_ID] = self.is_word_[_EOS_ID] = False
        self.index_: list[dict[tuple[int, ...], int]] = [{} for _ in range(self.order)]
        self.levels_: list[_Level] = [_Level.empty() for _ in range(self.order)]
        rows, counts = _unique_rows(grams)
        for m in range(self.order - 1, -1, -1):  # m = context length
            self.index_[m], self.levels_[m] = _level(rows, counts, self.discount)
            if m:
                rows, counts = _unique_rows(rows[:, 1:])  # counts = distinct left words
        return self

    @property
    def vocabulary_size(self) -> int:
        """Distinct tokens seen in training (boundary markers excluded)."""
        return len(self._fitted().vocab_) - 2

    def prob(self, token: str, context: Sequence[str] = ()) -> float:
        """P(*token* | the last order-1 tokens of *context*) under the interpolated model;
        the empty context (or fewer tokens) is padded with ``<s>``."""
        ids = self._fitted().ids_
        target = ids.get(token)
        if target is None or target == _BOS_ID:
            return 0.0
        hist = self._context([ids.get(tok, -1) for tok in context])
        p = 1.0 / (len(self.vocab_) - 1)
        for m in range(self.order):
            i = self.index_[m].get(tuple(hist[len(hist) - m :]) if m else ())
            if i is None:
                continue
            lv = self.levels_[m]
            start, end, total = lv.start[i], lv.end[i], lv.total[i]
            below = lv.cum[start - 1] if start else 0.0
            mass = lv.cum[end - 1] - below
            c = 0.0
            for j in range(start, end):
                if lv.next[j] == target:
                    c = lv.cum[j] - (lv.cum[j - 1] if j else 0.0)
            p = c / total + (total - mass) / total * p
        return p

    # --------------------------------------------------------------- generation
    def generate(self, n_words: int, *, seed: int, prompt: str = "") -> str:
        """Sample text holding *n_words* word tokens (punctuation and line breaks are
        emitted but not counted). The first context is the last order-1 tokens of
        *prompt* (not repeated in the output). When a document ends, a blank line is
        written and a new document starts from ``<s>``; leading and trailing whitespace
        is stripped. Same seed and prompt, same text.

        The random stream is seeded with *seed* and *prompt* together: chains that share a
        stream couple (a back-off draw lands on the same word whatever the context, and
        from then on they agree), so one seed with different prompts must not share it."""
        return detokenize(self._generate(_rng(seed, prompt), n_words, prompt)).strip()

    def generate_tokens(self, n_words: int, *, seed: int, prompt: str = "") -> list[str]:
        """The tokens :meth:`generate` joins (a document end appears as two ``"\\n"``)."""
        return self._generate(_rng(seed, prompt), n_words, prompt)

    def generate_many(
        self, n_texts: int, words_per_text: int, *, seed: int, prompts: Sequence[str] = ()
    ) -> list[str]:
        """*n_texts* samples from one random stream seeded with *seed*; text ``i`` starts
        from ``prompts[i % len(prompts)]`` when prompts are given."""
        rng = random.Random(seed)
        return [
            detokenize(
                self._generate(rng, words_per_text, prompts[i % len(prompts)] if prompts else "")
            ).strip()
            for i in range(n_texts)
        ]

    def _generate(self, rng: random.Random, n_words: int, prompt: str) -> list[str]:
        ids = self._fitted().ids_
        if n_words > 0 and not any(self.is_word_):
            raise UsageError("the student saw no word in training; fit it on text with words")
        hist = self._context([ids.get(tok, -1) for tok in tokenize(prompt)])
        bos_hist = [_BOS_ID] * (self.order - 1)
        vocab, is_word, order = self.vocab_, self.is_word_, self.order
        index, levels = self.index_, self.levels_
        n_pred = len(vocab) - 1
        out: list[str] = []
        words = 0
        while words < n_words:
            tok = -1
            for m in range(order - 1, -1, -1):
                i = index[m].get(tuple(hist[order - 1 - m :]) if m else ())
                if i is None:
                    continue
                lv = levels[m]
                x = lv.base[i] + rng.random() * lv.total[i]
                if x < lv.limit[i]:
                    tok = lv.next[bisect_right(lv.cum, x, lv.start[i], lv.end[i])]
                    break
            if tok < 0:
                tok = 1 + rng.randrange(n_pred)
            if tok == _EOS_ID:
                if out:
                    out.extend(("\n", "\n"))
                hist = list(bos_hist)
                continue
            out.append(vocab[tok])
            words += is_word[tok]
            if order > 1:
                hist.append(tok)
                del hist[0]
        return out

    def _context(self, ids: list[int]) -> list[int]:
        pad = self.order - 1
        if pad == 0:
            return []
        tail = ids[-pad:]
        return [_BOS_ID] * (pad - len(tail)) + tail

    def _fitted(self) -> NGramStudent:
        if not hasattr(self, "levels_"):
            raise UsageError("the student is not trained: call fit(texts) before using it")
        return self


def _rng(seed: int, prompt: str) -> random.Random:
    return random.Random(f"{seed}\x00{prompt}" if prompt else seed)


class _Level:
    """Per-context sampling tables of one order, as plain lists for fast scalar access.

    For context ``i``: its continuations are ``next[start[i]:end[i]]`` with running sums
    ``cum`` of ``count - discount`` over the whole level; ``base[i]`` is the running sum
    before ``start[i]``, ``total[i]`` the context's count and ``limit[i]`` the running sum
    at its last continuation.
    """

    __slots__ = ("base", "cum", "end", "limit", "next", "start", "total")

    def __init__(
        self,
        next_: list[int],
        cum: list[float],
        start: list[int],
        end: list[int],
        base: list[float],
        limit: list[float],
        total: list[float],
    ) -> None:
        self.next = next_
        self.cum = cum
        self.start = start
        self.end = end
        self.base = base
        self.limit = limit
        self.total = total

    @classmethod
    def empty(cls) -> _Level:
        return cls([], [], [], [], [], [], [])


def _unique_rows(
    rows: npt.NDArray[np.int32],
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """Distinct rows in lexicographic order and how often each occurs."""
    perm = np.lexsort(rows.T[::-1])
    ordered = rows[perm]
    new = np.ones(len(ordered), dtype=bool)
    new[1:] = np.any(ordered[1:] != ordered[:-1], axis=1)
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, len(ordered))).astype(np.int64)
    return ordered[starts], counts


def _level(
    rows: npt.NDArray[np.int32], counts: npt.NDArray[np.int64], discount: float
) -> tuple[dict[tuple[int, ...], int], _Level]:
    """Sampling tables for distinct sorted n-gram *rows* (context = all but the last
    column) with their *counts*."""
    ctx = rows[:, :-1]
    new = np.ones(len(rows), dtype=bool)
    if ctx.shape[1]:
        new[1:] = np.any(ctx[1:] != ctx[:-1], axis=1)
    else:
        new[1:] = False
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(rows))
    cum = np.cumsum(counts.astype(np.float64) - discount)
    base = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0.0)
    totals = np.add.reduceat(counts, starts).astype(np.float64)
    keys = ctx[starts].tolist()
    index = {tuple(key): i for i, key in enumerate(keys)}
    level = _Level(
        next_=rows[:, -1].tolist(),
        cum=cum.tolist(),
        start=starts.tolist(),
        end=ends.tolist(),
        base=base.tolist(),
        limit=cum[ends - 1].tolist(),
        total=totals.tolist(),
    )
    return index, level
