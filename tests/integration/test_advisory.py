"""Advisories (警訊): drafting, review by someone other than the author,
publication to the targeted organisations and to STIX, corrections as new
versions, withdrawal, members' replies and the aggregate the node tracks."""
import json
import os

import pytest

from conftest import Demo, Node, run_ciip

T0 = "2026-04-01T00:00:00.000Z"


def at(hours=0):
    import datetime
    t = datetime.datetime(2026, 4, 1) + datetime.timedelta(hours=hours)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture(scope="module")
def adv(tmp_path_factory):
    n = Node(tmp_path_factory.mktemp("adv"), args=["--demo"], env={"CIIP_TEST_CLOCK": "1"})
    d = Demo(n)
    yield d
    n.stop()


@pytest.fixture
def clock(adv):
    def set_clock(when):
        r = adv.call("admin", "POST", "/api/v1/test/clock", {"now": when})
        assert r.status == 200, r.body
    yield set_clock
    adv.call("admin", "POST", "/api/v1/test/clock", {"now": None})


def advisory(**kw):
    a = {
        "title": "Exploited firewall management interface",
        "summary": "A pre-authentication flaw is exploited in the wild.",
        "body": "## Action\nPatch now and look for the indicators.",
        "severity": "critical",
        "intel_type": "EWA",
        "tlp": "amber",
        "targets": {"sectors": ["energy", "water"]},
        "products": ["ExampleOS 7.1"],
        "cves": ["CVE-2025-0001"],
        "measures": "Restrict the management interface to a jump host.",
        "indicators": [{"type": "ipv4-addr", "value": "203.0.113.250"},
                       {"type": "file", "hashes": {"SHA-256": "b" * 64}},
                       {"type": "url", "value": "http://x.example/it's"}],
        "reply_due": kw.pop("reply_due", "2099-01-01T00:00:00Z"),
    }
    a.update(kw)
    return a


def create(d, **kw):
    r = d.call("analyst", "POST", "/api/v1/advisories", advisory(**kw))
    assert r.status == 201, r.body
    return r.json()


def move(d, who, aid, name, body=None, expect=200):
    r = d.call(who, "POST", "/api/v1/advisories/%d/%s" % (aid, name), body)
    assert r.status == expect, (name, who, r.status, r.body)
    return r.json()


def published(d, **kw):
    a = create(d, **kw)
    move(d, "analyst", a["id"], "submit")
    return move(d, "reviewer", a["id"], "publish")


def test_draft_review_publish_delivers_to_targets_and_stix(adv):
    d = adv
    a = create(d)
    aid = a["id"]
    assert a["state"] == "draft" and a["version"] == 1 and a["author"] == "token:analyst"
    r = d.call("analyst", "PATCH", "/api/v1/advisories/%d" % aid, {"severity": "high"})
    assert r.status == 200 and r.json()["severity"] == "high"
    # Members do not see drafts.
    assert d.call("reporter", "GET", "/api/v1/advisories/%d" % aid).status == 404
    assert move(d, "analyst", aid, "submit")["state"] == "submitted"
    a = move(d, "reviewer", aid, "publish")
    assert a["state"] == "published" and a["reviewer"] == "token:reviewer"
    assert a["aggregate"]["targeted"] == 2  # North Power (energy), City Water (water)
    inbox = d.call("reporter", "GET", "/api/v1/advisories/inbox").json()["advisories"]
    assert aid in [x["id"] for x in inbox]
    inbox = d.call("viewer", "GET", "/api/v1/advisories/inbox").json()["advisories"]
    assert aid in [x["id"] for x in inbox]
    inbox = d.call("isp-reporter", "GET", "/api/v1/advisories/inbox").json()["advisories"]
    assert aid not in [x["id"] for x in inbox]
    got = d.call("reporter", "GET", "/api/v1/advisories/%d" % aid).json()
    assert got["my_reply"] is None and "aggregate" not in got
    # STIX: a report referring to its indicators, vulnerability and issuer.
    b = d.call("reporter", "GET", "/api/v1/advisories/%d/stix" % aid).json()
    objs = {o["id"]: o for o in b["objects"]}
    report = [o for o in b["objects"] if o["type"] == "report"][0]
    assert report["id"] == a["stix_id"] and report["name"] == a["title"]
    assert set(report["object_refs"]) <= set(objs)
    assert "vulnerability" in report["report_types"]
    assert report["object_marking_refs"] == [
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]  # TLP:AMBER
    ext = report["extensions"]["extension-definition--49e79b4e-09ea-4b24-ae52-e582d779e501"]
    assert ext["intel_type"] == "EWA"
    patterns = sorted(o["pattern"] for o in b["objects"] if o["type"] == "indicator")
    assert patterns == ["[file:hashes.'SHA-256' = '%s']" % ("b" * 64),
                        "[ipv4-addr:value = '203.0.113.250']",
                        "[url:value = 'http://x.example/it\\'s']"]
    assert [o["name"] for o in b["objects"] if o["type"] == "vulnerability"] == ["CVE-2025-0001"]
    rows, after = [], 0
    while True:
        page = d.call("admin", "GET", "/api/v1/audit?limit=1000&after=%d" % after).json()
        if not page["entries"]:
            break
        rows += page["entries"]
        after = page["entries"][-1]["id"]
    acts = [(r["action"], r["actor"]) for r in rows
            if r["object_type"] == "advisory" and r["object_id"] == str(aid)]
    assert acts == [("advisory.create", "token:analyst"), ("advisory.update", "token:analyst"),
                    ("advisory.submit", "token:analyst"), ("advisory.publish", "token:reviewer")]


def test_rejection_returns_to_the_author(adv):
    d = adv
    aid = create(d)["id"]
    move(d, "analyst", aid, "submit")
    move(d, "reviewer", aid, "reject", expect=400)  # a reason is required
    a = move(d, "reviewer", aid, "reject", {"reason": "Name the affected versions"})
    assert a["state"] == "rejected" and a["reject_reason"] == "Name the affected versions"
    r = d.call("analyst", "PATCH", "/api/v1/advisories/%d" % aid,
               {"products": ["ExampleOS 7.1.0 to 7.1.4"]})
    assert r.status == 200
    move(d, "analyst", aid, "submit")
    assert move(d, "reviewer", aid, "publish")["state"] == "published"


def test_forbidden_moves(adv):
    d = adv
    a = create(d)
    aid = a["id"]
    # Only analysts draft; reviewers review; the author never reviews.
    assert d.call("reporter", "POST", "/api/v1/advisories", advisory()).status == 403
    assert d.call("reviewer", "POST", "/api/v1/advisories", advisory()).status == 403
    move(d, "reviewer", aid, "publish", expect=409)  # not submitted
    move(d, "analyst", aid, "submit")
    move(d, "analyst", aid, "publish", expect=403)   # the author publishing their own
    move(d, "reporter", aid, "publish", expect=404)  # cannot even see it
    move(d, "analyst", aid, "reject", {"reason": "x"}, expect=403)
    move(d, "reviewer", aid, "fly", expect=404)
    move(d, "reviewer", aid, "publish")
    # A published advisory is never edited in place or deleted.
    r = d.call("analyst", "PATCH", "/api/v1/advisories/%d" % aid, {"title": "silently changed"})
    assert r.status == 409 and "correct" in r.json()["error"]["message"]
    assert d.call("analyst", "DELETE", "/api/v1/advisories/%d" % aid).status == 409
    assert d.call("analyst", "GET", "/api/v1/advisories/%d" % aid).json()["title"] == a["title"]
    move(d, "analyst", aid, "submit", expect=409)
    move(d, "reviewer", aid, "withdraw", expect=400)  # a reason is required
    # Replying for another organisation, or as one that is not a recipient.
    r = d.call("reporter", "POST", "/api/v1/advisories/%d/replies" % aid,
               {"org": "City Water Utility", "status": "affected"})
    assert r.status == 403
    r = d.call("analyst", "POST", "/api/v1/advisories/%d/replies" % aid,
               {"org": "North Power Company", "status": "affected"})
    assert r.status == 403
    r = d.call("isp-reporter", "POST", "/api/v1/advisories/%d/replies" % aid,
               {"status": "received"})
    assert r.status == 403
    r = d.call("viewer", "POST", "/api/v1/advisories/%d/replies" % aid, {"status": "received"})
    assert r.status == 403  # viewers read, they do not answer
    r = d.call("reporter", "POST", "/api/v1/advisories/%d/replies" % aid, {"status": "maybe"})
    assert r.status == 400
    r = d.call("reporter", "POST", "/api/v1/advisories/%d/replies" % aid,
               {"status": "not_affected", "mitigated": True})
    assert r.status == 400
    agg = d.call("analyst", "GET", "/api/v1/advisories/%d" % aid).json()["aggregate"]
    assert agg["replied"] == 0
    # Drafts can be deleted; incomplete drafts are not submitted.
    b = d.call("analyst", "POST", "/api/v1/advisories", {"title": "half-written"}).json()
    move(d, "analyst", b["id"], "submit", expect=422)
    assert d.call("analyst", "DELETE", "/api/v1/advisories/%d" % b["id"]).status == 200
    assert d.call("analyst", "GET", "/api/v1/advisories/%d" % b["id"]).status == 404
    assert d.call("analyst", "POST", "/api/v1/advisories",
                  advisory(intel_type="XYZ")).status == 400
    assert d.call("analyst", "POST", "/api/v1/advisories",
                  advisory(cves=["CVE-25-1"])).status == 400


def test_correction_is_a_new_version(adv):
    d = adv
    v1 = published(d)
    aid = v1["id"]
    r = d.call("reporter", "POST", "/api/v1/advisories/%d/replies" % aid,
               {"status": "affected", "measures": "Patching"})
    assert r.status == 201
    r = d.call("analyst", "POST", "/api/v1/advisories/%d/correct" % aid, {"summary": "x"})
    assert r.status == 400  # a note is required
    r = d.call("analyst", "POST", "/api/v1/advisories/%d/correct" % aid,
               {"note": "Second C2 address added",
                "indicators": advisory()["indicators"] + [
                    {"type": "ipv4-addr", "value": "198.51.100.250"}]})
    assert r.status == 201, r.body
    v2 = r.json()
    assert v2["version"] == 2 and v2["root_id"] == aid and v2["state"] == "draft"
    assert v2["supersedes_id"] == aid and v2["correction_note"] == "Second C2 address added"
    r = d.call("analyst", "POST", "/api/v1/advisories/%d/correct" % aid, {"note": "again"})
    assert r.status == 409
    # Until the correction is published, members still see version 1.
    assert d.call("reporter", "GET", "/api/v1/advisories/%d" % v2["id"]).status == 404
    move(d, "analyst", v2["id"], "submit")
    move(d, "reviewer", v2["id"], "publish")
    old = d.call("analyst", "GET", "/api/v1/advisories/%d" % aid).json()
    assert old["state"] == "superseded"
    vers = d.call("reporter", "GET", "/api/v1/advisories/%d/versions" % aid).json()["versions"]
    assert [(v["version"], v["state"]) for v in vers] == [(1, "superseded"), (2, "published")]
    b = d.call("reporter", "GET", "/api/v1/advisories/%d/stix" % v2["id"]).json()
    report = [o for o in b["objects"] if o["type"] == "report"][0]
    assert report["id"] == v1["stix_id"] and report["modified"] >= report["created"]
    assert report["created"] == v1["published_at"]
    assert len([o for o in b["objects"] if o["type"] == "indicator"]) == 4
    # The reply made to version 1 still counts.
    agg = d.call("analyst", "GET", "/api/v1/advisories/%d" % v2["id"]).json()["aggregate"]
    assert agg["replied"] == 1 and agg["affected"] == 1
    lst = d.call("analyst", "GET", "/api/v1/advisories?limit=500").json()["advisories"]
    assert aid not in [x["id"] for x in lst] and v2["id"] in [x["id"] for x in lst]


def test_withdrawal(adv):
    d = adv
    a = published(d)
    w = move(d, "reviewer", a["id"], "withdraw", {"reason": "False positive"})
    assert w["state"] == "withdrawn" and w["withdraw_reason"] == "False positive"
    b = d.call("reporter", "GET", "/api/v1/advisories/%d/stix" % a["id"]).json()
    assert [o for o in b["objects"] if o["type"] == "report"][0]["revoked"] is True
    r = d.call("reporter", "POST", "/api/v1/advisories/%d/replies" % a["id"],
               {"status": "received"})
    assert r.status == 409
    inbox = d.call("reporter", "GET", "/api/v1/advisories/inbox").json()["advisories"]
    assert [x["state"] for x in inbox if x["id"] == a["id"]] == ["withdrawn"]


def test_replies_aggregate_and_overdue(adv, clock):
    d = adv
    clock(at())
    a = published(d, targets={"all_members": True}, reply_due=at(24))
    aid = a["id"]
    assert a["aggregate"]["targeted"] == 6
    r = d.call("reporter", "POST", "/api/v1/advisories/%d/replies" % aid,
               {"status": "affected", "mitigated": True, "measures": "Patched",
                "measures_at": at(2), "note": "All gateways"})
    assert r.status == 201
    r = d.call("isp-reporter", "POST", "/api/v1/advisories/%d/replies" % aid,
               {"status": "not_affected"})
    assert r.status == 201
    agg = d.call("analyst", "GET", "/api/v1/advisories/%d/replies" % aid).json()["aggregate"]
    assert (agg["targeted"], agg["replied"], agg["affected"], agg["mitigated"],
            agg["not_affected"], agg["unanswered"], agg["overdue"]) == (6, 2, 1, 1, 1, 4, 0)
    clock(at(25))
    out = d.call("analyst", "GET", "/api/v1/advisories/%d/replies" % aid).json()
    agg = out["aggregate"]
    assert agg["overdue"] == 4
    late = {x["org"] for x in agg["not_answered"] if x["overdue"]}
    assert late == {"City Water Utility", "Harbour Oil Refinery", "BlueWave ISP", "SkyLink ISP"}
    assert len(out["replies"]) == 2
    # A member sees its own reply and not the others'.
    mine = d.call("reporter", "GET", "/api/v1/advisories/%d/replies" % aid).json()
    assert [x["org"] for x in mine["replies"]] == ["North Power Company"]
    assert "aggregate" not in mine
    got = d.call("reporter", "GET", "/api/v1/advisories/%d" % aid).json()
    assert got["my_reply"]["status"] == "affected" and got["my_reply"]["mitigated"] is True
    inbox = d.call("viewer", "GET", "/api/v1/advisories/inbox?unanswered=true").json()
    assert [x["overdue"] for x in inbox["advisories"] if x["id"] == aid] == [True]
    m = d.node.request("GET", "/metrics").body.decode()
    line = [l for l in m.splitlines() if l.startswith("ciip_advisory_replies_overdue ")][0]
    assert int(line.split()[1]) >= 4
    assert 'ciip_advisories{state="published"}' in m


def test_tlp_red_reaches_only_its_recipients(adv):
    d = adv
    a = published(d, tlp="red", targets={"orgs": ["North Power Company"]})
    assert d.call("reporter", "GET", "/api/v1/advisories/%d" % a["id"]).status == 200
    assert d.call("viewer", "GET", "/api/v1/advisories/%d" % a["id"]).status == 404
    ids = [x["id"] for x in d.call("viewer", "GET", "/api/v1/advisories?limit=500")
           .json()["advisories"]]
    assert a["id"] not in ids
    ids = [x["id"] for x in d.call("reporter", "GET", "/api/v1/advisories?limit=500")
           .json()["advisories"]]
    assert a["id"] in ids


def test_demo_advisories(adv):
    lst = adv.call("analyst", "GET", "/api/v1/advisories?limit=500").json()["advisories"]
    demo = [x for x in lst if x["author"].startswith("local:")]
    assert {x["state"] for x in demo} >= {"published", "draft", "rejected", "withdrawn"}
    vpn = [x for x in demo if x["title"].startswith("Actively exploited")][0]
    agg = adv.call("analyst", "GET", "/api/v1/advisories/%d" % vpn["id"]).json()["aggregate"]
    assert agg["replied"] == 3 and agg["mitigated"] == 1


def test_client_and_offline_self_review(adv, tmp_path):
    d = adv
    env = {"CIIP_URL": d.node.url(), "CIIP_TOKEN": d.token("analyst")}
    f = tmp_path / "a.json"
    f.write_text(json.dumps(advisory(title="From the client")))
    rc, out, err = run_ciip("advisory", "create", "--file", str(f), env=env)
    assert rc == 0, err
    aid = str(json.loads(out)["id"])
    rc, out, err = run_ciip("advisory", "submit", aid, env=env)
    assert rc == 0, err
    rc, out, err = run_ciip("advisory", "publish", aid, env=env)
    assert rc == 1 and "403" in err
    env["CIIP_TOKEN"] = d.token("reviewer")
    rc, out, err = run_ciip("advisory", "publish", aid, env=env)
    assert rc == 0 and json.loads(out)["state"] == "published", err
    env["CIIP_TOKEN"] = d.token("reporter")
    rc, out, err = run_ciip("advisory", "reply", aid, "--status", "affected", "--mitigated",
                            "--measures", "patched", env=env)
    assert rc == 0, err
    rc, out, err = run_ciip("advisory", "inbox", env=env)
    assert rc == 0 and aid in [str(x["id"]) for x in json.loads(out)["advisories"]]
    # Offline, one person cannot both write and publish an advisory.
    data = str(tmp_path / "offline")
    rc, out, err = run_ciip("--data", data, "org", "add", "--name", "Offline ISAC", "--sector",
                            "energy", "--kind", "sector")
    assert rc == 0, err

    class N:
        pass
    n = N()
    n.data = data
    f2 = tmp_path / "b.json"
    f2.write_text(json.dumps(advisory(title="Offline")))
    rc, out, err = run_ciip("--data", n.data, "advisory", "create", "--file", str(f2))
    assert rc == 0, err
    bid = str(json.loads(out)["id"])
    rc, out, err = run_ciip("--data", n.data, "advisory", "submit", bid)
    assert rc == 0, err
    rc, out, err = run_ciip("--data", n.data, "advisory", "publish", bid)
    assert rc == 1 and "403" in err and "author" in err


def test_published_report_reaches_the_taxii_store(adv):
    a = published(adv, title="Reaches TAXII")
    bundle = adv.call("analyst", "GET", "/api/v1/advisories/%d/stix" % a["id"]).json()
    objs = bundle.get("objects", [])
    report = [o for o in objs if o.get("type") == "report"][0]
    r = adv.call("analyst", "GET", "/api/v1/intel/%s?collection=advisories" % report["id"])
    assert r.status == 200, r.body
    body = r.json()
    stored = body.get("object", body)
    assert stored["id"] == report["id"]
    assert stored["name"] == report["name"]
