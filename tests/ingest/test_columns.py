"""The vectorised column conversions must agree with the per-element rules."""

import random
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from distillwatch import schema
from distillwatch.ingest.columns import _per_element, convert_column

SAMPLES = {
    "max_tokens": [12, 3.0, 3.5, "7", "3.0", " 8", "x", True, None, 2**63, "", [1]],
    "temperature": [0.5, 1, "0.25", "hot", True, None, float("nan"), float("inf"), ""],
    "stream": [True, False, 0, 1, 2, "true", "FALSE", " 1", "yes", None, 1.0],
    "ip": ["a", 42, "", 4.5, True, b"bytes", b"\xff", None, {"k": 1}],
    "account_id": ["a", 42, "", 4.5, None],
    "ts": [
        "2026-01-05T00:00:00Z",
        "2026-01-05T00:00:00",
        "2026-01-05",
        1767571200,
        1767571200000,
        1767571200.5,
        "1767571200",
        "soon",
        "",
        None,
        -5,
        True,
        datetime(2026, 1, 5, tzinfo=UTC),
        "1969-12-31T00:00:00Z",
    ],
}


def rules(name, values):
    """What the per-element rules alone give: (values, problems), empty text being
    missing and missing required values a problem."""
    problems = {}
    array = _per_element(name, schema.FIELD_TYPES[name], values, problems).to_pylist()
    array = [None if v == "" else v for v in array]
    if name in schema.REQUIRED_FIELDS:
        for row, value in enumerate(array):
            if value is None:
                detail = f"required field {name!r} is absent"
                problems.setdefault(row, (f"missing_field:{name}", detail))
    return array, problems


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_mixed_lists_follow_the_rules_exactly(name):
    rng = random.Random(7)
    for _ in range(40):
        values = rng.choices(SAMPLES[name], k=6)
        problems = {}
        got = convert_column(name, values, problems).to_pylist()
        want, want_problems = rules(name, values)
        if name == "account_id":  # empty text is missing, not a problem, for optional text
            want = [None if v == "" else v for v in want]
        assert got == want, values
        assert problems == want_problems, values


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("max_tokens", [1, 2, None]),
        ("max_tokens", ["1", "2"]),
        ("temperature", [0.5, 1]),
        ("temperature", ["0.5", "1e-3"]),
        ("stream", [True, None]),
        ("stream", ["true", "False", "1"]),
        ("account_id", ["a", None, ""]),
        ("ts", ["2026-01-05T00:00:00Z", "2026-01-05T02:00:00+02:00", None]),
        ("ts", [1767571200, 1767571200000, None]),
        ("ts", [1767571200.25]),
        ("ts", [datetime(2026, 1, 5), None]),
    ],
)
def test_arrow_input_gives_the_same_as_python_input(name, values):
    from_list, from_arrow = {}, {}
    expected = convert_column(name, values, from_list)
    assert convert_column(name, pa.array(values), from_arrow).equals(expected)
    assert from_arrow == from_list


@pytest.mark.parametrize(
    ("name", "array", "bad_rows"),
    [
        ("max_tokens", pa.array([1.0, 1.5]), {1}),
        ("max_tokens", pa.array([True, False]), {0, 1}),
        ("stream", pa.array([0, 1, 2]), {2}),
        ("account_id", pa.array([1.5]), {0}),
        ("account_id", pa.array([b"ok", b"\xff"], type=pa.binary()), {1}),
        ("temperature", pa.array([0.5, float("nan")]), {1}),
        ("ts", pa.array(["2026-01-05T00:00:00Z", "not a time"]), {1}),
        ("ts", pa.array([-1, 1767571200]), {0}),
    ],
)
def test_arrow_values_the_rules_reject_are_rejected(name, array, bad_rows):
    problems = {}
    convert_column(name, array, problems)
    assert set(problems) == bad_rows


def test_required_fields_report_missing_values_and_empty_text():
    problems = {}
    convert_column("request_id", ["r1", None, ""], problems)
    assert problems == {
        1: ("missing_field:request_id", "required field 'request_id' is absent"),
        2: ("missing_field:request_id", "required field 'request_id' is absent"),
    }


def test_first_problem_of_a_row_wins():
    problems = {0: ("bad_type:asn", "earlier column")}
    convert_column("max_tokens", ["x"], problems)
    assert problems[0][1] == "earlier column"


def test_tools_may_be_given_as_the_list_of_definitions():
    assert convert_column("tools", [[{}, {}], 3, None], {}).to_pylist() == [2, 3, None]


def test_nanosecond_timestamps_are_truncated_to_microseconds():
    array = pa.array([1_767_571_200_123_456_789], type=pa.timestamp("ns"))
    got = convert_column("ts", array, {}).cast(pa.int64()).to_pylist()
    assert got == [1_767_571_200_123_456]
