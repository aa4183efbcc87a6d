from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from distillwatch.outputs.fmt import as_utc
from distillwatch.outputs.tables import accounts_csv, campaigns_csv
from distillwatch.results import AccountVerdict

RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")
SIX_DECIMALS = re.compile(r"\d\.\d{6}")


def _rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def _parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_accounts_header_starts_with_contract_columns_in_order(scan_result):
    header, _ = _rows(accounts_csv(scan_result))
    assert header[:5] == ["account_id", "risk", "flagged", "campaign_id", "signals"]
    assert header[5:] == ["own_risk", "n_requests", "first_seen", "last_seen"]
    assert accounts_csv(scan_result).splitlines()[0] == ",".join(header)


def test_accounts_one_row_per_account_with_contract_formats(scan_result):
    _, rows = _rows(accounts_csv(scan_result))
    by_id = {a.account_id: a for a in scan_result.accounts}
    assert sorted(r["account_id"] for r in rows) == sorted(by_id)
    for row in rows:
        acc = by_id[row["account_id"]]
        assert SIX_DECIMALS.fullmatch(row["risk"]) and float(row["risk"]) == round(acc.risk, 6)
        assert row["flagged"] == ("true" if acc.flagged else "false")
        assert row["campaign_id"] == (acc.campaign_id or "")
        assert row["signals"] == ";".join(acc.top_signals())
        assert int(row["n_requests"]) == acc.n_requests
        for col, value in (("first_seen", acc.first_seen), ("last_seen", acc.last_seen)):
            assert RFC3339_UTC.fullmatch(row[col])
            assert _parse_ts(row[col]) == as_utc(value)


def test_accounts_signals_are_top_positive_contributors(scan_result):
    _, rows = _rows(accounts_csv(scan_result))
    solo = next(r for r in rows if r["account_id"] == "solo-42")
    # coverage has a negative contribution, so it is not a "contributing" signal
    assert solo["signals"] == "volume;automation"
    assert next(r for r in rows if r["account_id"] == "user-benign-1")["signals"] == ""


def test_accounts_sorted_by_risk_desc_then_id(scan_result):
    _, rows = _rows(accounts_csv(scan_result))
    keys = [(-float(r["risk"]), r["account_id"]) for r in rows]
    assert keys == sorted(keys)
    ids = [r["account_id"] for r in rows]
    # the tie at 0.02 is broken by id, whatever the input order was
    assert ids.index("user-benign-1") < ids.index("user-benign-2")


def test_accounts_ids_needing_quotes_round_trip(scan_result):
    t = datetime(2026, 1, 1, tzinfo=UTC)
    odd = 'acme, "inc"\nunit 7'
    scan_result.accounts.append(AccountVerdict(odd, 0.5, False, 1, t, t))
    _, rows = _rows(accounts_csv(scan_result))
    assert odd in {r["account_id"] for r in rows}


def test_campaigns_header_and_rows(scan_result):
    header, rows = _rows(campaigns_csv(scan_result))
    assert header[:7] == [
        "campaign_id",
        "n_accounts",
        "n_requests",
        "risk",
        "first_seen",
        "last_seen",
        "signals",
    ]
    assert header[7:] == ["flagged", "actor_id", "techniques", "linked_by"]
    by_id = {c.campaign_id: c for c in scan_result.campaigns}
    assert [r["campaign_id"] for r in rows] == ["cmp-0001", "cmp-0002"]  # risk 0.97 before 0.42
    for row in rows:
        camp = by_id[row["campaign_id"]]
        assert int(row["n_accounts"]) == len(camp.account_ids)
        assert int(row["n_requests"]) == camp.n_requests
        assert SIX_DECIMALS.fullmatch(row["risk"])
        assert row["signals"] == ";".join(camp.top_signals())
        assert row["flagged"] == ("true" if camp.flagged else "false")
        assert row["techniques"] == ";".join(camp.techniques)
        assert _parse_ts(row["first_seen"]) == as_utc(camp.first_seen)
        assert _parse_ts(row["last_seen"]) == as_utc(camp.last_seen)
        assert RFC3339_UTC.fullmatch(row["first_seen"]) and RFC3339_UTC.fullmatch(row["last_seen"])
    linked = {r["campaign_id"]: r["linked_by"] for r in rows}
    assert linked == {
        "cmp-0001": "ip_prefix;payment_fingerprint;ua_created;behaviour",
        "cmp-0002": "payment_fingerprint",
    }


def test_campaign_microseconds_are_kept(scan_result):
    _, rows = _rows(campaigns_csv(scan_result))
    assert rows[0]["first_seen"] == "2026-03-02T01:00:00.250000Z"


def test_naive_and_offset_timestamps_are_written_in_utc(scan_result):
    from datetime import timedelta, timezone

    plus2 = timezone(timedelta(hours=2))
    acc = scan_result.accounts[0]
    acc.first_seen = datetime(2026, 3, 2, 12, 0, tzinfo=plus2)
    acc.last_seen = datetime(2026, 3, 2, 12, 0)  # naive: UTC by contract
    _, rows = _rows(accounts_csv(scan_result))
    row = next(r for r in rows if r["account_id"] == acc.account_id)
    assert row["first_seen"] == "2026-03-02T10:00:00Z"
    assert row["last_seen"] == "2026-03-02T12:00:00Z"


def test_empty_result_has_header_only(empty_result):
    assert accounts_csv(empty_result).count("\n") == 1
    assert campaigns_csv(empty_result).startswith("campaign_id,n_accounts,")
    assert campaigns_csv(empty_result).count("\n") == 1
