"""The personas of the simulated traffic, by name (the registry config files refer to).

>>> sorted(PERSONAS)[:3]
['aggregator', 'app_backend', 'batch_classifier']
"""

from __future__ import annotations

from distillwatch.sim.personas.aggregator import Aggregator
from distillwatch.sim.personas.app_backend import AppBackend
from distillwatch.sim.personas.base import Account, Persona
from distillwatch.sim.personas.batch import BatchClassifier
from distillwatch.sim.personas.campus import CampusStudent
from distillwatch.sim.personas.casual import CasualChat
from distillwatch.sim.personas.cot_harvest import CotHarvest
from distillwatch.sim.personas.developer import Developer
from distillwatch.sim.personas.eval_research import EvalResearcher
from distillwatch.sim.personas.heavy_topic import HeavySingleTopic
from distillwatch.sim.personas.hydra import Hydra
from distillwatch.sim.personas.paraphrase import ParaphraseMultilingual
from distillwatch.sim.personas.raw_tasks import RawTasks
from distillwatch.sim.personas.release_pivot import ReleasePivot
from distillwatch.sim.personas.reseller_mix import ResellerMix
from distillwatch.sim.personas.rubric import RubricHarvest
from distillwatch.sim.personas.synthetic import SyntheticData

PERSONAS: dict[str, type[Persona]] = {
    cls.name: cls
    for cls in (
        CasualChat,
        Developer,
        BatchClassifier,
        EvalResearcher,
        CampusStudent,
        AppBackend,
        Aggregator,
        HeavySingleTopic,
        CotHarvest,
        Hydra,
        ParaphraseMultilingual,
        ResellerMix,
        RawTasks,
        ReleasePivot,
        RubricHarvest,
        SyntheticData,
    )
}

__all__ = ["PERSONAS", "Account", "Persona"]
