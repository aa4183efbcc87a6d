"""The unchanged taxii2-client against a real hub on 127.0.0.1 (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from taxii2client.exceptions import AccessError
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from distillwatch.hub.settings import HubSettings

TAXII = "application/taxii+json;version=2.1"


def _collection(hub, name: str, who: str = "alice") -> Collection:
    url = f"{hub.root}collections/{hub.colls[name]}/"
    return Collection(url, user=who, password=hub.tokens[who])


def test_discovery_api_root_and_collections(hub):
    server = Server(hub.url + "/taxii2/", user="alice", password=hub.tokens["alice"])
    assert server.title == HubSettings().title
    assert [r.url for r in server.api_roots] == [hub.root]
    root = server.default
    assert root is not None and root.url == hub.root
    assert root.versions == [TAXII]
    assert root.max_content_length == HubSettings().max_content_length
    seen = {c.title: (c.can_read, c.can_write) for c in root.collections}
    assert seen == {n: (True, True) for n in ("shared", "alice", "readonly", "writeonly")}
    bob_root = ApiRoot(hub.root, user="bob", password=hub.tokens["bob"])
    bob_seen = {c.title: (c.can_read, c.can_write) for c in bob_root.collections}
    assert bob_seen == {
        "shared": (True, True),
        "readonly": (True, False),
        "writeonly": (False, True),
    }


def test_add_objects_paged_get_and_manifest(hub, stix):
    coll = _collection(hub, "shared")
    objects = [stix.indicator(n=i) for i in range(120)]
    status = coll.add_objects({"objects": objects})
    assert status.status == "complete"
    assert (status.total_count, status.success_count, status.failure_count) == (120, 120, 0)
    assert {s["id"] for s in status.successes} == {o["id"] for o in objects}
    again = ApiRoot(hub.root, user="alice", password=hub.tokens["alice"]).get_status(status.id)
    assert again.success_count == 120

    pages = list(as_pages(coll.get_objects, per_request=50))
    assert [len(p["objects"]) for p in pages] == [50, 50, 20]
    assert [p["more"] for p in pages] == [True, True, False]
    assert [o["id"] for p in pages for o in p["objects"]] == [o["id"] for o in objects]
    assert pages[0]["objects"][0] == objects[0]

    manifest = list(as_pages(coll.get_manifest, per_request=45))
    records = [r for p in manifest for r in p["objects"]]
    assert [len(p["objects"]) for p in manifest] == [45, 45, 30]
    assert [r["id"] for r in records] == [o["id"] for o in objects]
    assert {r["version"] for r in records} == {objects[0]["modified"]}
    added = [r["date_added"] for r in records]
    assert added == sorted(added) and len(set(added)) == len(added)

    types = coll.get_objects(type="campaign")
    assert types["objects"] == [] and types["more"] is False


def test_object_versions_and_version_filters(hub, stix):
    coll = _collection(hub, "shared")
    v1 = stix.indicator(modified=stix.ts(1))
    v3 = dict(v1, modified=stix.ts(3), name="renewed")
    v2 = dict(v1, modified=stix.ts(2), name="late copy of an older version")
    coll.add_objects({"objects": [v1, v3]})
    coll.add_objects({"objects": [v2]})
    oid = v1["id"]

    assert coll.object_versions(oid)["versions"] == [stix.ts(1), stix.ts(3), stix.ts(2)]
    assert coll.get_object(oid)["objects"] == [v3]
    assert coll.get_object(oid, version="first")["objects"] == [v1]
    assert len(coll.get_object(oid, version="all")["objects"]) == 3
    assert coll.get_object(oid, version=stix.ts(2))["objects"] == [v2]
    assert coll.get_objects(version="last")["objects"] == [v3]
    assert coll.get_objects(id=oid, version="first,last")["objects"] == [v1, v3]

    unchanged = coll.add_objects({"objects": [v3]})
    assert unchanged.success_count == 1
    assert len(coll.object_versions(oid)["versions"]) == 3


def test_client_refuses_what_the_hub_says_it_cannot_do(hub, stix):
    bob_writeonly = _collection(hub, "writeonly", who="bob")
    assert (bob_writeonly.can_read, bob_writeonly.can_write) == (False, True)
    with pytest.raises(AccessError):
        bob_writeonly.get_objects()
    bob_readonly = _collection(hub, "readonly", who="bob")
    with pytest.raises(AccessError):
        bob_readonly.add_objects({"objects": [stix.indicator(stix.bob)]})
