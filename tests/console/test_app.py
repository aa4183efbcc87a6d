"""The console as a real server on 127.0.0.1, driven over HTTP: who may do what, decisions,
sorting and filtering, share preview and publishing to a real hub."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from distillwatch.cases.store import open_case_store
from distillwatch.console.analysts import open_analysts
from distillwatch.console.app import ConsoleSettings, create_app
from distillwatch.errors import ConsoleError
from distillwatch.results_io import read_result
from distillwatch.serving import serve_in_thread

HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("console") / "cases.db"
    store = open_analysts(path)
    tokens = {name: store.add(name) for name in ("ana", "bo")}
    store.close()
    return path, tokens


@pytest.fixture(scope="module")
def console(small_scan: Path, cases: tuple[Path, dict[str, str]]) -> Iterator[str]:
    settings = ConsoleSettings(scan_dir=small_scan, cases=cases[0], org_name="acme")
    with serve_in_thread(create_app(settings), name="console", error=ConsoleError) as url:
        yield url


def signed_in(url: str, token: str) -> requests.Session:
    s = requests.Session()
    r = s.post(f"{url}/login", data={"token": token, "next": "/campaigns"}, timeout=30)
    assert r.status_code == 200 and r.url.endswith("/campaigns"), (r.status_code, r.url)
    return s


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def flagged_campaign(scan: Path) -> str:
    _, result = read_result(scan)
    flagged = [c for c in result.campaigns if c.flagged]
    assert flagged, "the small scan flagged no campaign"
    return max(flagged, key=lambda c: c.risk).campaign_id


PROTECTED_GETS = ["/", "/campaigns", "/accounts", "/intel", "/audit"]


@pytest.mark.parametrize("path", PROTECTED_GETS)
def test_no_token_is_refused_or_sent_to_sign_in(console: str, path: str) -> None:
    r = requests.get(console + path, timeout=30, allow_redirects=False)
    assert r.status_code == 401
    assert "Bearer" in r.headers["WWW-Authenticate"]
    r = requests.get(console + path, headers=HTML, timeout=30, allow_redirects=False)
    assert r.status_code == 303 and r.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("path", PROTECTED_GETS)
def test_wrong_token_is_refused(console: str, path: str) -> None:
    for header in ("Bearer dwc_wrong", "Bearer ", "Basic YW5hOnNlY3JldA=="):
        r = requests.get(console + path, headers={"Authorization": header}, timeout=30)
        assert r.status_code == 401, (header, r.status_code)


def test_posts_need_a_session_and_its_csrf_token(
    console: str, small_scan: Path, cases: tuple[Path, dict[str, str]]
) -> None:
    cid = flagged_campaign(small_scan)
    form = {"kind": "campaign", "subject": cid, "decision": "confirm", "note": "x"}
    # nobody
    r = requests.post(console + "/decide", data=form, timeout=30, allow_redirects=False)
    assert r.status_code == 401
    # a session without the CSRF token, and with another session's token
    ana, bo = signed_in(console, cases[1]["ana"]), signed_in(console, cases[1]["bo"])
    bo_csrf = csrf_of(bo.get(console + "/campaigns", timeout=30).text)
    for extra in ({}, {"csrf": "forged"}, {"csrf": bo_csrf}):
        r = ana.post(console + "/decide", data=form | extra, timeout=30, allow_redirects=False)
        assert r.status_code == 403, (extra, r.status_code)
    store = open_case_store(cases[0])
    try:
        assert [d for d in store.decisions() if d.subject_id == cid] == []
        refused = [e for e in store.audit(limit=1000) if _field(e, "action") == "refused"]
        assert len(refused) >= 3
    finally:
        store.close()


def _field(entry: object, name: str) -> object:
    return entry[name] if isinstance(entry, dict) else getattr(entry, name)


def test_a_decision_is_stored_with_who_and_listed(
    console: str, small_scan: Path, cases: tuple[Path, dict[str, str]]
) -> None:
    scan_id, result = read_result(small_scan)
    account = max((a for a in result.accounts if a.flagged), key=lambda a: a.risk).account_id
    s = signed_in(console, cases[1]["ana"])
    page = s.get(f"{console}/accounts/{account}", timeout=30)
    assert page.status_code == 200 and "No decision yet." in page.text
    r = s.post(
        console + "/decide",
        data={
            "kind": "account",
            "subject": account,
            "decision": "dismiss",
            "note": "internal eval <job>",
            "csrf": csrf_of(page.text),
        },
        timeout=30,
    )
    assert r.status_code == 200 and "Decision recorded: dismiss." in r.text
    assert "internal eval &lt;job&gt;" in r.text  # the note is listed, escaped
    store = open_case_store(cases[0])
    try:
        (d,) = [d for d in store.decisions(scan_id) if d.subject_id == account]
        assert (d.analyst, d.decision, d.subject_kind) == ("ana", "dismiss", "account")
        assert store.verify().ok
    finally:
        store.close()
    # the account list filters on the decision
    listed = s.get(console + "/accounts", params={"decision": "dismiss"}, timeout=30).text
    assert f"/accounts/{account}" in listed and "1 of " in listed


def test_bearer_caller_decides_as_itself(
    console: str, small_scan: Path, cases: tuple[Path, dict[str, str]]
) -> None:
    cid = flagged_campaign(small_scan)
    r = requests.post(
        console + "/decide",
        data={"kind": "campaign", "subject": cid, "decision": "escalate", "note": "ask legal"},
        headers={"Authorization": f"Bearer {cases[1]['bo']}"},
        timeout=30,
    )
    assert r.status_code == 200
    store = open_case_store(cases[0])
    try:
        newest = [d for d in store.decisions() if d.subject_id == cid][-1]
        assert (newest.analyst, newest.decision) == ("bo", "escalate")
    finally:
        store.close()


def test_unknown_subjects_and_decisions_are_refused(
    console: str, small_scan: Path, cases: tuple[Path, dict[str, str]]
) -> None:
    auth = {"Authorization": f"Bearer {cases[1]['ana']}"}
    r = requests.get(console + "/campaigns/no-such", headers=auth, timeout=30)
    assert r.status_code == 404
    r = requests.post(
        console + "/decide",
        data={"kind": "account", "subject": "acct_nope", "decision": "confirm"},
        headers=auth,
        timeout=30,
    )
    assert r.status_code == 400
    cid = flagged_campaign(small_scan)
    r = requests.post(
        console + "/decide",
        data={"kind": "campaign", "subject": cid, "decision": "delete"},
        headers=auth,
        timeout=30,
    )
    assert r.status_code == 400


def test_campaign_list_sorts_and_filters(
    console: str, small_scan: Path, cases: tuple[Path, dict[str, str]]
) -> None:
    _, result = read_result(small_scan)
    auth = {"Authorization": f"Bearer {cases[1]['ana']}"}

    def listed(**params: str) -> list[str]:
        r = requests.get(console + "/campaigns", params=params, headers=auth, timeout=30)
        assert r.status_code == 200
        return re.findall(r'href="/campaigns/([^"/?]+)"', r.text)

    by_requests = sorted(result.campaigns, key=lambda c: c.campaign_id)
    by_requests.sort(key=lambda c: c.n_requests)
    assert listed(sort="requests", order="asc") == [c.campaign_id for c in by_requests]
    flagged = {c.campaign_id for c in result.campaigns if c.flagged}
    assert set(listed(flagged="yes")) == flagged
    assert set(listed(flagged="no")) == {c.campaign_id for c in result.campaigns} - flagged
    some = result.campaigns[0].campaign_id
    assert listed(q=some) == [c.campaign_id for c in result.campaigns if some in c.campaign_id]


def test_share_preview_without_keys_masks_and_cannot_publish(
    console: str, small_scan: Path, cases: tuple[Path, dict[str, str]]
) -> None:
    cid = flagged_campaign(small_scan)
    s = signed_in(console, cases[1]["ana"])
    page = s.get(f"{console}/campaigns/{cid}/share", params={"tlp": "green"}, timeout=30)
    assert page.status_code == 200
    assert 'id="publish-off"' in page.text and 'id="publish"' not in page.text
    bundle = _preview_bundle(page.text)
    assert any(o["type"] == "campaign" for o in bundle["objects"])
    markings = {o["id"] for o in bundle["objects"] if o["type"] == "marking-definition"}
    assert "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb" in markings  # TLP:GREEN
    red = s.get(f"{console}/campaigns/{cid}/share", params={"tlp": "red"}, timeout=30)
    assert red.status_code == 400 and "TLP:RED" in red.text
    r = s.post(
        f"{console}/campaigns/{cid}/share",
        data={"tlp": "green", "csrf": csrf_of(page.text)},
        timeout=30,
    )
    assert r.status_code == 400 and "--key-file" in r.text


def _preview_bundle(html: str) -> dict[str, object]:
    import html as htmllib

    found = re.search(r'<pre class="stix" id="share-preview">(.*?)</pre>', html, re.S)
    assert found, "no preview in the page"
    bundle: dict[str, object] = json.loads(htmllib.unescape(found.group(1)))
    return bundle


def test_publish_to_a_real_hub_sends_exactly_the_preview(
    small_scan: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distillwatch.hub.admin import add_collection, add_member
    from distillwatch.hub.server import running_hub
    from distillwatch.hub.settings import HubSettings
    from distillwatch.intel.keys import Keyring, new_key, save_keyring
    from distillwatch.outputs.ids import identity_id

    key = tmp_path / "group.key"
    save_keyring(Keyring("isac", [new_key("isac", 30)]), key)
    db = f"sqlite:///{tmp_path / 'hub.db'}"
    coll = add_collection(db, "campaigns")
    hub_token = add_member(db, "acme", identity_id("acme"), [coll], [coll])
    (tmp_path / "hub.token").write_text(hub_token)
    store = open_analysts(tmp_path / "cases.db")
    token = store.add("ana")
    store.close()
    cid = flagged_campaign(small_scan)
    with running_hub(HubSettings(db_url=db, check_workers=0)) as hub:
        settings = ConsoleSettings(
            scan_dir=small_scan,
            cases=tmp_path / "cases.db",
            org_name="acme",
            key_file=key,
            hub_url=f"{hub}/default/",
            hub_collection=coll,
            hub_token_file=tmp_path / "hub.token",
        )
        with serve_in_thread(create_app(settings), name="console", error=ConsoleError) as url:
            s = signed_in(url, token)
            page = s.get(f"{url}/campaigns/{cid}/share", params={"tlp": "amber"}, timeout=60)
            assert 'id="publish"' in page.text
            preview = _preview_bundle(page.text)
            r = s.post(
                f"{url}/campaigns/{cid}/share",
                data={"tlp": "amber", "csrf": csrf_of(page.text)},
                timeout=120,
            )
            assert r.status_code == 200 and "Published:" in r.text, r.text[-2000:]
            objects = requests.get(
                f"{hub}/default/collections/{coll}/objects/",
                headers={
                    "Authorization": f"Bearer {hub_token}",
                    "Accept": "application/taxii+json;version=2.1",
                },
                timeout=30,
            ).json()["objects"]
    stored = {o["id"] for o in objects}
    previewed = {o["id"] for o in preview["objects"]}  # type: ignore[attr-defined]
    assert stored == previewed
    cs = open_case_store(tmp_path / "cases.db")
    try:
        actions = [_field(e, "action") for e in cs.audit(limit=100)]
        assert "share.publish" in actions and cs.verify().ok
    finally:
        cs.close()


def test_sign_in_never_redirects_off_site(console: str, cases: tuple[Path, dict[str, str]]) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        r = requests.post(
            console + "/login",
            data={"token": cases[1]["ana"], "next": target},
            timeout=30,
            allow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["Location"] == "/campaigns", target
    r = requests.post(console + "/login", data={"token": "dwc_wrong"}, timeout=30)
    assert r.status_code == 401 and "not valid" in r.text


def test_pages_forbid_scripts_and_framing(console: str, cases: tuple[Path, dict[str, str]]) -> None:
    r = requests.get(
        console + "/campaigns", headers={"Authorization": f"Bearer {cases[1]['ana']}"}, timeout=30
    )
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "<script" not in r.text


def test_intel_page_lists_peers_indicators(small_scan: Path, tmp_path: Path) -> None:
    from distillwatch.intel.bundle import build_bundle
    from distillwatch.intel.keys import Keyring, new_key, save_keyring

    key = tmp_path / "group.key"
    save_keyring(Keyring("isac", [new_key("isac", 30)]), key)
    from distillwatch.intel.keys import load_keyring

    intel = tmp_path / "peers"
    intel.mkdir()
    (intel / "peer.json").write_text(
        build_bundle(small_scan, org_name="peer-lab", keyring=load_keyring(key)), "utf-8"
    )
    store = open_analysts(tmp_path / "cases.db")
    token = store.add("ana")
    store.close()
    settings = ConsoleSettings(
        scan_dir=small_scan, cases=tmp_path / "cases.db", intel_dir=intel, key_file=key
    )
    with serve_in_thread(create_app(settings), name="console", error=ConsoleError) as url:
        page = requests.get(
            url + "/intel", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).text
    found = re.search(r'id="intel-count">(\d+) indicators in force', page)
    assert found and int(found.group(1)) > 0, page[-1500:]
    assert "peer-lab" in page


def test_decisions_on_earlier_scans_are_shown_and_marked(
    console: str, small_scan: Path, cases: tuple[Path, dict[str, str]]
) -> None:
    _, result = read_result(small_scan)
    account = sorted(a.account_id for a in result.accounts)[0]
    store = open_case_store(cases[0])
    try:
        store.decide("0123456789abcdef", "account", account, "dismiss", "cy", "last week's scan")
    finally:
        store.close()
    page = requests.get(
        f"{console}/accounts/{account}",
        headers={"Authorization": f"Bearer {cases[1]['ana']}"},
        timeout=30,
    ).text
    assert "last week&#x27;s scan" in page and "<code>0123456789abcdef</code>" in page
    # the earlier scan's decision is history: this scan's subject stays undecided
    assert '<span class="decision">undecided</span>' in page


def test_a_removed_analyst_loses_their_session(
    console: str, cases: tuple[Path, dict[str, str]]
) -> None:
    store = open_analysts(cases[0])
    token = store.add("temp")
    store.close()
    s = signed_in(console, token)
    assert s.get(console + "/campaigns", timeout=30).status_code == 200
    store = open_analysts(cases[0])
    try:
        assert store.remove("temp")
    finally:
        store.close()
    r = s.get(console + "/campaigns", timeout=30, allow_redirects=False)
    assert r.status_code == 401
    r = requests.get(
        console + "/campaigns", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert r.status_code == 401
