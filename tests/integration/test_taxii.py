"""The intel store and the TAXII 2.1 server against a real ciipd: every
endpoint and filter, content negotiation, every error as a TAXII error
message, TLP and organisation rules, stable pagination over 10,000 objects
while more are added, the console's /api/v1/intel and /api/v1/collections,
and `ciip intel import/export`."""
import base64
import hashlib
import hmac
import json
import os
import sqlite3
import threading
import uuid

import pytest

from conftest import Demo, Node, run_ciip
from taxii_client import MEDIA, Client, TaxiiError

ROOT = "/taxii2/ciip/"
TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
INTEL_EXT = "extension-definition--49e79b4e-09ea-4b24-ae52-e582d779e501"
DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "stix")


def client(demo, name, scheme="Bearer"):
    return Client(demo.node.url(), token=demo.token(name), scheme=scheme)


def indicator(tlp="green", modified="2025-01-01T00:00:00.000Z", oid=None, value="192.0.2.1"):
    o = {
        "type": "indicator", "spec_version": "2.1",
        "id": oid or "indicator--%s" % uuid.uuid4(),
        "created": "2024-01-01T00:00:00.000Z", "modified": modified,
        "name": "test indicator", "pattern": "[ipv4-addr:value = '%s']" % value,
        "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z",
    }
    if tlp:
        o["object_marking_refs"] = [TLP[tlp]]
    return o


def cid(demo, alias):
    c = client(demo, "analyst")
    for col in c.collections(ROOT):
        if col.get("alias") == alias:
            return col["id"]
    raise AssertionError("no collection " + alias)


def assert_taxii_error(r, status):
    assert r.status == status, (r.status, r.body[:300])
    assert r.headers["content-type"] == MEDIA
    e = json.loads(r.body)
    assert e["http_status"] == str(status)
    assert e["title"] and e["description"]
    return e


def raw(demo, method, path, name="analyst", headers=None, body=None):
    h = dict(demo.bearer(name)) if name else {}
    h.setdefault("Accept", MEDIA)
    h.update(headers or {})
    r = demo.node.request(method, path, body=body, headers=h)
    r.headers = {k.lower(): v for k, v in r.headers}
    return r


@pytest.fixture(scope="module")
def island(shared_demo):
    """A token of an organisation outside the sharing community."""
    r = shared_demo.call("admin", "POST", "/api/v1/orgs",
                         {"name": "Island Grid", "sector": "energy", "kind": "operator",
                          "community": False})
    assert r.status == 201, r.body
    r = shared_demo.call("admin", "POST", "/api/v1/tokens",
                         {"name": "island", "role": "reporter", "org": "Island Grid"})
    assert r.status == 201, r.body
    return Client(shared_demo.node.url(), token=r.json()["token"])


# ---- discovery, API root, collections ---------------------------------------------

def test_discovery_and_api_root(shared_demo):
    c = client(shared_demo, "analyst")
    d = c.discover()
    assert d["title"]
    assert d["api_roots"] and d["default"] in d["api_roots"]
    info = c.api_root(d["default"])
    assert info["versions"] == [MEDIA]
    assert info["max_content_length"] >= 1024 * 1024
    assert c.path_of(d["default"]) == ROOT


def test_collections_show_rights_per_caller(shared_demo):
    cols = {c["alias"]: c for c in client(shared_demo, "analyst").collections(ROOT)}
    assert set(cols) >= {"advisories", "indicators", "sightings", "incidents"}
    assert all(c["can_read"] and c["can_write"] for c in cols.values())
    assert cols["indicators"]["media_types"] == ["application/stix+json;version=2.1"]
    # A member reporter reads everything but writes only where members may.
    rep = {c["alias"]: c for c in client(shared_demo, "reporter").collections(ROOT)}
    assert rep["advisories"]["can_read"] and not rep["advisories"]["can_write"]
    assert rep["indicators"]["can_write"]
    # A viewer has no TAXII write right at all.
    view = {c["alias"]: c for c in client(shared_demo, "viewer").collections(ROOT)}
    assert not any(c["can_write"] for c in view.values())
    one = client(shared_demo, "viewer").collection(ROOT, cols["indicators"]["id"])
    assert one["id"] == cols["indicators"]["id"] and one["can_read"]


def test_sensor_token_may_not_use_taxii(shared_demo):
    r = raw(shared_demo, "GET", ROOT + "collections/", name="demo-suricata")
    assert_taxii_error(r, 403)


def test_every_authentication_scheme(shared_demo):
    url = shared_demo.node.url()
    for c in (Client(url, token=shared_demo.token("national-node"), scheme="Bearer"),
              Client(url, token=shared_demo.token("national-node"), scheme="Token"),
              Client(url, user="national-node", password=shared_demo.token("national-node")),
              Client(url, user="reporter", password=shared_demo.account("reporter")["password"])):
        assert len(c.collections(ROOT)) >= 4
    for c in (Client(url), Client(url, user="reporter", password="wrong"),
              Client(url, token="ciip_api_nonsense")):
        with pytest.raises(TaxiiError) as ei:
            c.collections(ROOT)
        assert ei.value.status == 401
        assert ei.value.error["http_status"] == "401"
        assert "Basic" in ei.value.headers["www-authenticate"]


# ---- content negotiation and errors ------------------------------------------------

@pytest.mark.parametrize("accept", [
    MEDIA, "application/taxii+json", "application/taxii+json; version=2.1", "*/*",
    "application/*", "text/html, application/taxii+json;version=2.1;q=0.9", None])
def test_acceptable_media_types(shared_demo, accept):
    h = {"Accept": accept} if accept else {}
    r = shared_demo.node.request("GET", ROOT + "collections/",
                                 headers=dict(shared_demo.bearer("analyst"), **h))
    assert r.status == 200
    assert r.header("Content-Type") == MEDIA


@pytest.mark.parametrize("accept", [
    "application/json", "application/taxii+json;version=2.0", "text/html",
    "application/stix+json;version=2.1", "application/taxii+json;q=0"])
def test_unacceptable_media_types_get_406(shared_demo, accept):
    r = raw(shared_demo, "GET", ROOT + "collections/", headers={"Accept": accept})
    assert_taxii_error(r, 406)


@pytest.mark.parametrize("ctype", [
    None, "application/json", "application/taxii+json;version=2.0",
    "application/stix+json;version=2.1", "text/plain"])
def test_post_with_wrong_content_type_gets_415(shared_demo, ctype):
    path = ROOT + "collections/%s/objects/" % cid(shared_demo, "indicators")
    h = {"Content-Type": ctype} if ctype else {}
    r = raw(shared_demo, "POST", path, headers=h,
            body=json.dumps({"objects": [indicator()]}))
    assert_taxii_error(r, 415)


def test_post_with_bare_taxii_media_type_is_accepted(shared_demo):
    path = ROOT + "collections/%s/objects/" % cid(shared_demo, "indicators")
    r = raw(shared_demo, "POST", path, headers={"Content-Type": "application/taxii+json"},
            body=json.dumps({"objects": [indicator()]}))
    assert r.status == 202
    assert json.loads(r.body)["success_count"] == 1


def test_errors_are_taxii_error_messages(shared_demo):
    ind = cid(shared_demo, "indicators")
    cases = [
        ("GET", ROOT + "collections/no-such-collection/objects/", None, "analyst", 404),
        ("GET", ROOT + "collections/%s/objects/indicator--%s/" % (ind, uuid.uuid4()), None,
         "analyst", 404),
        ("GET", ROOT + "collections/%s/objects/not-an-id/" % ind, None, "analyst", 404),
        ("GET", ROOT + "status/%s/" % uuid.uuid4(), None, "analyst", 404),
        ("GET", "/taxii2/other-root/", None, "analyst", 404),
        ("GET", ROOT + "collections/%s/nothing/" % ind, None, "analyst", 404),
        ("PUT", ROOT + "collections/%s/objects/" % ind, "{}", "analyst", 405),
        ("DELETE", ROOT + "collections/", None, "analyst", 405),
        ("POST", ROOT + "collections/%s/objects/" % ind, "{\"objects\": [", "analyst", 400),
        ("POST", ROOT + "collections/%s/objects/" % ind, "[]", "analyst", 400),
        ("POST", ROOT + "collections/%s/objects/" % ind, "{\"objects\": {}}", "analyst", 400),
        ("POST", ROOT + "collections/%s/objects/" % ind, "", "analyst", 400),
        ("POST", ROOT + "collections/%s/objects/" % ind, "[" * 100000, "analyst", 400),
        ("POST", ROOT + "collections/%s/objects/" % ind, json.dumps({"objects": []}), "viewer",
         403),
        ("POST", ROOT + "collections/%s/objects/" % cid(shared_demo, "advisories"),
         json.dumps({"objects": [indicator()]}), "reporter", 403),
        ("GET", ROOT, None, None, 401),
    ]
    for method, path, body, who, status in cases:
        r = raw(shared_demo, method, path, name=who, body=body,
                headers={"Content-Type": MEDIA} if body is not None else {})
        assert_taxii_error(r, status)


def test_oversized_envelope_gets_413(make_node):
    n = make_node(config="http:\n  max_body_bytes: 65536\n", args=["--demo"])
    demo = Demo(n)
    path = ROOT + "collections/%s/objects/" % cid(demo, "indicators")
    objs = [indicator() for _ in range(200)]
    r = raw(demo, "POST", path, headers={"Content-Type": MEDIA},
            body=json.dumps({"objects": objs}))
    assert_taxii_error(r, 413)
    assert client(demo, "analyst").api_root(ROOT)["max_content_length"] == 65536
    # The connection is not left broken: the next request works.
    assert len(client(demo, "analyst").collections(ROOT)) == 4


BAD_PARAMS = [
    ("objects/", {"added_after": "yesterday"}),
    ("objects/", {"added_after": "2024-01-01"}),
    ("objects/", {"limit": "0"}),
    ("objects/", {"limit": "-1"}),
    ("objects/", {"limit": "ten"}),
    ("objects/", {"limit": "1e3"}),
    ("objects/", {"limit": "99999999999999999999999999"}),
    ("objects/", {"next": "garbage!"}),
    ("objects/", {"next": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}),
    ("objects/", {"match[type]": "Indicator"}),
    ("objects/", {"match[type]": ""}),
    ("objects/", {"match[type]": "indicator,"}),
    ("objects/", {"match[id]": "indicator--1"}),
    ("objects/", {"match[version]": "latest"}),
    ("objects/", {"match[version]": "2024-13-01T00:00:00Z"}),
    ("objects/", {"match[spec_version]": "x"}),
    ("objects/", {"match[bogus]": "1"}),
    ("objects/", {"limit": ["1", "2"]}),
    ("manifest/", {"match[version]": "nope"}),
    ("manifest/", {"added_after": "%00"}),
    ("objects/%s/" % INTEL_EXT, {"match[type]": "indicator"}),
    ("objects/%s/" % INTEL_EXT, {"match[version]": "never"}),
    ("objects/%s/versions/" % INTEL_EXT, {"match[version]": "all"}),
    ("objects/%s/versions/" % INTEL_EXT, {"limit": "none"}),
]


@pytest.mark.parametrize("rest,params", BAD_PARAMS)
def test_malformed_parameters_get_400(shared_demo, rest, params):
    c = client(shared_demo, "analyst")
    path = c._cpath(ROOT, cid(shared_demo, "advisories"), rest)
    r = c.request("GET", path, params=params)
    assert r.status == 400, (params, r.status, r.body)
    assert r.headers["content-type"] == MEDIA
    assert json.loads(r.body)["http_status"] == "400"


# ---- the round trip -------------------------------------------------------------------

def test_spec_client_adds_and_gets_back_identical_objects(shared_demo):
    c = client(shared_demo, "analyst")
    root = c.discover()["default"]
    col = [x for x in c.collections(root) if x["can_write"] and x.get("alias") == "indicators"][0]
    objs = json.load(open(os.path.join(DATA, "apt1.json")))["objects"][:30]
    objs += [
        {"type": "ipv4-addr", "id": "ipv4-addr--%s" % uuid.uuid4(), "value": "203.0.113.77"},
        {"type": "x-acme-widget", "spec_version": "2.1", "id": "x-acme-widget--%s" % uuid.uuid4(),
         "created": "2024-05-01T10:00:00.123456Z", "modified": "2024-05-01T10:00:00.123456Z",
         "x_note": "\u00e9t\u00e9 \u2014 \U0001f600", "nested": {"a": [1, 2.5, None, True]}},
        {"type": "marking-definition", "spec_version": "2.1",
         "id": "marking-definition--%s" % uuid.uuid4(), "created": "2024-01-01T00:00:00.000Z",
         "definition_type": "statement", "definition": {"statement": "Copyright Example"}},
    ]
    status = c.add(root, col["id"], objs)
    assert status["status"] == "complete"
    assert status["total_count"] == len(objs)
    assert status["success_count"] == len(objs), status["failures"]
    assert status["failure_count"] == 0 and status["pending_count"] == 0
    assert {s["id"] for s in status["successes"]} == {o["id"] for o in objs}
    assert c.status(root, status["id"]) == status
    for o in objs:
        env = c.get(root, col["id"], o["id"])
        assert env["objects"] == [o]
    ids = ",".join(o["id"] for o in objs[:10])
    env, _ = c.objects(root, col["id"], match_id=ids, limit=50)
    assert sorted(x["id"] for x in env["objects"]) == sorted(o["id"] for o in objs[:10])
    man, headers = c.manifest(root, col["id"], match_id=objs[0]["id"])
    rec = man["objects"][0]
    assert rec["id"] == objs[0]["id"] and rec["media_type"] == "application/stix+json;version=2.1"
    assert rec["version"] == objs[0]["modified"]
    assert headers["x-taxii-date-added-first"] == rec["date_added"]
    # Posting the same objects again is not an error and adds nothing.
    again = c.add(root, col["id"], objs[:5])
    assert again["success_count"] == 5
    assert len(c.versions(root, col["id"], objs[0]["id"])["versions"]) == 1


def test_failures_name_the_object_and_property(shared_demo):
    c = client(shared_demo, "analyst")
    good, bad = indicator(), indicator()
    bad["modified"] = "2023-01-01T00:00:00.000Z"  # before created
    odd = {"type": "indicator", "id": "indicator--nope"}
    st = c.add(ROOT, cid(shared_demo, "indicators"), [good, bad, odd])
    assert st["success_count"] == 1 and st["failure_count"] == 2
    msgs = {f["id"]: f["message"] for f in st["failures"]}
    assert "modified" in msgs[bad["id"]] and bad["id"] in msgs[bad["id"]]
    assert any("id" in m for k, m in msgs.items() if k != bad["id"])


def test_versions_and_match_version(shared_demo):
    c = client(shared_demo, "analyst")
    col = cid(shared_demo, "indicators")
    oid = "indicator--%s" % uuid.uuid4()
    stamps = ["2025-01-01T00:00:00.000Z", "2025-02-01T00:00:00.000Z", "2025-03-01T00:00:00.5Z"]
    st = c.add(ROOT, col, [indicator(oid=oid, modified=m) for m in stamps])
    assert st["success_count"] == 3
    get = lambda **kw: [o["modified"] for o in c.get(ROOT, col, oid, **kw).get("objects", [])]
    assert get() == [stamps[2]]
    assert get(match_version="last") == [stamps[2]]
    assert get(match_version="first") == [stamps[0]]
    assert get(match_version="all") == stamps
    assert get(match_version="first,last") == [stamps[0], stamps[2]]
    assert get(match_version="2025-02-01T00:00:00Z") == [stamps[1]]
    assert get(match_version="2025-03-01T00:00:00.500000Z") == [stamps[2]]
    assert get(match_spec_version="2.0") == []
    assert get(match_spec_version="2.0,2.1") == [stamps[2]]
    assert get(match_version="all", limit=2) == stamps[:2]
    v = c.versions(ROOT, col, oid)
    assert v["versions"] == stamps and v["more"] is False
    v = c.versions(ROOT, col, oid, limit=1)
    assert v["versions"] == stamps[:1] and v["more"] is True
    v2 = c.versions(ROOT, col, oid, limit=5, next=v["next"])
    assert v2["versions"] == stamps[1:]
    man, _ = c.manifest(ROOT, col, match_id=oid, match_version="all")
    assert [r["version"] for r in man["objects"]] == stamps
    env, _ = c.objects(ROOT, col, match_id=oid, match_version="all")
    assert [o["modified"] for o in env["objects"]] == stamps


def test_filters_type_id_and_added_after(shared_demo):
    c = client(shared_demo, "analyst")
    col = cid(shared_demo, "sightings")
    env, h = c.objects(ROOT, col, limit=5)
    first, last = h["x-taxii-date-added-first"], h["x-taxii-date-added-last"]
    assert first <= last
    env2, h2 = c.objects(ROOT, col, limit=5, added_after=last)
    assert h2["x-taxii-date-added-first"] > last
    assert not {o["id"] for o in env["objects"]} & {o["id"] for o in env2["objects"]}
    types = {o["type"] for o in c.all_objects(ROOT, col, match_type="sighting")}
    assert types == {"sighting"}
    both = c.all_objects(ROOT, cid(shared_demo, "advisories"), match_type="malware,threat-actor")
    assert {o["type"] for o in both} == {"malware", "threat-actor"}
    env, _ = c.objects(ROOT, col, added_after="2999-01-01T00:00:00Z")
    assert env == {"more": False}
    man, _ = c.manifest(ROOT, col, match_type="sighting", limit=3)
    assert len(man["objects"]) == 3 and man["more"] is True


def test_delete(shared_demo):
    rep, ana = client(shared_demo, "reporter"), client(shared_demo, "isp-reporter")
    col = cid(shared_demo, "indicators")
    oid = "indicator--%s" % uuid.uuid4()
    rep.add(ROOT, col, [indicator(oid=oid, modified=m)
                        for m in ("2025-01-01T00:00:00.000Z", "2025-02-01T00:00:00.000Z")])
    # Another member may not delete it; the node's staff may.
    with pytest.raises(TaxiiError) as ei:
        ana.delete(ROOT, col, oid)
    assert ei.value.status == 403
    rep.delete(ROOT, col, oid, match_version="last")
    assert [o["modified"] for o in rep.get(ROOT, col, oid)["objects"]] == \
        ["2025-01-01T00:00:00.000Z"]
    rep.add(ROOT, col, [indicator(oid=oid, modified="2025-03-01T00:00:00.000Z")])
    client(shared_demo, "analyst").delete(ROOT, col, oid)  # every version
    with pytest.raises(TaxiiError) as ei:
        rep.get(ROOT, col, oid)
    assert ei.value.status == 404
    with pytest.raises(TaxiiError) as ei:
        rep.delete(ROOT, col, oid)
    assert ei.value.status == 404


def test_status_belongs_to_its_organisation(shared_demo):
    st = client(shared_demo, "reporter").add(ROOT, cid(shared_demo, "indicators"), [indicator()])
    assert client(shared_demo, "reporter").status(ROOT, st["id"])["id"] == st["id"]
    with pytest.raises(TaxiiError) as ei:
        client(shared_demo, "isp-reporter").status(ROOT, st["id"])
    assert ei.value.status == 404


# ---- TLP and organisations -------------------------------------------------------------

def test_amber_is_invisible_outside_the_community(shared_demo, island):
    col = cid(shared_demo, "indicators")
    amber, clear = indicator("amber"), indicator("clear")
    client(shared_demo, "reporter").add(ROOT, col, [amber, clear])
    for name in ("analyst", "viewer", "isp-reporter", "national-node"):
        assert client(shared_demo, name).get(ROOT, col, amber["id"])["objects"] == [amber]
    with pytest.raises(TaxiiError) as ei:
        island.get(ROOT, col, amber["id"])
    assert ei.value.status == 404
    seen = {o["id"] for o in island.all_objects(ROOT, col, limit=1000)}
    assert clear["id"] in seen and amber["id"] not in seen
    man = island.manifest(ROOT, col, match_id=amber["id"])[0]
    assert "objects" not in man


def test_red_is_served_only_to_its_owner(shared_demo, island):
    col = cid(shared_demo, "indicators")
    red, strict = indicator("red"), indicator("amber+strict")
    client(shared_demo, "reporter").add(ROOT, col, [red, strict])
    assert client(shared_demo, "reporter").get(ROOT, col, red["id"])["objects"] == [red]
    for name in ("admin", "analyst", "reviewer", "viewer", "isp-reporter", "national-node"):
        c = client(shared_demo, name)
        for o in (red, strict):
            with pytest.raises(TaxiiError) as ei:
                c.get(ROOT, col, o["id"])
            assert ei.value.status == 404
        seen = {o["id"] for o in c.all_objects(ROOT, col, limit=1000, match_version="all")}
        assert red["id"] not in seen and strict["id"] not in seen
    # Nor can anyone else learn of it by posting a version of it.
    st = client(shared_demo, "isp-reporter").add(
        ROOT, col, [indicator("red", oid=red["id"], modified="2025-06-01T00:00:00.000Z")])
    assert st["failure_count"] == 1


def test_unmarked_objects_take_the_collection_default(shared_demo, island):
    col = cid(shared_demo, "indicators")  # default TLP:AMBER
    o = indicator(tlp=None)
    client(shared_demo, "reporter").add(ROOT, col, [o])
    assert client(shared_demo, "viewer").get(ROOT, col, o["id"])["objects"] == [o]
    with pytest.raises(TaxiiError):
        island.get(ROOT, col, o["id"])
    r = shared_demo.call("admin", "POST", "/api/v1/collections",
                         {"title": "Open feed", "alias": "open-feed", "default_tlp": "clear",
                          "can_write": {"roles": ["*"], "orgs": ["*"]}})
    assert r.status == 201, r.body
    open_id = r.json()["id"]
    o2 = indicator(tlp=None)
    client(shared_demo, "reporter").add(ROOT, open_id, [o2])
    assert island.get(ROOT, open_id, o2["id"])["objects"] == [o2]


def test_marking_is_only_lowered_explicitly_by_an_analyst(shared_demo):
    col = cid(shared_demo, "indicators")
    c = client(shared_demo, "analyst")
    o = indicator("amber")
    c.add(ROOT, col, [o])
    lower = indicator("green", oid=o["id"], modified="2025-06-01T00:00:00.000Z")
    st = c.add(ROOT, col, [lower])
    assert st["failure_count"] == 1
    assert "object_marking_refs" in st["failures"][0]["message"]
    body = {"collection": "indicators", "tlp": "green", "lower_marking": True}
    r = shared_demo.call("reporter", "PATCH", "/api/v1/intel/" + o["id"], body)
    assert r.status in (403, 404)
    r = shared_demo.call("analyst", "PATCH", "/api/v1/intel/" + o["id"],
                         {"collection": "indicators", "tlp": "green"})
    assert r.status == 409
    r = shared_demo.call("analyst", "PATCH", "/api/v1/intel/" + o["id"], body)
    assert r.status == 200, r.body
    assert r.json()["object"]["object_marking_refs"] == [TLP["green"]]
    rows, after = [], 0
    while True:
        page = shared_demo.call("admin", "GET", "/api/v1/audit?limit=1000&after=%d" % after)
        entries = page.json()["entries"]
        rows += entries
        if len(entries) < 1000:
            break
        after = entries[-1]["id"]
    lowered = [e for e in rows if e["action"] == "intel.marking.lower"]
    assert [e["object_id"] for e in lowered] == [o["id"]]
    assert lowered[0]["detail"]["from"] == "amber" and lowered[0]["detail"]["to"] == "green"
    assert lowered[0]["actor"] == "token:analyst"


# ---- pagination ----------------------------------------------------------------------

def test_pagination_over_10000_objects_while_adding(demo):
    c = client(demo, "analyst")
    r = demo.call("admin", "POST", "/api/v1/collections",
                  {"title": "Paging", "alias": "paging",
                   "can_write": {"roles": ["*"], "orgs": ["*"]}})
    assert r.status == 201
    col = r.json()["id"]
    posted = []
    for _ in range(2):
        batch = [indicator(value="198.51.100.%d" % (i % 250)) for i in range(5000)]
        assert c.add(ROOT, col, batch)["success_count"] == 5000
        posted += [o["id"] for o in batch]
    added, stop = [], threading.Event()

    def adder():
        w = client(demo, "reporter")
        while not stop.is_set():
            batch = [indicator() for _ in range(25)]
            assert w.add(ROOT, col, batch)["success_count"] == 25
            added.extend(o["id"] for o in batch)

    t = threading.Thread(target=adder)
    t.start()
    seen, pages, params = [], 0, {"match_type": "indicator"}
    while True:
        env, _ = c.objects(ROOT, col, **params)  # no limit: the server's default page
        seen += [o["id"] for o in env.get("objects", [])]
        pages += 1
        if pages == 60:
            stop.set()
            t.join()
        if not env["more"]:
            break
        params["next"] = env["next"]  # `next` without `limit`
    stop.set()
    t.join()
    assert len(seen) == len(set(seen)), "an object was served twice"
    assert set(seen) == set(posted) | set(added), "an object was missed"
    assert len(added) > 0 and pages > 100
    # Stable order: what was posted first comes first.
    assert seen[:len(posted)] == posted


def test_next_cursor_is_bound_to_its_query_and_expires(shared_demo):
    c = client(shared_demo, "analyst")
    col = cid(shared_demo, "indicators")
    env, _ = c.objects(ROOT, col, limit=2, match_type="indicator")
    nxt = env["next"]
    env2, _ = c.objects(ROOT, col, next=nxt, match_type="indicator")
    assert env2["objects"][0]["id"] not in {o["id"] for o in env["objects"]}
    for params in ({"next": nxt, "match_type": "malware"}, {"next": nxt},
                   {"next": nxt[:-2] + ("AA" if nxt[-2:] != "AA" else "BB"),
                    "match_type": "indicator"}):
        r = c.request("GET", c._cpath(ROOT, col, "objects/"), params=params)
        e = assert_taxii_error(r, 400)
        assert "next" in e["description"]
    # An old cursor, signed with the node's own key, is refused as expired.
    db = sqlite3.connect(os.path.join(shared_demo.node.data, "ciip.db"))
    key = db.execute("SELECT key FROM taxii_keys WHERE name = 'cursor'").fetchone()[0]
    db.close()
    rawc = bytearray(base64.urlsafe_b64decode(nxt + "=" * (-len(nxt) % 4)))
    rawc[9:17] = (int.from_bytes(rawc[9:17], "big") - 3601).to_bytes(8, "big")
    rawc[25:41] = hmac.new(key, bytes(rawc[:25]), hashlib.sha256).digest()[:16]
    old = base64.urlsafe_b64encode(bytes(rawc)).decode().rstrip("=")
    r = c.request("GET", c._cpath(ROOT, col, "objects/"),
                  params={"next": old, "match[type]": "indicator"})
    assert r.status == 400 and b"expired" in r.body


# ---- demo content, extension, console and CLI -------------------------------------------

def test_demo_collections_hold_realistic_content(shared_demo):
    c = client(shared_demo, "analyst")
    total, types = 0, set()
    for col in c.collections(ROOT):
        if col.get("alias") in ("advisories", "indicators", "sightings", "incidents"):
            objs = c.all_objects(ROOT, col["id"], limit=1000)
            total += len(objs)
            types |= {o["type"] for o in objs}
    assert total >= 300
    assert types >= {"indicator", "malware", "threat-actor", "attack-pattern", "report",
                     "relationship", "sighting", "incident", "identity", "vulnerability",
                     "marking-definition", "extension-definition"}


def test_intel_type_extension_is_served_and_carried(shared_demo):
    c = client(shared_demo, "viewer")
    adv = cid(shared_demo, "advisories")
    ext = c.get(ROOT, adv, INTEL_EXT)["objects"][0]
    assert ext["type"] == "extension-definition"
    assert ext["extension_types"] == ["property-extension"]
    reports = c.all_objects(ROOT, adv, match_type="report")
    kinds = {r["extensions"][INTEL_EXT]["intel_type"] for r in reports}
    assert kinds == {"ANA", "DEF", "INT", "EWA", "FBI"}


def test_console_intel_api(shared_demo):
    call = shared_demo.call
    r = call("analyst", "POST", "/api/v1/intel",
             {"collection": "advisories", "object": {"type": "report", "name": "Grid alert",
                                                      "published": "2025-01-01T00:00:00Z",
                                                      "object_refs": [INTEL_EXT]}})
    assert r.status == 400 and "intel_type" in r.json()["error"]["message"]
    r = call("analyst", "POST", "/api/v1/intel",
             {"collection": "advisories", "tlp": "green", "intel_type": "EWA",
              "object": {"type": "report", "name": "Grid alert 7",
                         "published": "2025-01-01T00:00:00Z", "object_refs": [INTEL_EXT]}})
    assert r.status == 201, r.body
    rep = r.json()["object"]
    assert rep["extensions"][INTEL_EXT]["intel_type"] == "EWA"
    r = call("reporter", "POST", "/api/v1/intel", {"collection": "advisories", "object": rep})
    assert r.status == 403
    r = call("viewer", "GET", "/api/v1/intel?collection=advisories&q=Grid%20alert%207")
    assert r.status == 200 and [o["id"] for o in r.json()["objects"]] == [rep["id"]]
    r = call("viewer", "GET", "/api/v1/intel?intel_type=EWA&type=report&limit=500")
    assert rep["id"] in [o["id"] for o in r.json()["objects"]]
    r = call("analyst", "PATCH", "/api/v1/intel/" + rep["id"],
             {"collection": "advisories", "set": {"description": "Updated."}})
    assert r.status == 200, r.body
    v2 = r.json()["object"]
    assert v2["description"] == "Updated." and v2["modified"] > rep["modified"]
    r = call("analyst", "PATCH", "/api/v1/intel/" + rep["id"],
             {"collection": "advisories", "set": {"id": "report--x"}})
    assert r.status == 400
    r = call("analyst", "POST", "/api/v1/intel/%s/revoke" % rep["id"],
             {"collection": "advisories"})
    assert r.status == 200 and r.json()["object"]["revoked"] is True
    r = call("viewer", "GET", "/api/v1/intel/%s?collection=advisories" % rep["id"])
    got = r.json()
    assert got["object"]["revoked"] is True and len(got["versions"]) == 3
    assert got["tlp"] == "green"
    # TAXII serves the same versions.
    c = client(shared_demo, "viewer")
    assert len(c.get(ROOT, cid(shared_demo, "advisories"), rep["id"],
                     match_version="all")["objects"]) == 3


def test_collections_are_managed_by_admins(shared_demo):
    call = shared_demo.call
    body = {"title": "Partner feed", "alias": "partner", "description": "For partners",
            "default_tlp": "amber+strict",
            "can_read": {"roles": ["peer", "analyst"], "orgs": ["node"]},
            "can_write": {"roles": ["peer"], "orgs": ["*"]}}
    assert call("analyst", "POST", "/api/v1/collections", body).status == 403
    r = call("admin", "POST", "/api/v1/collections", body)
    assert r.status == 201, r.body
    col = r.json()
    assert col["default_tlp"] == "amber+strict" and col["can_read"]["roles"] == ["analyst", "peer"]
    assert call("admin", "POST", "/api/v1/collections", body).status == 409
    assert call("admin", "POST", "/api/v1/collections", {"title": ""}).status == 400
    assert call("admin", "POST", "/api/v1/collections",
                {"title": "x", "can_read": {"roles": ["king"], "orgs": []}}).status == 400
    aliases = {c.get("alias") for c in client(shared_demo, "national-node").collections(ROOT)}
    assert "partner" in aliases
    assert "partner" not in {c.get("alias")
                             for c in client(shared_demo, "reporter").collections(ROOT)}
    r = call("admin", "PATCH", "/api/v1/collections/partner",
             {"can_read": {"roles": ["*"], "orgs": ["*"]}, "title": "Partner feed 2"})
    assert r.status == 200 and r.json()["title"] == "Partner feed 2"
    assert "partner" in {c.get("alias") for c in client(shared_demo, "reporter").collections(ROOT)}
    assert call("admin", "DELETE", "/api/v1/collections/partner").status == 200
    with pytest.raises(TaxiiError) as ei:
        client(shared_demo, "analyst").collection(ROOT, col["id"])
    assert ei.value.status == 404


def test_cli_import_and_export(demo, tmp_path):
    env = {"CIIP_URL": demo.node.url(), "CIIP_TOKEN": demo.token("analyst")}
    bundle = os.path.join(DATA, "apt1.json")
    rc, out, err = run_ciip("intel", "import", "--collection", "advisories", bundle, env=env)
    assert rc == 0, err
    assert "stored" in out
    src = json.load(open(bundle))["objects"]
    path = str(tmp_path / "out.json")
    rc, out, err = run_ciip("intel", "export", "--collection", "advisories", "--output", path,
                            env=env)
    assert rc == 0, err
    exported = json.load(open(path))
    assert exported["type"] == "bundle" and exported["id"].startswith("bundle--")
    by_id = {o["id"]: o for o in exported["objects"]}
    for o in src:
        assert by_id[o["id"]] == o
    rc, out, err = run_ciip("intel", "import", "--collection", "no-such", bundle, env=env)
    assert rc != 0 and "collection" in err
    bad = tmp_path / "bad.json"
    bad.write_text("{\"type\": \"bundle\", ")
    rc, out, err = run_ciip("intel", "import", "--collection", "advisories", str(bad), env=env)
    assert rc != 0 and "bad.json" in err


def test_cli_works_offline_on_a_stopped_node(demo, tmp_path):
    demo.node.stop()
    bundle = os.path.join(DATA, "indicator-for-malicious-url.json")
    rc, out, err = run_ciip("--data", demo.node.data, "intel", "import", "--collection",
                            "indicators", bundle)
    assert rc == 0, err
    rc, out, err = run_ciip("--data", demo.node.data, "intel", "export", "--collection",
                            "indicators", "--latest")
    assert rc == 0, err
    ids = {o["id"] for o in json.loads(out)["objects"]}
    assert {o["id"] for o in json.load(open(bundle))["objects"]} <= ids
    demo.node.start()
