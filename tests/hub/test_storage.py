"""Storage semantics: date_added order and paging under rapid writes, versions, filters."""

from __future__ import annotations

import threading

import orjson
import requests

from distillwatch.hub.storage import NewObject, ObjectQuery, open_store, parse_timestamp


def test_rapid_concurrent_posts_keep_date_added_strict_and_paging_complete(hub, stix):
    writers, envelopes, size = 4, 6, 15
    posted: list[str] = []
    lock = threading.Lock()
    errors: list[str] = []

    def write(k: int) -> None:
        own = requests.Session()
        for e in range(envelopes):
            objs = [stix.indicator(n=k * 1000 + e * 100 + i) for i in range(size)]
            resp = hub.call(
                "POST", hub.objects_url("shared"), "alice", json={"objects": objs}, session=own
            )
            if resp.status_code != 202 or resp.json()["success_count"] != size:
                errors.append(resp.text)
            with lock:
                posted.extend(o["id"] for o in objs)
        own.close()

    seen: list[str] = []
    stamps: list[int] = []

    def pull_once(after: str | None) -> str | None:
        """One added_after pass to the end, as `intel pull` does; returns the new cursor."""
        while True:
            params = {"limit": "7", **({"added_after": after} if after else {})}
            resp = hub.call("GET", hub.objects_url("shared"), "bob", params=params)
            assert resp.status_code == 200, resp.text
            page = resp.json()
            if not page["objects"]:
                return after
            seen.extend(o["id"] for o in page["objects"])
            last = resp.headers["X-TAXII-Date-Added-Last"]
            man = hub.call(
                "GET",
                hub.objects_url("shared").replace("/objects/", "/manifest/"),
                "bob",
                params=params,
            ).json()["objects"]
            stamps.extend(parse_timestamp(m["date_added"]) for m in man)
            after = last

    threads = [threading.Thread(target=write, args=(k,)) for k in range(writers)]
    for t in threads:
        t.start()
    cursor = None
    while any(t.is_alive() for t in threads):
        cursor = pull_once(cursor)
    for t in threads:
        t.join()
    pull_once(cursor)

    assert errors == []
    assert len(posted) == writers * envelopes * size
    assert sorted(seen) == sorted(posted), "each object exactly once"
    assert len(stamps) == len(set(stamps)) == len(posted)
    assert stamps == sorted(stamps)


def test_next_token_pages_and_filters(hub, stix):
    objs = [stix.indicator(n=i) for i in range(9)] + [stix.campaign() for _ in range(3)]
    hub.post("shared", objs)
    url = hub.objects_url("shared")
    ids, params = [], {"limit": "4", "match[type]": "indicator"}
    while True:
        page = hub.call("GET", url, "alice", params=params).json()
        ids += [o["id"] for o in page["objects"]]
        if not page["more"]:
            break
        params = {**params, "next": page["next"]}
    assert ids == [o["id"] for o in objs[:9]]
    two = f"{objs[0]['id']},{objs[10]['id']}"
    got = hub.call("GET", url, "alice", params={"match[id]": two}).json()["objects"]
    assert [o["id"] for o in got] == [objs[0]["id"], objs[10]["id"]]
    none = hub.call("GET", url, "alice", params={"match[spec_version]": "2.0"}).json()
    assert none["objects"] == []
    for bad in (
        {"limit": "0"},
        {"added_after": "yesterday"},
        {"next": "abc"},
        {"match[version]": "2026-13-45"},
    ):
        resp = hub.call("GET", url, "alice", params=bad)
        assert resp.status_code == 400, bad
        assert resp.json()["title"] == "Bad Request"


def _obj(oid: str, version_us: int | None, body: str = "{}", by: str | None = "identity--x"):
    version = None if version_us is None else f"v{version_us}"
    return NewObject(oid, oid.split("--")[0], "2.1", version, version_us, by, body)


def test_version_flags_survive_out_of_order_envelopes_and_deletes(db_url):
    store = open_store(db_url)
    try:
        coll = store.add_collection("default", "c", "")
        member = store.add_member("m", "identity--6b7a9f1c-3b57-4d3e-9a3e-2a3b3f6c9a11", "f" * 64)
        oid = "campaign--00000000-0000-4000-8000-000000000001"
        first = store.insert_objects(coll, member, [_obj(oid, 20), _obj(oid, 30)])
        second = store.insert_objects(coll, member, [_obj(oid, 10), _obj(oid, 30)])
        assert [r.ok for r in first + second] == [True] * 4
        assert second[1].message == "already stored"

        def versions(*which):
            page = store.query_objects(coll, ObjectQuery(ids=(oid,), versions=which))
            return [r.version for r in page.rows]

        assert versions("last") == ["v30"]
        assert versions("first") == ["v10"]
        assert versions("all") == ["v20", "v30", "v10"]
        assert versions(20, "first") == ["v20", "v10"]

        taken = store.insert_objects(coll, member, [_obj(oid, 40, by="identity--other")])
        assert not taken[0].ok and "only its creator" in taken[0].message

        assert store.delete_object(coll, oid, member, ObjectQuery(versions=("last",))) == (1, 1)
        assert versions("last") == ["v20"] and versions("first") == ["v10"]

        sco = "ipv4-addr--00000000-0000-4000-8000-000000000002"
        a = store.insert_objects(coll, member, [_obj(sco, None, '{"value":"1.2.3.4"}', None)])
        b = store.insert_objects(coll, member, [_obj(sco, None, '{"value":"1.2.3.4"}', None)])
        c = store.insert_objects(coll, member, [_obj(sco, None, '{"value":"5.6.7.8"}', None)])
        assert b[0].message == "already stored" and b[0].version == a[0].version
        assert c[0].version != a[0].version
        page = store.query_objects(coll, ObjectQuery(ids=(sco,), versions=("all",)))
        assert [orjson.loads(r.body)["value"] for r in page.rows] == ["1.2.3.4", "5.6.7.8"]
    finally:
        store.close()
