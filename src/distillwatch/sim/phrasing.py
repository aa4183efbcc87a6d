"""Text wrapped around corpus prompts (``sim/data/phrasings.toml``).

Benign and attack phrasings share vocabulary on purpose; see the data file.

>>> import random
>>> p = load_phrasings()
>>> rng = random.Random(5)
>>> "TASK" in p.extraction_prompt(rng, "de", "TASK")
True
>>> p.humanize(random.Random(1), "Hello there", 0.0)
'Hello there'
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from distillwatch.errors import ConfigError
from distillwatch.sim.tomldata import as_probability, as_str, as_str_list, as_table, load_data


@dataclass(frozen=True)
class AppSpec:
    """One app behind an app_backend account."""

    kind: str
    system: str
    source: str
    multi_turn: float


@dataclass(frozen=True)
class Grammar:
    """lead + action(obj) + fmt, or lead + task + ask: a small paraphrase grammar."""

    parts: dict[str, tuple[str, ...]]

    def part(self, rng: random.Random, name: str) -> str:
        return rng.choice(self.parts[name])


def _app(raw: Any) -> AppSpec:
    t = as_table(raw, "apps.app")
    return AppSpec(
        kind=as_str(t.get("kind"), "apps.app.kind"),
        system=as_str(t.get("system"), "apps.app.system"),
        source=as_str(t.get("source"), "apps.app.source"),
        multi_turn=as_probability(t.get("multi_turn", 0.0), "apps.app.multi_turn"),
    )


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


@dataclass(frozen=True)
class Phrasings:
    """All phrasing tables, with seeded helpers to apply them."""

    system_prompts: tuple[str, ...]
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    stepwise: tuple[str, ...]
    followups: tuple[str, ...]
    language_requests: dict[str, tuple[str, ...]]
    eval_formats: tuple[str, ...]
    eval_cot: tuple[str, ...]
    dev_generate: tuple[str, ...]
    dev_grade: tuple[str, ...]
    brands: tuple[str, ...]
    apps: tuple[AppSpec, ...]
    cot_wrappers: tuple[str, ...]
    reseller_wrappers: tuple[str, ...]
    pivot_templates: tuple[str, ...]
    rubric_templates: tuple[str, ...]
    synthetic_templates: tuple[str, ...]
    hydra: dict[str, Grammar]
    extraction: dict[str, Grammar]

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Phrasings:
        """Validate the parsed phrasings.toml."""

        def section(name: str) -> dict[str, Any]:
            return as_table(data.get(name), f"phrasings.toml [{name}]")

        def strings(name: str, key: str) -> tuple[str, ...]:
            return as_str_list(section(name).get(key), f"{name}.{key}")

        def grammars(name: str, parts: tuple[str, ...]) -> dict[str, Grammar]:
            out = {}
            for language, raw in section(name).items():
                t = as_table(raw, f"{name}.{language}")
                out[language] = Grammar(
                    {p: as_str_list(t.get(p), f"{name}.{language}.{p}") for p in parts}
                )
            return out

        human = section("human")
        languages = as_table(human.get("language"), "human.language")
        apps = tuple(_app(a) for a in section("apps").get("app", []))
        if not apps:
            raise ConfigError("phrasings.toml: needs at least one [[apps.app]]")
        return cls(
            system_prompts=strings("generic", "system_prompts"),
            prefixes=strings("human", "prefixes"),
            suffixes=strings("human", "suffixes"),
            stepwise=strings("human", "stepwise"),
            followups=strings("human", "followups"),
            language_requests={
                k: as_str_list(v, f"human.language.{k}") for k, v in languages.items()
            },
            eval_formats=strings("eval", "formats"),
            eval_cot=strings("eval", "cot"),
            dev_generate=strings("developer", "generate"),
            dev_grade=strings("developer", "grade"),
            brands=strings("apps", "brands"),
            apps=apps,
            cot_wrappers=strings("cot_harvest", "wrappers"),
            reseller_wrappers=strings("reseller", "wrappers"),
            pivot_templates=strings("release_pivot", "templates"),
            rubric_templates=strings("rubric_harvest", "templates"),
            synthetic_templates=strings("synthetic_data", "templates"),
            hydra=grammars("hydra", ("lead", "ask")),
            extraction=grammars("extraction", ("lead", "action", "obj", "fmt")),
        )

    # ---- benign helpers ----------------------------------------------------------
    def humanize(self, rng: random.Random, text: str, p: float) -> str:
        """Casual noise a person adds: greetings, sign-offs, lower case, a typo."""
        if p <= 0 or rng.random() >= p:
            return text
        roll = rng.random()
        if roll < 0.3:
            text = rng.choice(self.prefixes) + text[:1].lower() + text[1:]
        elif roll < 0.55:
            text = text.rstrip() + rng.choice(self.suffixes)
        elif roll < 0.75:
            text = text.lower()
        if rng.random() < 0.4 and len(text) > 12:
            i = rng.randrange(1, len(text) - 2)
            text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        return text

    def language_request(self, rng: random.Random, language: str | None = None) -> str:
        lang = language if language in self.language_requests else None
        key = lang or rng.choice(sorted(self.language_requests))
        return rng.choice(self.language_requests[key])

    # ---- attack helpers ----------------------------------------------------------
    def hydra_prompt(self, rng: random.Random, language: str, task: str) -> str:
        """A paraphrased request for step-by-step reasoning around *task*."""
        g = self.hydra.get(language) or self.hydra["en"]
        if rng.random() < 0.65:
            return f"{g.part(rng, 'lead')}{task}\n\n{g.part(rng, 'ask')}"
        return f"{g.part(rng, 'ask')}\n\n{task}"

    def extraction_prompt(self, rng: random.Random, language: str, task: str) -> str:
        """A generated request to write out/reveal/translate/encode hidden reasoning."""
        g = self.extraction.get(language) or self.extraction["en"]
        action = g.part(rng, "action").replace("{obj}", g.part(rng, "obj"))
        request = _cap(g.part(rng, "lead") + action + g.part(rng, "fmt"))
        if rng.random() < 0.5:
            return f"{request}\n\n{task}"
        return f"{task}\n\n{request}"


def load_phrasings(file_name: str = "phrasings.toml") -> Phrasings:
    """The phrasing tables, validated."""
    return Phrasings.from_data(load_data(file_name))
