from __future__ import annotations

import pytest

from distillwatch.errors import ConfigError
from distillwatch.outputs.atlas import load_atlas, parse_atlas

BRIEF_TECHNIQUES = {
    "AML.T0024.002": "Extract AI Model",
    "AML.T0005.001": "Train Proxy via Replication",
    "AML.T0040": "AI Model Inference API Access",
    "AML.T0008.005": "AI Service Proxies",
    "AML.T0048.004": "AI Intellectual Property Theft",
}

GOOD = """
updated = 2026-01-01T00:00:00Z
[[technique]]
id = "AML.T0040"
name = "AI Model Inference API Access"
signals = ["volume"]
"""


def test_packaged_catalog_lists_the_atlas_techniques():
    catalog = load_atlas()
    assert {t.id: t.name for t in catalog.techniques} == BRIEF_TECHNIQUES
    assert all(t.description for t in catalog.techniques)
    assert catalog.updated.tzinfo is not None


def test_catalog_from_a_file(tmp_path):
    path = tmp_path / "atlas.toml"
    path.write_text(GOOD, encoding="utf-8")
    catalog = load_atlas(path)
    assert [t.id for t in catalog.techniques] == ["AML.T0040"]
    assert catalog.techniques_for(["volume", "other"]) == ["AML.T0040"]
    assert catalog.techniques_for(["other"]) == []
    assert catalog.get("AML.T0024.002") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("updated = [", "not valid TOML"),
        (GOOD.replace("updated = 2026-01-01T00:00:00Z", ""), "'updated'"),
        (GOOD.replace("T00:00:00Z", "T00:00:00"), "offset"),
        ("updated = 2026-01-01T00:00:00Z\n", "at least one"),
        (GOOD.replace('"AML.T0040"', '"T0040"'), "not an ATLAS id"),
        (GOOD.replace('name = "AI Model Inference API Access"', 'name = ""'), "'name'"),
        (GOOD.replace('signals = ["volume"]', "signals = 3"), "'signals'"),
        (GOOD + 'colour = "red"\n', "unknown keys"),
        (GOOD + GOOD.split("\n", 2)[2], "listed twice"),
    ],
)
def test_invalid_catalog_is_a_config_error(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_atlas(text, "my-atlas.toml")


def test_unreadable_catalog_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_atlas(tmp_path / "missing.toml")
