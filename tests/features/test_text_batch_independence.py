"""A request's text features must not depend on the other requests in its batch (batch
sizes differ between the in-memory scan, the spool and Spark's mapInArrow)."""

from __future__ import annotations

import random

import pyarrow as pa

from distillwatch.features.text import text_features

PROMPTS = [
    "As a tourist, what are the most important destinations to visit in Fès, Marocco?",
    "中文的问题\uff1a请一步一步地解释你的推理过程。",
    "x",
    "",
    "Explain step by step: why is the sky blue? Show your reasoning.",
    "日本語で答えてください。なぜですか\uff1f",
    "Résumé: écris une réponse détaillée, étape par étape, s'il te plaît.",
    "ab",
    "Solve 12 * 34 and show every step of the computation.",
]
SCHEMA = pa.schema([("request_id", pa.string()), ("prompt", pa.string())])


def _features(prompts: list[str]) -> list[dict[str, object]]:
    batch = pa.RecordBatch.from_pylist(
        [{"request_id": f"r{i}", "prompt": p} for i, p in enumerate(prompts)], schema=SCHEMA
    )
    rows = text_features(batch).to_pylist()
    for r in rows:
        r.pop("request_id")
    return rows


def test_each_row_gets_the_features_it_gets_alone() -> None:
    alone = {p: _features([p])[0] for p in PROMPTS}
    rng = random.Random(7)
    for _ in range(30):
        batch = [rng.choice(PROMPTS) for _ in range(rng.randint(2, 25))]
        for prompt, got in zip(batch, _features(batch), strict=True):
            assert got == alone[prompt], (prompt, batch)
