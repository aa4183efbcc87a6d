"""Test a suspect model's texts for the mark of a key.

Every eligible, active lexicon occurrence in the suspect's texts is a *position*
``(group, context)``. Repeated positions are counted once: their variant is the one the
suspect used most often there (the first seen on a tie). At each position the statistic asks
whether the suspect used the variant the key picks, and weighs the answer by how rarely
the suspect produced that position: a context a student produces once is usually one it
memorised from a particular training text, so what it says there carries the choice of
that text; a context it produces everywhere reflects its general habits. The weight is
``max(1, round(4 / count))`` (4, 2, 1, 1, ...), a function of the suspect's texts alone.

Under the null hypothesis (the suspect never saw text marked with this key) the suspect's
words do not depend on the key, and the key's pick at each distinct position is uniform
over the group's ``k`` variants and independent of every other position (a keyed
pseudo-random function). So the number of matches over ``n_k`` positions of ``k``
variants is a sum of independent Binomial(n_k, 1/k) variables, whatever the suspect's own
preferences. The statistic ``T = sum of weight x match`` is then a weighted sum of
independent Bernoulli(1/k) variables with weights that do not depend on the key, and the
p-value ``P(T >= observed)`` is computed exactly from that distribution.

With a ledger, only positions that were actually served marked are scored; which
positions those are comes from bytes of the HMAC that are independent of the pick, so the
null distribution is the same and the test gains power.

>>> pmf_tail({(2, 1): 10}, 10)  # ten two-way positions of weight 1, all matched: 2 ** -10
0.0009765625
>>> pmf_tail({(2, 4): 1, (2, 1): 1}, 4)  # weights 4 and 1: T >= 4 iff the first matched
0.5
>>> [round(p, 3) for p in holm([0.01, 0.04, 0.03])]
[0.03, 0.06, 0.06]
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from distillwatch.errors import ProvenanceError
from distillwatch.provenance.keys import ProvenanceKey
from distillwatch.provenance.lexicon import Lexicon
from distillwatch.provenance.text import occurrences

_TINY = -745.0  # log of the smallest positive double: pmf terms below it are zero
RARITY_WEIGHT = 4  # a position produced once weighs 4, twice 2, three times or more 1


@dataclass(frozen=True)
class KeyTest:
    """The test of one key on a suspect's texts."""

    key_id: str
    texts: int
    occurrences: int  # eligible, active occurrences before counting repeats once
    positions: int  # distinct positions scored
    matches: int  # positions where the suspect used the key's pick
    statistic: int  # the weighted matches
    expected: float  # the statistic's mean under the null
    z: float  # (statistic - expected) / its standard deviation under the null
    p_value: float
    p_adjusted: float = math.nan  # Holm-Bonferroni over the keys tested together
    ledger: bool = False  # scored only positions the ledger says were marked

    @property
    def match_rate(self) -> float:
        return self.matches / self.positions if self.positions else math.nan

    def significant(self, alpha: float) -> bool:
        p = self.p_value if math.isnan(self.p_adjusted) else self.p_adjusted
        return p < alpha


def _log_binom_pmf(n: int, p: float) -> np.ndarray:
    j = np.arange(n + 1)
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    out: np.ndarray = (
        log_fact[n] - log_fact[j] - log_fact[n - j] + j * math.log(p) + (n - j) * math.log1p(-p)
    )
    return out


def weight(count: int) -> int:
    """The weight of a position the suspect produced ``count`` times."""
    return max(1, round(RARITY_WEIGHT / count))


def pmf_tail(counts: dict[tuple[int, int], int], observed: int) -> float:
    """``P(T >= observed)`` for T the sum over ``counts = {(k, w): n}`` of ``w`` times a
    Binomial(n, 1/k).

    Exact up to floating point: each pmf is cut to the range where its terms are
    representable, spread onto multiples of its weight, then the pmfs are convolved.
    """
    pmf = np.ones(1)
    offset = 0
    for (k, w), n in sorted(counts.items()):
        if n == 0:
            continue
        log_pmf = _log_binom_pmf(n, 1.0 / k)
        keep = np.nonzero(log_pmf > _TINY)[0]
        lo, hi = int(keep[0]), int(keep[-1])
        spread = np.zeros((hi - lo) * w + 1)
        spread[::w] = np.exp(log_pmf[lo : hi + 1])
        pmf = np.convolve(pmf, spread)
        offset += lo * w
    index = max(0, observed - offset)
    if index >= len(pmf):
        return 0.0
    return float(min(1.0, pmf[index:].sum()))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


Position = tuple[int, str]  # (group, canonical context)


@dataclass(frozen=True)
class Observed:
    """What a suspect's texts show, before any key is applied: for each distinct position,
    how often each variant was used. Reading the texts is the costly part; testing many
    keys reuses one Observed."""

    texts: int
    counts: dict[Position, Counter[int]]
    context_words: int


def observe(texts: Iterable[str], lexicon: Lexicon, context_words: int) -> Observed:
    """Count the variants used at each eligible position of ``texts``."""
    counts: dict[Position, Counter[int]] = {}
    n = 0
    for text in texts:
        n += 1
        for occ in occurrences(text, lexicon, context_words):
            if occ.eligible:
                counts.setdefault((occ.group, occ.context), Counter())[occ.variant] += 1
    return Observed(n, counts, context_words)


def test_key(
    observed: Observed,
    key: ProvenanceKey,
    lexicon: Lexicon,
    *,
    ledger: set[int] | None = None,
    strength: float | None = None,
) -> KeyTest:
    """The statistic and exact p-value of ``key`` on what was ``observed``."""
    if observed.context_words != key.context_words:
        raise ProvenanceError(
            f"key {key.key_id} reads {key.context_words} context word(s); the texts were "
            f"read with {observed.context_words}"
        )
    level = key.strength if strength is None else strength
    counts: Counter[tuple[int, int]] = Counter()
    matches = statistic = n_occ = 0
    for (group, context), used in observed.counts.items():
        if lexicon.groups[group].kind not in key.kinds:
            continue
        k = len(lexicon.groups[group].variants)
        pick, activation, digest = key.position(group, context, k)
        if activation >= level or (ledger is not None and digest not in ledger):
            continue
        total = used.total()
        w = weight(total)
        counts[k, w] += 1
        n_occ += total
        hit = used.most_common(1)[0][0] == pick  # most used; first seen on a tie
        matches += hit
        statistic += w * hit
    positions = sum(counts.values())
    expected = sum(n * w / k for (k, w), n in counts.items())
    var = sum(n * w * w * (1 / k) * (1 - 1 / k) for (k, w), n in counts.items())
    z = (statistic - expected) / math.sqrt(var) if var > 0 else 0.0
    p = pmf_tail(dict(counts), statistic) if positions else 1.0
    return KeyTest(
        key.key_id,
        observed.texts,
        n_occ,
        positions,
        matches,
        statistic,
        expected,
        z,
        p,
        ledger=ledger is not None,
    )


test_key.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def test_keys(
    texts: Sequence[str],
    keys: Sequence[ProvenanceKey],
    lexicon: Lexicon,
    *,
    ledgers: dict[str, set[int]] | None = None,
) -> list[KeyTest]:
    """Each key's test on ``texts``, with Holm-Bonferroni adjusted p-values across keys."""
    ledgers = ledgers or {}
    seen: dict[int, Observed] = {}
    results = []
    for k in keys:
        if k.context_words not in seen:
            seen[k.context_words] = observe(texts, lexicon, k.context_words)
        results.append(test_key(seen[k.context_words], k, lexicon, ledger=ledgers.get(k.key_id)))
    adjusted = holm([r.p_value for r in results])
    return [replace(r, p_adjusted=a) for r, a in zip(results, adjusted, strict=True)]


test_keys.__test__ = False  # type: ignore[attr-defined]
