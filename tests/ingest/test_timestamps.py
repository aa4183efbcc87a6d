from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from distillwatch.ingest.timestamps import TimestampError, epoch_to_us, to_epoch_us

JAN5 = 1_767_571_200  # 2026-01-05T00:00:00Z in epoch seconds
JAN5_US = JAN5 * 1_000_000


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-05T00:00:00Z",
        "2026-01-05T00:00:00z",
        "2026-01-05t00:00:00+00:00",
        "2026-01-05 00:00:00",
        "2026-01-05T01:00:00+01:00",
        "2026-01-04T19:00:00-05:00",
        "2026-01-05",
        " 2026-01-05T00:00:00Z ",
        JAN5,
        float(JAN5),
        JAN5 * 1000,
        JAN5 * 1_000_000,
        JAN5 * 1_000_000_000,
        str(JAN5),
        f"{JAN5}.0",
        datetime(2026, 1, 5),
        datetime(2026, 1, 5, 1, tzinfo=timezone(timedelta(hours=1))),
        date(2026, 1, 5),
    ],
)
def test_every_accepted_form_gives_the_same_instant(value):
    assert to_epoch_us(value) == JAN5_US


def test_fractions_are_kept_to_the_microsecond():
    assert to_epoch_us("2026-01-05T00:00:00.123456Z") == JAN5_US + 123_456
    assert to_epoch_us("2026-01-05T00:00:00.1234567Z") == JAN5_US + 123_456
    assert to_epoch_us(JAN5 + 0.5) == JAN5_US + 500_000
    assert to_epoch_us(JAN5 * 1000 + 7) == JAN5_US + 7000


def test_seconds_and_milliseconds_are_told_apart_by_magnitude():
    assert epoch_to_us(99_999_999_999) == 99_999_999_999 * 1_000_000  # year 5138, seconds
    assert epoch_to_us(100_000_000_000) == 100_000_000_000 * 1000  # 1973 in milliseconds


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "",
        "2026-02-30T00:00:00Z",
        "2026-W01",
        "20260105T000000",
        "2026-01-05T25:00:00Z",
        "1969-12-31T23:59:59Z",
        -1,
        float("nan"),
        float("inf"),
        10**21,
        True,
        None,
        [2026],
    ],
)
def test_rejects_what_is_not_a_timestamp(value):
    with pytest.raises(TimestampError):
        to_epoch_us(value)


def test_naive_datetimes_are_utc():
    assert to_epoch_us(datetime(2026, 1, 5, tzinfo=UTC)) == to_epoch_us(datetime(2026, 1, 5))
