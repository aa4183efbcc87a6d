"""Peer intel: the account's traffic matches indicators that peer providers published.

Reads the per-account columns of ``intel.match.Matches.features``: the share and number
of the account's requests whose prompt head or tail matches a peer's template
fingerprint, and how many of the peer's payment / residential IP / residential prefix /
hosting range indicators it matched, with the highest confidence among them. Each kind
has its own strength (a shared payment instrument is strong, a hosting range weak: a
cloud range holds many honest customers), combined as a noisy-or and scaled by the
publishers' confidence. Without intel (the columns absent) every account scores 0.

**Peers' intel raises risk; it never flags an account on its own.** The risk model adds
``weight * score`` to the account's log-odds like any signal, then
:func:`bounded_peer_risk` applies the rule (the pipeline calls it after
``RiskModel.risk``; configuration in ``config/signals.toml`` ``[peer]``: weight 6.0,
``floor`` 0.25, ``cap`` 6.0, chosen on training runs of ``demo sharing``):

1. the contribution is capped at ``cap`` log-odds;
2. an account whose risk *without* peer intel is below ``floor`` gets the raised risk
   (so analysts see it ranked higher) but held strictly below the flag threshold.

So only an account whose own traffic already makes it at least 1 in 4 an extractor can
be pushed over the threshold by a peer's match (which multiplies its odds by at most
``e**cap``); a peer alone (a shared hosting range, a template also used by an honest
batch job) never flags anyone.

>>> import numpy as np
>>> sig = PeerIntel()
>>> f = {c: np.array([PeerIntel.positive[c], PeerIntel.negative[c]]) for c in sig.inputs}
>>> sig.score(f).round(2).tolist()
[0.92, 0.1]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from distillwatch.signals.base import Array, Evidence, Features, Signal, col, noisy_or, ramp

#: log-odds per unit of score (``[peer] weight``)
DEFAULT_WEIGHT = 6.0
#: risk without peer intel below which a peer match can never flag (see module docstring)
DEFAULT_FLOOR = 0.25
#: most log-odds peer intel may add
DEFAULT_CAP = 6.0
#: indicator ids / publishers / campaigns listed in the evidence at most
MAX_LISTED = 5


@dataclass(frozen=True)
class PeerIntelEvidence(Evidence):
    #: the matched peer indicators (``indicator--...``), publishers and campaigns
    indicator_ids: tuple[str, ...]
    publishers: tuple[str, ...]
    campaigns: tuple[str, ...]
    n_indicators: int
    template_share: float
    template_requests: int
    #: infrastructure / payment kinds matched, e.g. ("payment-fingerprint",)
    infra: tuple[str, ...]
    max_confidence: int


_INFRA = (
    ("pi_payment", "payment-fingerprint", "w_payment"),
    ("pi_ip_address", "ip-address", "w_ip_address"),
    ("pi_ip_prefix", "ip-prefix", "w_ip_prefix"),
    ("pi_hosting", "hosting-range", "w_hosting"),
)


def _listed(f: Features, name: str, i: int) -> tuple[str, ...]:
    values = f.get(name)
    if values is None or len(values) <= i or not isinstance(values[i], tuple | list):
        return ()
    return tuple(str(v) for v in values[i])


class PeerIntel(Signal):
    id = "peer_intel"
    fitted = False
    title = "Matches indicators shared by peer providers"
    inputs = (
        "pi_template_share",
        "pi_template_n",
        "pi_payment",
        "pi_ip_address",
        "pi_ip_prefix",
        "pi_hosting",
        "pi_confidence",
    )
    #: evidence-only columns (tuples of strings per account), read when present
    evidence_inputs = ("pi_indicator_ids", "pi_publishers", "pi_campaigns")
    defaults = {
        "share_lo": 0.02,
        "share_hi": 0.25,
        "n_hi": 10.0,
        "w_payment": 0.9,
        "w_ip_address": 0.6,
        "w_ip_prefix": 0.35,
        "w_hosting": 0.15,
        "conf_base": 0.5,
    }
    # a fleet account: most prompts in a peer's wrapper, on the peer's card
    positive = {
        "pi_template_share": 0.8,
        "pi_template_n": 800,
        "pi_payment": 1,
        "pi_ip_address": 0,
        "pi_ip_prefix": 0,
        "pi_hosting": 0,
        "pi_confidence": 85,
    }
    # an honest customer of a cloud provider whose range a peer listed, low confidence
    negative = {
        "pi_template_share": 0.0,
        "pi_template_n": 0,
        "pi_payment": 0,
        "pi_ip_address": 0,
        "pi_ip_prefix": 0,
        "pi_hosting": 1,
        "pi_confidence": 30,
    }

    def score(self, f: Features) -> Array:
        if any(c not in f for c in self.inputs):
            n = len(next(iter(f.values()))) if f else 0
            return np.zeros(n, dtype=np.float64)
        template = ramp(col(f, "pi_template_share"), self.p("share_lo"), self.p("share_hi"))
        template = template * ramp(col(f, "pi_template_n"), 0.0, self.p("n_hi"))
        parts = [template]
        for column, _, weight in _INFRA:
            parts.append(self.p(weight) * np.minimum(col(f, column), 1.0).clip(0.0))
        conf = np.clip(col(f, "pi_confidence") / 100.0, 0.0, 1.0)
        base = self.p("conf_base")
        return noisy_or(*parts) * (base + (1.0 - base) * conf)

    def evidence(self, f: Features, i: int) -> PeerIntelEvidence:
        ids = _listed(f, "pi_indicator_ids", i)
        return PeerIntelEvidence(
            indicator_ids=ids[:MAX_LISTED],
            publishers=_listed(f, "pi_publishers", i)[:MAX_LISTED],
            campaigns=_listed(f, "pi_campaigns", i)[:MAX_LISTED],
            n_indicators=len(ids),
            template_share=float(col(f, "pi_template_share")[i]),
            template_requests=int(col(f, "pi_template_n")[i]),
            infra=tuple(kind for column, kind, _ in _INFRA if col(f, column)[i] > 0),
            max_confidence=int(col(f, "pi_confidence")[i]),
        )

    def summary(self, ev: Any) -> str:
        what = []
        if ev.template_requests:
            what.append(f"a peer's prompt template on {ev.template_share:.0%} of requests")
        what.extend(ev.infra)
        who = ", ".join(ev.publishers) or "a peer"
        first = f" (e.g. {ev.indicator_ids[0]})" if ev.indicator_ids else ""
        return (
            f"matches {max(ev.n_indicators, 1)} indicator(s) shared by {who}{first}: "
            + ("; ".join(what) or "no details")
            + f"; confidence {ev.max_confidence}"
        )


def peer_settings(extra: Mapping[str, Any]) -> tuple[float, float, float]:
    """``(weight, floor, cap)`` from a scan config's ``[peer]`` table (``cfg.extra``).

    >>> peer_settings({"peer": {"floor": 0.3}})
    (6.0, 0.3, 6.0)
    """
    conf = extra.get("peer", {})
    return (
        float(conf.get("weight", DEFAULT_WEIGHT)),
        float(conf.get("floor", DEFAULT_FLOOR)),
        float(conf.get("cap", DEFAULT_CAP)),
    )


def bounded_peer_risk(
    own_logit: Sequence[float] | Array,
    peer_contribution: Sequence[float] | Array,
    *,
    threshold: float,
    floor: float = DEFAULT_FLOOR,
    cap: float = DEFAULT_CAP,
) -> tuple[Array, Array]:
    """(risk, applied contribution) under the "never flags alone" rule.

    ``own_logit`` is the account's log-odds from every other signal (``bias`` plus their
    contributions), ``peer_contribution`` is ``weight * score`` of ``peer_intel``.

    >>> risk, c = bounded_peer_risk([-6.0, -1.5, 1.0], [6.0] * 3, threshold=0.98, cap=6.0)
    >>> (risk >= 0.98).tolist(), c.round(2).tolist()
    ([False, False, True], [6.0, 5.39, 6.0])
    """
    if not 0.0 < floor < threshold < 1.0:
        raise ValueError(f"need 0 < floor < threshold < 1, got floor={floor}, {threshold=}")
    own = np.asarray(own_logit, dtype=np.float64)
    add = np.clip(np.asarray(peer_contribution, dtype=np.float64), 0.0, cap)
    logit = own + add
    below_floor = own < np.log(floor / (1.0 - floor))
    # just below the threshold's log-odds, so that sigmoid stays under the threshold
    limit = np.nextafter(np.log(threshold / (1.0 - threshold)), -np.inf) - 1e-9
    logit = np.where(below_floor, np.minimum(logit, np.maximum(limit, own)), logit)
    risk = 1.0 / (1.0 + np.exp(-np.clip(logit, -40.0, 40.0)))
    return np.asarray(risk, dtype=np.float64), np.asarray(logit - own, dtype=np.float64)
