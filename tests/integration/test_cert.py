"""CERT incident reports: the lifecycle and every forbidden move, the legal
deadlines under a controllable clock, routing of attacking addresses, alert
escalation, lists, CSV, STIX, notifications, metrics and the client."""
import http.server
import json
import os
import threading
import uuid

import pytest

from conftest import Demo, Node, run_ciip

T0 = "2026-03-02T00:00:00.000Z"


def at(hours=0, minutes=0, base="2026-03-02T00:00:00"):
    import datetime
    t = datetime.datetime.fromisoformat(base) + datetime.timedelta(hours=hours, minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture(scope="module")
def cdemo(tmp_path_factory):
    """A demo node whose clock tests may set (CIIP_TEST_CLOCK=1)."""
    n = Node(tmp_path_factory.mktemp("cert"), args=["--demo"], env={"CIIP_TEST_CLOCK": "1"})
    d = Demo(n)
    yield d
    n.stop()


@pytest.fixture
def clock(cdemo):
    """Sets the node's clock; the real clock comes back after the test."""
    def set_clock(when):
        r = cdemo.call("admin", "POST", "/api/v1/test/clock", {"now": when})
        assert r.status == 200, r.body
        return r.json()
    yield set_clock
    cdemo.call("admin", "POST", "/api/v1/test/clock", {"now": None})


def report(**kw):
    r = {
        "title": "Intrusion into the SCADA historian",
        "known_at": kw.pop("known_at", None) or at(),
        "occurred_at": at(hours=-1),
        "level": 2,
        "classification": {"class": "intrusions", "type": "system-compromise"},
        "contact": {"name": "Rob Reporter", "email": "rob@north.example", "phone": "+886-2-1"},
        "affected_systems": ["historian", "engineering workstation"],
        "description": "An unknown actor logged in to the historian over VPN.",
        "impact": {"confidentiality": 2, "integrity": 1, "availability": 0},
        "measures": "Disabled the VPN account.",
        "support_needed": "Forensics.",
        "indicators": [{"type": "ipv4-addr", "value": "198.18.0.7", "role": "attacker"}],
    }
    r.update(kw)
    return r


def create(d, who="reporter", **kw):
    r = d.call(who, "POST", "/api/v1/incidents", report(**kw))
    assert r.status == 201, r.body
    return r.json()


def move(d, who, iid, name, body=None, expect=200):
    r = d.call(who, "POST", "/api/v1/incidents/%d/%s" % (iid, name), body)
    assert r.status == expect, (name, who, r.status, r.body)
    return r.json()


def get(d, who, iid):
    r = d.call(who, "GET", "/api/v1/incidents/%d" % iid)
    assert r.status == 200, r.body
    return r.json()


def deadline(inc, name):
    return [x for x in inc["deadlines"] if x["deadline"] == name][0]


# ---- the lifecycle ----

def test_every_state_transition_in_order(cdemo):
    d = cdemo
    inc = create(d)
    iid = inc["id"]
    assert inc["state"] == "draft" and inc["org"] == "North Power Company"
    assert inc["notified_at"] is None
    r = d.call("reporter", "PATCH", "/api/v1/incidents/%d" % iid, {"measures": "Reset passwords."})
    assert r.status == 200 and r.json()["measures"] == "Reset passwords."

    inc = move(d, "reporter", iid, "submit")
    assert inc["state"] == "submitted" and inc["notified_at"]
    first_notice = inc["notified_at"]
    assert move(d, "reviewer", iid, "review")["state"] == "under_review"
    inc = move(d, "reviewer", iid, "return", {"reason": "Add the VPN gateway's logs"})
    assert inc["state"] == "returned" and inc["return_reason"] == "Add the VPN gateway's logs"
    # The reporter's organisation hears about the return.
    r = d.call("reporter", "GET", "/api/v1/notifications")
    assert any(n["kind"] == "returned" and n["incident_id"] == iid
               for n in r.json()["notifications"])
    r = d.call("reporter", "PATCH", "/api/v1/incidents/%d" % iid,
               {"description": "Logs attached: 3 logins from 198.18.0.7."})
    assert r.status == 200
    inc = move(d, "reporter", iid, "resubmit")
    assert inc["state"] == "submitted" and inc["notified_at"] == first_notice
    move(d, "reviewer", iid, "review")
    inc = move(d, "reviewer", iid, "accept")
    assert inc["state"] == "accepted" and inc["accepted_at"]
    inc = move(d, "reviewer", iid, "forward")
    assert inc["forwarded_at"] and inc["state"] == "accepted"
    assert move(d, "analyst", iid, "contain")["state"] == "contained"
    assert move(d, "analyst", iid, "recover")["state"] == "recovered"
    inc = move(d, "reporter", iid, "report",
               {"investigation_report": "Root cause: a reused password. Fixed: MFA on VPN."})
    assert inc["investigation_report"]["text"].startswith("Root cause")
    inc = move(d, "analyst", iid, "close")
    assert inc["state"] == "closed" and inc["closed_at"]

    tl = d.call("reporter", "GET", "/api/v1/incidents/%d/timeline" % iid).json()["timeline"]
    actions = [t["action"] for t in tl if t["action"] != "route"]
    assert actions == ["create", "edit", "submit", "review", "return", "edit", "resubmit",
                       "review", "accept", "forward", "contain", "recover", "report", "close"]
    assert tl[-1]["from"] == "recovered" and tl[-1]["to"] == "closed"
    assert tl[4]["detail"]["reason"] == "Add the VPN gateway's logs"
    rows, after = [], 0
    while True:
        page = d.call("admin", "GET", "/api/v1/audit?limit=1000&after=%d" % after).json()
        if not page["entries"]:
            break
        rows += page["entries"]
        after = page["entries"][-1]["id"]
    mine = [a["action"] for a in rows if a.get("object_type") == "incident"
            and str(a.get("object_id")) == str(iid)]
    for a in ("incident.create", "incident.submit", "incident.return", "incident.accept",
              "incident.forward", "incident.close"):
        assert a in mine, (a, mine)


def test_forbidden_moves_are_refused_and_change_nothing(cdemo):
    d = cdemo
    iid = create(d)["id"]
    # Incomplete reports cannot be submitted.
    r = d.call("reporter", "PATCH", "/api/v1/incidents/%d" % iid, {"description": ""})
    assert r.status == 200
    move(d, "reporter", iid, "submit", expect=422)
    d.call("reporter", "PATCH", "/api/v1/incidents/%d" % iid, {"description": "Back again."})
    move(d, "reporter", iid, "submit")
    before = get(d, "reporter", iid)
    # A reporter may not review, accept or close; an analyst may not accept.
    move(d, "reporter", iid, "review", expect=403)
    move(d, "reporter", iid, "accept", expect=403)
    move(d, "reporter", iid, "close", {"investigation_report": "x"}, expect=403)
    move(d, "analyst", iid, "accept", expect=403)
    move(d, "viewer", iid, "submit", expect=404)       # another organisation's report
    move(d, "isp-reporter", iid, "return", {"reason": "x"}, expect=404)
    # Moves from the wrong state.
    move(d, "reviewer", iid, "accept", expect=409)     # not under review yet
    move(d, "analyst", iid, "contain", expect=409)
    move(d, "reporter", iid, "submit", expect=409)
    move(d, "reviewer", iid, "return", expect=400)     # no reason
    move(d, "reviewer", iid, "relevel", {"reason": "x"}, expect=400)  # no level
    move(d, "reviewer", iid, "teleport", expect=404)
    # A submitted report is not edited or deleted.
    r = d.call("reporter", "PATCH", "/api/v1/incidents/%d" % iid, {"title": "changed"})
    assert r.status == 409
    r = d.call("reporter", "DELETE", "/api/v1/incidents/%d" % iid)
    assert r.status == 409
    after = get(d, "reporter", iid)
    assert after["state"] == before["state"] == "submitted"
    assert after["title"] == before["title"]
    tl = d.call("reporter", "GET", "/api/v1/incidents/%d/timeline" % iid).json()["timeline"]
    assert [t["action"] for t in tl] == ["create", "edit", "edit", "submit"]
    # Closing needs the investigation report; a reporter closing is refused.
    move(d, "reviewer", iid, "review")
    move(d, "reviewer", iid, "accept")
    move(d, "analyst", iid, "recover")
    move(d, "reporter", iid, "close", {"investigation_report": "done"}, expect=403)
    move(d, "analyst", iid, "close", expect=422)
    assert get(d, "reporter", iid)["state"] == "recovered"
    move(d, "analyst", iid, "close", {"investigation_report": "Root cause found."})
    move(d, "reviewer", iid, "relevel", {"level": 3, "reason": "x"}, expect=409)


def test_members_see_only_their_own_reports(cdemo):
    d = cdemo
    iid = create(d)["id"]
    for who in ("viewer", "isp-reporter"):
        assert d.call(who, "GET", "/api/v1/incidents/%d" % iid).status == 404
        ids = [i["id"] for i in d.call(who, "GET", "/api/v1/incidents?limit=500")
               .json()["incidents"]]
        assert iid not in ids
    # Staff do not see another organisation's draft until it is submitted.
    assert d.call("reviewer", "GET", "/api/v1/incidents/%d" % iid).status == 404
    move(d, "reporter", iid, "submit")
    assert d.call("reviewer", "GET", "/api/v1/incidents/%d" % iid).status == 200
    # A reporter files only for their own organisation.
    r = d.call("reporter", "POST", "/api/v1/incidents", report(org="City Water Utility"))
    assert r.status == 403
    r = d.call("viewer", "POST", "/api/v1/incidents", report())
    assert r.status == 403
    r = d.call("reporter", "POST", "/api/v1/incidents", report(level=5))
    assert r.status == 400
    r = d.call("reporter", "POST", "/api/v1/incidents",
               report(classification={"class": "intrusions", "type": "nonsense"}))
    assert r.status == 400


# ---- deadlines ----

def test_level3_not_reviewed_within_2_hours_is_overdue(cdemo, clock):
    d = cdemo
    clock(at())
    iid = create(d, level=3)["id"]
    inc = move(d, "reporter", iid, "submit")
    rv = deadline(inc, "review")
    assert rv["status"] == "pending" and rv["due"] == at(hours=2)
    assert deadline(inc, "notify")["status"] == "met"
    assert deadline(inc, "contain")["due"] == at(hours=36)
    clock(at(hours=1, minutes=59))
    assert deadline(get(d, "reviewer", iid), "review")["status"] == "pending"
    clock(at(hours=2, minutes=1))
    inc = get(d, "reviewer", iid)
    assert deadline(inc, "review")["status"] == "overdue"
    assert deadline(inc, "review")["seconds_left"] == -60
    assert inc["overdue"] is True
    listed = d.call("reviewer", "GET", "/api/v1/incidents?overdue=true&limit=500").json()
    assert iid in [i["id"] for i in listed["incidents"]]
    metrics = d.node.request("GET", "/metrics").body.decode()
    line = [l for l in metrics.splitlines()
            if l.startswith('ciip_cert_deadlines_overdue{deadline="review"}')][0]
    assert int(line.split()[1]) >= 1


def test_level1_reviewed_at_7h59m_is_not_overdue(cdemo, clock):
    d = cdemo
    clock(at())
    iid = create(d, level=1)["id"]
    inc = move(d, "reporter", iid, "submit")
    assert deadline(inc, "review")["due"] == at(hours=8)
    clock(at(hours=7, minutes=59))
    move(d, "reviewer", iid, "review")
    inc = move(d, "reviewer", iid, "accept")
    assert deadline(inc, "review")["status"] == "met"
    assert deadline(inc, "forward")["due"] == at(hours=8, minutes=59)
    clock(at(hours=8, minutes=30))
    inc = get(d, "reviewer", iid)
    assert deadline(inc, "review")["status"] == "met"
    assert inc["overdue"] is False
    listed = d.call("reviewer", "GET", "/api/v1/incidents?overdue=true&limit=500").json()
    assert iid not in [i["id"] for i in listed["incidents"]]
    # Forwarding is due an hour after acceptance at every level.
    clock(at(hours=9))
    assert deadline(get(d, "reviewer", iid), "forward")["status"] == "overdue"


def test_notification_deadline_and_late_notice(cdemo, clock):
    d = cdemo
    clock(at(hours=2))
    iid = create(d, known_at=at())["id"]
    inc = get(d, "reporter", iid)
    assert deadline(inc, "notify")["status"] == "overdue"
    inc = move(d, "reporter", iid, "submit")
    assert deadline(inc, "notify")["status"] == "met_late"


def test_change_of_level_restarts_deadlines_and_notifies(cdemo, clock):
    d = cdemo
    clock(at())
    iid = create(d, level=1)["id"]
    move(d, "reporter", iid, "submit")
    clock(at(hours=3))
    inc = move(d, "reviewer", iid, "relevel", {"level": 3, "reason": "Safety systems involved"})
    assert inc["level"] == 3 and inc["reported_level"] == 1
    assert deadline(inc, "review")["due"] == at(hours=5)
    assert deadline(inc, "contain")["due"] == at(hours=3 + 36)
    assert inc["level_changes"][0]["reason"] == "Safety systems involved"
    notes = d.call("reporter", "GET", "/api/v1/notifications").json()["notifications"]
    assert any(n["kind"] == "level_changed" and n["incident_id"] == iid for n in notes)
    clock(at(hours=5, minutes=1))
    assert deadline(get(d, "reviewer", iid), "review")["status"] == "overdue"
    move(d, "reviewer", iid, "review")
    move(d, "reviewer", iid, "accept")
    move(d, "reviewer", iid, "forward")
    clock(at(hours=6))
    inc = move(d, "reviewer", iid, "relevel", {"level": 4, "reason": "Spread to a second site"})
    # Forwarded before: the new level must go upward again within the hour.
    assert inc["forwarded_at"] is None
    assert deadline(inc, "forward")["due"] == at(hours=7)


def test_rules_are_served_from_configuration(make_node):
    n = make_node(args=["--demo"], config="cert:\n  deadlines:\n    review_s: [3600, 3600, 600, 600]\n"
                  "    report_months: 2\n")
    d = Demo(n)
    assert n.request("GET", "/api/v1/incidents/rules").status == 401
    rules = d.call("viewer", "GET", "/api/v1/incidents/rules").json()
    per = {x["deadline"]: x["per_level"] for x in rules["deadlines"]}
    assert per["review"] == [3600, 3600, 600, 600]
    assert per["report"] == [2, 2, 2, 2]


def test_bad_deadline_table_refuses_to_start(tmp_path):
    n = None
    with pytest.raises(RuntimeError) as e:
        n = Node(tmp_path, config="cert:\n  deadlines:\n    review_s: [1, 2, 3]\n")
    assert "cert.deadlines.review_s" in str(e.value)
    if n:
        n.stop()


# ---- routing ----

def test_domestic_address_routes_to_its_isp_foreign_to_national(cdemo):
    d = cdemo
    inds = [{"type": "ipv4-addr", "value": "203.0.113.50", "role": "attacker"},
            {"type": "ipv6-addr", "value": "2001:db8:100::77", "role": "attacker"},
            {"type": "ipv4-addr", "value": "8.8.4.4", "role": "attacker"},
            {"type": "ipv4-addr", "value": "10.1.2.3", "role": "attacker"},
            {"type": "ipv4-addr", "value": "198.51.100.9", "role": "victim"}]
    iid = create(d, indicators=inds)["id"]
    move(d, "reporter", iid, "submit")
    move(d, "reviewer", iid, "review")
    inc = move(d, "reviewer", iid, "accept")
    routes = {r["address"]: r for r in inc["routing"]}
    assert routes["203.0.113.50"]["route"] == "isp"
    assert routes["203.0.113.50"]["org"] == "NetOne ISP"
    assert routes["2001:db8:100::77"]["org"] == "NetOne ISP"
    assert routes["8.8.4.4"]["route"] == "national"
    assert routes["10.1.2.3"]["route"] == "none"
    assert "198.51.100.9" not in routes  # a victim is not routed
    # The ISP finds one item with both of its addresses; the reporter does not see it.
    notes = d.call("isp-reporter", "GET", "/api/v1/notifications").json()["notifications"]
    abuse = [n for n in notes if n["kind"] == "abuse" and n["incident_id"] == iid]
    assert len(abuse) == 1
    assert sorted(abuse[0]["payload"]["addresses"]) == ["2001:db8:100::77", "203.0.113.50"]
    assert abuse[0]["payload"]["reported_by"] == "North Power Company"
    mine = d.call("reporter", "GET", "/api/v1/notifications").json()["notifications"]
    assert not any(n["kind"] == "abuse" and n["incident_id"] == iid for n in mine)
    # The ISP acknowledges its own item; nobody else can.
    nid = abuse[0]["id"]
    assert d.call("reporter", "POST", "/api/v1/notifications/%d/ack" % nid).status == 404
    assert d.call("isp-reporter", "POST", "/api/v1/notifications/%d/ack" % nid).status == 200
    assert d.call("isp-reporter", "POST", "/api/v1/notifications/%d/ack" % nid).status == 409
    # The foreign address puts a STIX incident in the national outbox.
    assert d.call("reporter", "GET", "/api/v1/incidents/outbox").status == 403
    out = d.call("analyst", "GET", "/api/v1/incidents/outbox?incident=%d" % iid).json()
    entry = [o for o in out["outbox"] if o["purpose"] == "foreign-source"][0]
    objs = entry["bundle"]["objects"]
    incident = [o for o in objs if o["type"] == "incident"][0]
    ext = incident["extensions"]["extension-definition--ef765651-680c-498d-9894-99799f2fa126"]
    assert ext["extension_type"] == "property-extension"
    assert ext["determination"] == "confirmed" and ext["investigation_status"] == "open"
    ip = [o for o in objs if o.get("value") == "8.8.4.4"][0]
    ns = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
    assert ip["id"] == "ipv4-addr--%s" % uuid.uuid5(ns, '{"value":"8.8.4.4"}')
    rels = [o for o in objs if o["type"] == "relationship" and o["target_ref"] == ip["id"]]
    assert rels and rels[0]["source_ref"] == incident["id"]
    r = d.call("analyst", "POST", "/api/v1/incidents/outbox/%d/sent" % entry["id"])
    assert r.status == 200


def test_escalated_alert_becomes_a_draft_for_the_owner(cdemo):
    d = cdemo
    alert = {"alert_id": "a-42", "title": "SSH brute force", "detected_at": "2026-03-01T10:00:00Z",
             "level": 2, "classification": {"class": "intrusion-attempts", "type": "brute-force"},
             "source": {"ip": "203.0.113.90"}, "destination": {"ip": "198.51.100.20"},
             "evidence": [{"kind": "eve", "signature": "ET SCAN SSH"}]}
    assert d.call("reporter", "POST", "/api/v1/incidents/from-alert", alert).status == 403
    r = d.call("analyst", "POST", "/api/v1/incidents/from-alert", alert)
    assert r.status == 201, r.body
    inc = r.json()
    assert inc["state"] == "draft" and inc["source"] == "alert"
    assert inc["org"] == "North Power Company"
    assert inc["evidence"] == alert["evidence"] and inc["alert_id"] == "a-42"
    assert inc["routing"][0]["route"] == "isp"
    # The owner sees and completes it; the ISP already has its abuse item.
    got = d.call("reporter", "GET", "/api/v1/incidents/%d" % inc["id"]).json()
    assert got["title"] == "Escalated alert: SSH brute force"
    notes = d.call("isp-reporter", "GET", "/api/v1/notifications").json()["notifications"]
    assert any(n["incident_id"] == inc["id"] and n["kind"] == "abuse" for n in notes)
    fill = {k: v for k, v in report().items()
            if k in ("contact", "affected_systems", "description", "impact")}
    assert d.call("reporter", "PATCH", "/api/v1/incidents/%d" % inc["id"], fill).status == 200
    move(d, "reporter", inc["id"], "submit")
    # The SOC's form: top-level class and type, a long title (shortened).
    alert2 = {"alert_id": "a-43", "title": "x" * 300, "class": "availability", "type": "ddos",
              "source": {"ip": "8.8.8.8"}, "destination": {"ip": "198.51.100.20"}}
    r = d.call("analyst", "POST", "/api/v1/incidents/from-alert", alert2)
    assert r.status == 201, r.body
    assert len(r.json()["title"]) == 256
    assert r.json()["classification"] == {"class": "availability", "type": "ddos"}
    assert r.json()["routing"][0]["route"] == "national"


# ---- lists, CSV, STIX, metrics ----

def test_list_filters_and_csv(cdemo):
    d = cdemo
    a = create(d, level=4, classification={"class": "availability", "type": "ddos"},
               title='DDoS, "big" one')["id"]
    move(d, "reporter", a, "submit")
    r = d.call("reviewer", "GET", "/api/v1/incidents?state=submitted&level=4&class=availability"
               "&limit=500").json()
    ids = [i["id"] for i in r["incidents"]]
    assert a in ids and all(i["level"] == 4 and i["state"] == "submitted" for i in r["incidents"])
    r = d.call("reviewer", "GET", "/api/v1/incidents?org=North%20Power%20Company&limit=500")
    assert all(i["org"] == "North Power Company" for i in r.json()["incidents"])
    r = d.call("reviewer", "GET", "/api/v1/incidents?q=big")
    assert [i["id"] for i in r.json()["incidents"]] == [a]
    assert d.call("reviewer", "GET", "/api/v1/incidents?state=bogus").status == 400
    r = d.call("reviewer", "GET", "/api/v1/incidents?format=csv&type=ddos")
    assert r.status == 200 and r.header("Content-Type").startswith("text/csv")
    lines = r.body.decode().split("\r\n")
    assert lines[0].startswith("id,ref,org,state,level")
    row = [l for l in lines if l.startswith("%d," % a)][0]
    assert '"DDoS, ""big"" one"' in row
    # Members' CSV holds only their own organisation.
    r = d.call("viewer", "GET", "/api/v1/incidents?format=csv")
    assert "North Power Company" not in r.body.decode()


def test_stix_export_and_rules(cdemo):
    d = cdemo
    iid = create(d, indicators=[{"type": "file", "hashes": {"SHA-256": "a" * 64}},
                                {"type": "domain-name", "value": "evil.example"}])["id"]
    b = d.call("reporter", "GET", "/api/v1/incidents/%d/stix" % iid).json()
    assert b["type"] == "bundle"
    types = sorted(o["type"] for o in b["objects"])
    assert types == ["domain-name", "file", "incident", "relationship", "relationship"]
    rules = d.call("viewer", "GET", "/api/v1/incidents/rules").json()
    review = [x for x in rules["deadlines"] if x["deadline"] == "review"][0]
    assert review["per_level"] == [28800, 28800, 7200, 7200]
    assert any(t["class"] == "intrusions" for t in rules["taxonomy"])


def test_metrics_and_test_clock_guard(cdemo, shared_demo):
    m = cdemo.node.request("GET", "/metrics").body.decode()
    for fam in ("ciip_cert_incidents", "ciip_cert_deadlines_overdue",
                "ciip_cert_notifications_unacked", "ciip_cert_outbox_pending"):
        assert "# TYPE %s gauge" % fam in m
    assert 'ciip_cert_incidents{state="closed"}' in m
    assert cdemo.call("reporter", "POST", "/api/v1/test/clock", {"now": T0}).status == 403
    # Without CIIP_TEST_CLOCK the route does not exist.
    r = shared_demo.call("admin", "POST", "/api/v1/test/clock", {"now": T0})
    assert r.status == 404


def test_demo_has_a_dozen_incidents_in_many_states(cdemo):
    r = cdemo.call("reviewer", "GET", "/api/v1/incidents?limit=500").json()["incidents"]
    demo = [i for i in r if i["created_by"].startswith("local:")]
    # Twelve reports; the two members' drafts are theirs until submitted.
    assert len(demo) >= 10
    assert not any(i["state"] == "draft" for i in demo)
    own = cdemo.call("isp-reporter", "GET", "/api/v1/incidents?state=draft").json()["incidents"]
    assert any(i["created_by"].startswith("local:") for i in own)
    assert len({i["state"] for i in demo}) >= 6
    assert {i["level"] for i in demo} == {1, 2, 3, 4}


# ---- delivery ----

class _Hook(http.server.BaseHTTPRequestHandler):
    got = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        _Hook.got.append(json.loads(self.rfile.read(n)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


def test_notifications_are_posted_to_the_webhook(make_node):
    srv = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        n = make_node(args=["--demo"], config="cert:\n  notify:\n    webhook_url: "
                      "http://127.0.0.1:%d/hook\n" % srv.server_port)
        d = Demo(n)
        alert = {"alert_id": "w-1", "title": "scan", "source": {"ip": "203.0.113.91"},
                 "destination": {"ip": "198.51.100.21"}}
        assert d.call("analyst", "POST", "/api/v1/incidents/from-alert", alert).status == 201
        import time
        deadline_t = time.time() + 10
        while time.time() < deadline_t and not any(
                g.get("payload", {}).get("addresses") == ["203.0.113.91"] for g in _Hook.got):
            time.sleep(0.1)
        hit = [g for g in _Hook.got if g.get("payload", {}).get("addresses") == ["203.0.113.91"]]
        assert hit and hit[0]["org"] == "NetOne ISP" and hit[0]["kind"] == "abuse"
    finally:
        srv.shutdown()


# ---- the client ----

def test_client_incident_commands(cdemo, tmp_path):
    d = cdemo
    env = {"CIIP_URL": d.node.url(), "CIIP_TOKEN": d.token("reporter")}
    body = tmp_path / "r.json"
    body.write_text(json.dumps(report(title="Filed from the client")))
    rc, out, err = run_ciip("incident", "create", "--file", str(body), env=env)
    assert rc == 0, err
    iid = json.loads(out)["id"]
    rc, out, err = run_ciip("incident", "submit", str(iid), env=env)
    assert rc == 0 and json.loads(out)["state"] == "submitted", err
    rc, out, err = run_ciip("incident", "close", str(iid), env=env)
    assert rc == 1 and "403" in err
    rc, out, err = run_ciip("incident", "list", "--state", "submitted", "--csv", env=env)
    assert rc == 0 and out.startswith("id,ref,org,state") and "Filed from the client" in out
    rc, out, err = run_ciip("incident", "show", str(iid), env=env)
    assert rc == 0 and json.loads(out)["title"] == "Filed from the client"
    rc, out, err = run_ciip("incident", "timeline", str(iid), env=env)
    assert rc == 0 and [t["action"] for t in json.loads(out)["timeline"]] == ["create", "submit"]
    env["CIIP_TOKEN"] = d.token("reviewer")
    rc, out, err = run_ciip("incident", "review", str(iid), env=env)
    assert rc == 0
    rc, out, err = run_ciip("incident", "return", str(iid), "--reason", "more detail", env=env)
    assert rc == 0 and json.loads(out)["state"] == "returned"
    rc, out, err = run_ciip("incident", "overdue", env=env)
    assert rc == 0
