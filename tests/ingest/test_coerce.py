import pytest

from distillwatch.ingest.coerce import BadRecord, to_bool, to_float, to_int, to_str, to_ts


@pytest.mark.parametrize(
    ("value", "expected"), [(12, 12), ("12", 12), (" 12 ", 12), (3.0, 3), ("3.0", 3), ("-4", -4)]
)
def test_to_int_accepts_lossless_forms(value, expected):
    assert to_int(value, "max_tokens") == expected


@pytest.mark.parametrize("value", [3.5, "3.5", "x", True, float("nan"), 2**63, [1], ""])
def test_to_int_rejects_the_rest(value):
    with pytest.raises(BadRecord) as info:
        to_int(value, "max_tokens")
    assert info.value.reason == "bad_type:max_tokens"


def test_asn_may_carry_the_as_prefix():
    assert to_int("AS13335", "asn") == 13335
    with pytest.raises(BadRecord):
        to_int("AS13335", "max_tokens")


@pytest.mark.parametrize(("value", "expected"), [(1, 1.0), (0.5, 0.5), ("0.5", 0.5)])
def test_to_float(value, expected):
    assert to_float(value, "top_p") == expected


@pytest.mark.parametrize("value", [True, "hot", float("inf"), "nan", None])
def test_to_float_rejects(value):
    with pytest.raises(BadRecord, match="bad_type:top_p"):
        to_float(value, "top_p")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("true", True),
        ("FALSE", False),
        (" 1 ", True),
        ("0", False),
    ],
)
def test_to_bool(value, expected):
    assert to_bool(value, "stream") is expected


@pytest.mark.parametrize("value", [2, "yes", "t", 1.0, None])
def test_to_bool_rejects(value):
    with pytest.raises(BadRecord, match="bad_type:stream"):
        to_bool(value, "stream")


def test_to_str_takes_text_integers_and_utf8_bytes_only():
    assert to_str("a", "ip") == "a"
    assert to_str(42, "account_id") == "42"
    assert to_str("é".encode(), "ip") == "é"
    for value in (4.2, True, b"\xff", {"a": 1}, ["a"]):
        with pytest.raises(BadRecord, match="bad_type:ip"):
            to_str(value, "ip")


def test_to_ts_reports_a_timestamp_reason():
    with pytest.raises(BadRecord) as info:
        to_ts("soon", "account_created_at")
    assert info.value.reason == "bad_timestamp:account_created_at"
