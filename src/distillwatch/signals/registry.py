"""The one list of signals. Config files name signals by these ids.

>>> sorted(SIGNALS)[:3]
['automation', 'conversation_shape', 'coverage']
"""

from __future__ import annotations

from collections.abc import Mapping

from distillwatch.signals.automation import Automation
from distillwatch.signals.base import Signal
from distillwatch.signals.conversation import ConversationShape
from distillwatch.signals.coverage import Coverage
from distillwatch.signals.fresh_intent import FreshIntent
from distillwatch.signals.harvest import HarvestParams
from distillwatch.signals.intent import ExtractionIntent
from distillwatch.signals.linkage import Linkage
from distillwatch.signals.peer_intel import PeerIntel
from distillwatch.signals.pivot import ReleasePivot
from distillwatch.signals.provenance import Provenance
from distillwatch.signals.repetition import Repetition
from distillwatch.signals.templates import Templates
from distillwatch.signals.volume import Volume

SIGNALS: dict[str, type[Signal]] = {
    cls.id: cls
    for cls in (
        Volume,
        Automation,
        HarvestParams,
        ConversationShape,
        Templates,
        ExtractionIntent,
        FreshIntent,
        Coverage,
        Repetition,
        Provenance,
        ReleasePivot,
        Linkage,
        PeerIntel,
    )
}

#: Signals that only make sense for a group of accounts.
CAMPAIGN_ONLY = frozenset({"linkage"})


def build_signals(params: Mapping[str, Mapping[str, float]], *, campaign: bool) -> list[Signal]:
    """Instantiate every registered signal with its configured parameters."""
    return [
        cls(params.get(sid, {}))
        for sid, cls in SIGNALS.items()
        if campaign or sid not in CAMPAIGN_ONLY
    ]
