"""Who may do what, on every endpoint, over real HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64

import pytest

from distillwatch.hub.admin import revoke_token


@pytest.fixture
def seeded(hub, stix):
    """Hub with one indicator in every collection; returns (object ids, alice's status id)."""
    oids = {}
    status_id = ""
    for name in hub.colls:
        obj = stix.indicator()
        status = hub.post(name, [obj])
        oids[name] = obj["id"]
        status_id = status["id"]
    return oids, status_id


def endpoints(hub, coll, oid, status_id):
    c = f"{hub.root}collections/{hub.colls[coll]}/"
    return [
        ("GET", hub.url + "/taxii2/"),
        ("GET", hub.root),
        ("GET", hub.root + "collections/"),
        ("GET", c),
        ("GET", c + "objects/"),
        ("POST", c + "objects/"),
        ("GET", c + "manifest/"),
        ("GET", c + f"objects/{oid}/"),
        ("DELETE", c + f"objects/{oid}/"),
        ("GET", c + f"objects/{oid}/versions/"),
        ("GET", hub.root + f"status/{status_id}/"),
    ]


def _raw(hub, method, url, authorization=None, stix=None):
    headers = {"Accept": "application/taxii+json;version=2.1"}
    if authorization is not None:
        headers["Authorization"] = authorization
    kw = {}
    if method == "POST":
        kw["json"] = {"objects": [stix.indicator()] if stix else []}
    return hub.call(method, url, None, headers=headers, **kw)


def _basic(name, token):
    return "Basic " + base64.b64encode(f"{name}:{token}".encode()).decode()


def test_missing_and_wrong_credentials_are_refused_everywhere(hub, seeded, stix):
    oids, status_id = seeded
    wrong = {
        "none": None,
        "bearer-random": "Bearer dwh_" + "x" * 43,
        "basic-wrong-token": _basic("alice", "dwh_wrong"),
        "basic-unknown-member": _basic("mallory", hub.tokens["alice"]),
        "basic-other-members-token": _basic("alice", hub.tokens["bob"]),
        "garbage": "Basic !!!",
        "other-scheme": "Digest abc",
    }
    for method, url in endpoints(hub, "shared", oids["shared"], status_id):
        for label, header in wrong.items():
            resp = _raw(hub, method, url, header, stix)
            assert resp.status_code == 401, (label, method, url, resp.text)
            assert "Basic" in resp.headers["WWW-Authenticate"]
            assert "Bearer" in resp.headers["WWW-Authenticate"]
            assert resp.json()["http_status"] == "401"
    listing = hub.call("GET", hub.objects_url("shared"), "alice")
    assert len(listing.json()["objects"]) == 1, "nothing may have been written or deleted"


@pytest.mark.parametrize("bearer", [True, False], ids=["bearer", "basic"])
def test_basic_and_bearer_both_work(hub, stix, bearer):
    obj = stix.indicator()
    resp = hub.call(
        "POST", hub.objects_url("shared"), "alice", bearer=bearer, json={"objects": [obj]}
    )
    assert resp.status_code == 202 and resp.json()["success_count"] == 1
    got = hub.call("GET", hub.objects_url("shared"), "bob", bearer=bearer)
    assert got.status_code == 200
    assert [o["id"] for o in got.json()["objects"]] == [obj["id"]]


def test_token_scheme_of_taxii2client_tokenauth_works(hub):
    resp = hub.call(
        "GET", hub.url + "/taxii2/", None, headers={"Authorization": f"Token {hub.tokens['carol']}"}
    )
    assert resp.status_code == 200


def test_ungranted_collection_is_indistinguishable_from_a_missing_one(hub, seeded, stix):
    oids, status_id = seeded
    for method, url in endpoints(hub, "alice", oids["alice"], status_id)[3:]:
        resp = _raw(hub, method, url, f"Bearer {hub.tokens['bob']}", stix)
        assert resp.status_code == 404, (method, url, resp.text)
        missing = url.replace(hub.colls["alice"], "00000000-0000-4000-8000-000000000000")
        if "/status/" not in url:
            other = _raw(hub, method, missing, f"Bearer {hub.tokens['bob']}", stix)
            assert other.status_code == 404
            assert other.json()["title"] == resp.json()["title"]
    listed = hub.call("GET", hub.root + "collections/", "bob").json()["collections"]
    assert hub.colls["alice"] not in {c["id"] for c in listed}
    alice_view = hub.call("GET", hub.objects_url("alice"), "alice").json()["objects"]
    assert [o["id"] for o in alice_view] == [oids["alice"]]


def test_read_only_and_write_only_grants(hub, seeded, stix):
    oids, _ = seeded
    ro = f"{hub.root}collections/{hub.colls['readonly']}/"
    for path in (
        "objects/",
        "manifest/",
        f"objects/{oids['readonly']}/",
        f"objects/{oids['readonly']}/versions/",
    ):
        assert hub.call("GET", ro + path, "bob").status_code == 200, path
    post = hub.call("POST", ro + "objects/", "bob", json={"objects": [stix.indicator(stix.bob)]})
    assert post.status_code == 403 and post.json()["http_status"] == "403"
    assert hub.call("DELETE", ro + f"objects/{oids['readonly']}/", "bob").status_code == 403

    wo = f"{hub.root}collections/{hub.colls['writeonly']}/"
    info = hub.call("GET", wo, "bob").json()
    assert (info["can_read"], info["can_write"]) == (False, True)
    for path in (
        "objects/",
        "manifest/",
        f"objects/{oids['writeonly']}/",
        f"objects/{oids['writeonly']}/versions/",
    ):
        assert hub.call("GET", wo + path, "bob").status_code == 403, path
    ok = hub.call("POST", wo + "objects/", "bob", json={"objects": [stix.indicator(stix.bob)]})
    assert ok.status_code == 202 and ok.json()["success_count"] == 1

    carol = hub.call("POST", hub.objects_url("shared"), "carol", json={"objects": []})
    assert carol.status_code == 403


def test_cannot_publish_as_another_identity(hub, stix):
    as_alice = stix.indicator(stix.alice)
    status = hub.post("shared", [as_alice], who="bob")
    assert status["success_count"] == 0 and status["failure_count"] == 1
    assert "created_by_ref must be your own identity" in status["failures"][0]["message"]
    fake_identity = stix.identity(stix.alice, created_by_ref=stix.alice)
    status = hub.post("shared", [fake_identity], who="bob")
    assert status["failure_count"] == 1

    theirs = stix.campaign(stix.alice)
    hub.post("shared", [theirs], who="alice")
    hijack = dict(theirs, created_by_ref=stix.bob, modified=stix.ts(9), name="renamed by bob")
    status = hub.post("shared", [hijack], who="bob")
    assert status["failure_count"] == 1
    assert "only its creator" in status["failures"][0]["message"]
    got = hub.call("GET", hub.objects_url("shared"), "carol").json()["objects"]
    assert got == [theirs]


def test_status_is_only_visible_to_its_requester(hub, seeded):
    _, status_id = seeded
    url = hub.root + f"status/{status_id}/"
    assert hub.call("GET", url, "alice").json()["id"] == status_id
    assert hub.call("GET", url, "bob").status_code == 404


def test_delete_only_own_versions(hub, stix):
    mine = stix.indicator(stix.bob)
    hub.post("shared", [mine], who="bob")
    url = hub.objects_url("shared") + mine["id"] + "/"
    assert hub.call("DELETE", url, "alice").status_code == 403
    assert hub.call("DELETE", url, "bob").status_code == 200
    assert hub.call("GET", url, "bob").status_code == 404


def test_revoked_token_is_refused(hub):
    assert hub.call("GET", hub.url + "/taxii2/", "carol").status_code == 200
    assert revoke_token(hub.db_url, "carol") == 1
    assert hub.call("GET", hub.url + "/taxii2/", "carol").status_code == 401


def test_media_types_and_size(hub, stix):
    url = hub.objects_url("shared")
    assert hub.call("GET", url, "alice", headers={"Accept": "text/html"}).status_code == 406
    for accept in ("application/taxii+json", "*/*", "application/taxii+json;version=2.1"):
        assert hub.call("GET", url, "alice", headers={"Accept": accept}).status_code == 200
    plain_json = hub.call(
        "POST", url, "alice", json={"objects": []}, headers={"Content-Type": "application/json"}
    )
    assert plain_json.status_code == 415
    limit = hub.call("GET", hub.root, "alice").json()["max_content_length"]
    big = hub.call(
        "POST",
        url,
        "alice",
        data=b" " * (limit + 1),
        headers={"Content-Type": "application/taxii+json;version=2.1"},
    )
    assert big.status_code == 413
    bad = hub.call(
        "POST", url, "alice", data=b"{not json", headers={"Content-Type": "application/taxii+json"}
    )
    assert bad.status_code == 400 and bad.json()["title"] == "Bad Request"
    unknown = hub.call("GET", hub.url + "/nowhere/at/all", "alice")
    assert unknown.status_code == 404 and unknown.json()["http_status"] == "404"
