"""The SOC pipeline end to end: sensors, every listener, the decoders,
detection, alerts and sightings, durability across a crash, and bad input."""
import json
import os
import socket
import subprocess
import time

import pytest

from conftest import Demo, free_port, run_ciip


def soc(make_node, **extra):
    ports = {"json": free_port(), "udp": free_port(), "tcp": free_port()}
    cfg = ("ingest:\n  json_tcp: 127.0.0.1:%d\n  syslog_udp: 127.0.0.1:%d\n"
           "  syslog_tcp: 127.0.0.1:%d\n  max_connections: %d\n"
           "detect:\n  threads: 2\n" % (ports["json"], ports["udp"], ports["tcp"],
                                        extra.get("max_connections", 1024)))
    n = make_node(config=cfg, args=["--demo"])
    d = Demo(n)
    d.ports = ports
    return d


def sensor_token(d, name):
    for a in d.creds["accounts"]:
        if a.get("sensor") == name:
            return a["token"]
    raise KeyError(name)


def post_events(d, sensor, lines):
    body = ("\n".join(lines) + "\n").encode("utf-8")
    return d.node.request("POST", "/api/v1/events", body=body,
                          headers={"Authorization": "Bearer " + sensor_token(d, sensor),
                                   "Content-Type": "application/x-ndjson"})


def wait_alerts(d, query, want=1, timeout=20):
    deadline = time.time() + timeout
    alerts = []
    while time.time() < deadline:
        r = d.call("analyst", "GET", "/api/v1/alerts?" + query)
        assert r.status == 200, r.body
        alerts = r.json()["alerts"]
        if len(alerts) >= want:
            return alerts
        time.sleep(0.1)
    return alerts


def wait_sensor(d, name, field, want, timeout=20):
    deadline = time.time() + timeout
    value = None
    while time.time() < deadline:
        sensors = d.call("admin", "GET", "/api/v1/sensors").json()["sensors"]
        value = [s for s in sensors if s["name"] == name][0][field]
        if value >= want:
            return value
        time.sleep(0.1)
    return value


def cowrie_failed(ip, i, ts="2026-02-01T14:17:%02d.000000Z"):
    return json.dumps({"eventid": "cowrie.login.failed", "src_ip": ip, "src_port": 40000 + i,
                       "dst_ip": "198.51.100.10", "dst_port": 22, "session": "s%d" % i,
                       "protocol": "ssh", "sensor": "hp1", "timestamp": ts % (i % 60),
                       "username": "root", "password": "x%d" % i,
                       "message": "login attempt failed"})


def eve_flow(src, dst, dport, i, bytes_=400):
    return json.dumps({"timestamp": "2026-03-01T10:00:%02d.%06d+0000" % (i // 1000 % 60, i % 1000),
                       "flow_id": 1000 + i, "event_type": "flow", "src_ip": src,
                       "src_port": 50000 + (i % 1000), "dest_ip": dst, "dest_port": dport,
                       "proto": "TCP", "app_proto": "failed",
                       "flow": {"pkts_toserver": 1, "pkts_toclient": 0,
                                "bytes_toserver": bytes_, "bytes_toclient": 0,
                                "start": "2026-03-01T10:00:00.000000+0000",
                                "end": "2026-03-01T10:00:01.000000+0000",
                                "age": 0, "state": "new", "reason": "timeout", "alerted": False}})


def test_sensors_are_registered_per_organisation(make_node):
    d = soc(make_node)
    r = d.call("admin", "POST", "/api/v1/sensors",
               {"name": "ids-blue", "kind": "suricata", "org": "BlueWave ISP"})
    assert r.status == 201, r.body
    tok = r.json()["token"]
    assert tok.startswith("ciip_sensor_")
    assert d.call("admin", "POST", "/api/v1/sensors",
                  {"name": "ids-blue", "kind": "suricata", "org": "BlueWave ISP"}).status == 409
    assert d.call("admin", "POST", "/api/v1/sensors",
                  {"name": "x1", "kind": "toaster", "org": "BlueWave ISP"}).status == 400
    assert d.call("reporter", "POST", "/api/v1/sensors",
                  {"name": "x2", "kind": "cowrie", "org": "North Power Company"}).status == 403
    # The sensor's token can send events and nothing else.
    h = {"Authorization": "Bearer " + tok}
    assert d.node.request("GET", "/api/v1/orgs", headers=h).status == 403
    names = [s["name"] for s in d.call("admin", "GET", "/api/v1/sensors").json()["sensors"]]
    assert "ids-blue" in names and "suricata-netone" in names
    # A member sees only its own sensors.
    mine = d.call("reporter", "GET", "/api/v1/sensors").json()["sensors"]
    assert [s["name"] for s in mine] == ["cowrie-northpower"]
    rc, out, err = run_ciip("--url", d.node.url(), "--token", d.token("admin"), "sensor", "add",
                            "--org", "SkyLink ISP", "--kind", "dns", "--name", "dns-sky")
    assert rc == 0, err
    assert json.loads(out)["token"].startswith("ciip_sensor_")


def test_http_cowrie_brute_force_raises_one_alert(make_node):
    d = soc(make_node)
    r = post_events(d, "cowrie-northpower", [cowrie_failed("203.0.113.50", i) for i in range(40)])
    assert r.status == 202, r.body
    assert r.json()["accepted"] == 40
    alerts = wait_alerts(d, "rule=bruteforce")
    assert len(alerts) == 1
    a = alerts[0]
    assert a["source"]["ip"] == "203.0.113.50"
    assert a["evidence"]["source"]["ip"] == "203.0.113.50"
    assert wait_sensor(d, "cowrie-northpower", "events", 40) == 40
    # The attacker's address belongs to a member ISP: the alert says so.
    assert a["state"] == "new"


def test_json_lines_tcp_eve_port_scan(make_node):
    d = soc(make_node)
    s = socket.create_connection(("127.0.0.1", d.ports["json"]), timeout=10)
    s.sendall(json.dumps({"token": sensor_token(d, "suricata-netone")}).encode() + b"\n")
    assert json.loads(s.recv(100).decode().splitlines()[0])["ok"] is True
    lines = [eve_flow("192.0.2.77", "198.51.100.20", port, port) for port in range(1, 301)]
    s.sendall(("\n".join(lines) + "\n").encode())
    s.close()
    alerts = wait_alerts(d, "rule=scan.ports")
    assert alerts and alerts[0]["source"]["ip"] == "192.0.2.77"


def test_json_lines_tcp_refuses_a_bad_token(make_node):
    d = soc(make_node)
    s = socket.create_connection(("127.0.0.1", d.ports["json"]), timeout=10)
    s.sendall(b'{"token": "ciip_sensor_nope"}\n')
    assert b"unauthenticated" in s.recv(100)
    assert s.recv(100) == b""  # closed
    s.close()
    # A person's token may not send events either.
    s = socket.create_connection(("127.0.0.1", d.ports["json"]), timeout=10)
    s.sendall(d.token("viewer").encode() + b"\n")
    assert b"unauthenticated" in s.recv(100)
    s.close()


def iptables(src, dport, i):
    return ("<4>Mar  1 10:00:%02d fw1 kernel: [12345.678] IN=eth0 OUT= MAC=00:11 SRC=%s "
            "DST=198.51.100.140 LEN=40 TOS=0x00 PREC=0x00 TTL=240 ID=54321 PROTO=TCP "
            "SPT=44444 DPT=%d WINDOW=1024 RES=0x00 SYN URGP=0" % (i % 60, src, dport))


def test_syslog_udp_firewall_scan(make_node):
    d = soc(make_node)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for port in range(1, 251):
        u.sendto(iptables("203.0.113.200", port, port).encode(), ("127.0.0.1", d.ports["udp"]))
        if port % 50 == 0:
            time.sleep(0.05)
    u.close()
    alerts = wait_alerts(d, "rule=scan.ports")
    assert alerts and alerts[0]["source"]["ip"] == "203.0.113.200"
    assert wait_sensor(d, "syslog", "events", 200) >= 200


def test_syslog_tcp_octet_counting_and_newlines(make_node):
    d = soc(make_node)
    msgs = [("<34>1 2026-03-01T10:00:%02d.000Z fw2 sshd 123 - - Failed password for root from "
             "203.0.113.9 port 22 ssh2" % i) for i in range(10)]
    s = socket.create_connection(("127.0.0.1", d.ports["tcp"]), timeout=10)
    s.sendall(b"".join(b"%d %s" % (len(m), m.encode()) for m in msgs))
    s.close()
    s = socket.create_connection(("127.0.0.1", d.ports["tcp"]), timeout=10)
    s.sendall(("\n".join(msgs) + "\n").encode())
    s.close()
    assert wait_sensor(d, "syslog", "events", 20) == 20


def test_spam_trap_burst(make_node):
    d = soc(make_node)
    recs = [json.dumps({"timestamp": "2026-03-01T10:00:%02dZ" % (i % 60),
                        "from": "promo%d@spam.example" % i, "ip": "198.51.100.201",
                        "to": "trap@isac.example", "subject": "Win now %d" % i,
                        "body": "Visit http://win.spam.example/claim?id=%d today" % i})
            for i in range(60)]
    r = post_events(d, "spamtrap-isac", recs)
    assert r.status == 202
    alerts = wait_alerts(d, "rule=spam.burst")
    assert alerts and alerts[0]["source"]["ip"] == "198.51.100.201"


def test_indicator_match_raises_alert_and_writes_sighting(make_node):
    d = soc(make_node)
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 60))
    ind = {"type": "indicator", "spec_version": "2.1",
           "id": "indicator--6f9a5e0b-2d3c-4b1a-9e8f-0a1b2c3d4e5f",
           "created": now, "modified": now, "valid_from": now, "pattern_type": "stix",
           "pattern": "[ipv4-addr:value = '198.51.100.99']", "name": "test C2"}
    r = d.call("analyst", "POST", "/api/v1/intel", {"collection": "indicators", "object": ind})
    assert r.status in (200, 201), r.body
    time.sleep(1.5)  # the matcher follows the store twice a second
    line = json.dumps({"timestamp": "2026-03-01T10:00:00.000000+0000", "event_type": "dns",
                       "src_ip": "198.51.100.99", "src_port": 53, "dest_ip": "10.0.0.5",
                       "dest_port": 5353, "proto": "UDP",
                       "dns": {"type": "query", "id": 1, "rrname": "c2.example", "rrtype": "A"}})
    assert post_events(d, "suricata-netone", [line]).status == 202
    alerts = wait_alerts(d, "rule=indicator")
    assert alerts, "no indicator alert"
    a = alerts[0]
    assert a["indicator_id"] == ind["id"]
    deadline = time.time() + 10
    while time.time() < deadline and not a.get("sighting_id"):
        time.sleep(0.2)
        a = d.call("analyst", "GET", "/api/v1/alerts/%d" % a["id"]).json()
    assert a["sighting_id"].startswith("sighting--")
    r = d.call("analyst", "GET", "/api/v1/intel/%s?collection=sightings" % a["sighting_id"])
    assert r.status == 200, r.body
    body = r.json()
    obj = body.get("object", body)
    assert obj["sighting_of_ref"] == ind["id"]


def test_bad_lines_are_counted_kept_and_survived(make_node):
    d = soc(make_node)
    good = [cowrie_failed("203.0.113.60", i) for i in range(3)]
    bad = ['{"eventid": "cowrie.login.failed", "src_ip": ',          # truncated
           '{"eventid": "cowrie.login.failed", "src_ip": "\xff\xfe"}',  # invalid UTF-8 (sent raw)
           '{"eventid": 5, "src_ip": ["x"]}',                          # wrong types
           "[" * 5000 + "]" * 5000,                                    # deep nesting
           "not json at all"]
    body = ("\n".join(good[:1] + bad + good[1:]) + "\n").encode("latin-1")
    r = d.node.request("POST", "/api/v1/events", body=body,
                       headers={"Authorization": "Bearer " + sensor_token(d, "cowrie-northpower"),
                                "Content-Type": "application/x-ndjson"})
    assert r.status == 202
    assert wait_sensor(d, "cowrie-northpower", "decode_errors", len(bad)) == len(bad)
    dead = os.path.join(d.node.data, "deadletter", "cowrie-northpower.log")
    deadline = time.time() + 5
    while time.time() < deadline and not os.path.exists(dead):
        time.sleep(0.1)
    with open(dead, "rb") as f:
        rows = f.read().splitlines()
    assert len(rows) == len(bad)
    offset = int(rows[0].split(b"\t")[0])
    assert offset == len(good[0]) + 1  # the second line of the batch
    assert "cannot decode" in d.node.log() and "cowrie-northpower" in d.node.log()
    # A 10 MB line over TCP is skipped; the stream goes on.
    s = socket.create_connection(("127.0.0.1", d.ports["json"]), timeout=30)
    s.sendall(json.dumps({"token": sensor_token(d, "suricata-netone")}).encode() + b"\n")
    s.recv(100)
    s.sendall(b'{"event_type":"flow","x":"' + b"a" * (10 * 1024 * 1024) + b'"}\n')
    s.sendall((eve_flow("192.0.2.1", "198.51.100.2", 80, 1) + "\n").encode())
    s.close()
    assert wait_sensor(d, "suricata-netone", "events", 1) >= 1
    assert wait_sensor(d, "suricata-netone", "decode_errors", 1) >= 1
    assert d.node.request("GET", "/healthz").status == 200


def test_killed_node_loses_no_acknowledged_event(make_node):
    d = soc(make_node)
    acked = []
    for b in range(30):
        ip = "203.0.113.%d" % (100 + b)
        r = post_events(d, "cowrie-northpower", [cowrie_failed(ip, i) for i in range(25)])
        assert r.status == 202
        acked.append(ip)
    d.node.proc.kill()
    d.node.proc.wait()
    d.node.start()
    alerts = wait_alerts(d, "rule=bruteforce&limit=1000", want=30, timeout=30)
    assert sorted(a["source"]["ip"] for a in alerts) == sorted(acked)
    # Nothing counted twice: one alert per source.
    assert len(alerts) == 30


def test_ten_thousand_connections_are_survived(make_node):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))
    d = soc(make_node, max_connections=256)
    socks = []
    try:
        for _ in range(10000):
            try:
                socks.append(socket.create_connection(("127.0.0.1", d.ports["json"]), timeout=5))
            except OSError:
                break
        assert len(socks) > 2000
        assert d.node.request("GET", "/healthz").status == 200
        with open("/proc/%d/status" % d.node.proc.pid) as f:
            rss_kb = int([l for l in f if l.startswith("VmRSS:")][0].split()[1])
        assert rss_kb < 400 * 1024
    finally:
        for s in socks:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    metrics = d.node.request("GET", "/metrics").body.decode()
    refused = [l for l in metrics.splitlines() if l.startswith("ciip_listener_refused_total")]
    assert refused and sum(float(l.split()[-1]) for l in refused) > 1000


def test_alert_moves_and_escalation_to_incident(make_node):
    d = soc(make_node)
    post_events(d, "cowrie-northpower", [cowrie_failed("203.0.113.70", i) for i in range(25)])
    post_events(d, "cowrie-northpower", [cowrie_failed("203.0.113.71", i) for i in range(25)])
    alerts = wait_alerts(d, "rule=bruteforce", want=2)
    a, b = alerts[0], alerts[1]
    # A member's reporter may read its own alerts but not work them.
    assert d.call("reporter", "GET", "/api/v1/alerts/%d" % a["id"]).status == 200
    assert d.call("reporter", "POST", "/api/v1/alerts/%d/acknowledge" % a["id"]).status == 403
    assert d.call("viewer", "GET", "/api/v1/alerts/%d" % a["id"]).status == 403
    r = d.call("analyst", "POST", "/api/v1/alerts/%d/acknowledge" % a["id"])
    assert r.status == 200 and r.json()["state"] == "acknowledged"
    r = d.call("analyst", "POST", "/api/v1/alerts/%d/false_positive" % b["id"],
               {"reason": "our own scanner"})
    assert r.status == 200 and r.json()["state"] == "false_positive"
    assert d.call("analyst", "POST", "/api/v1/alerts/%d/acknowledge" % b["id"]).status == 409
    r = d.call("analyst", "POST", "/api/v1/alerts/%d/escalate" % a["id"])
    assert r.status == 200, r.body
    esc = r.json()
    assert esc["state"] == "escalated" and esc["incident_id"]
    inc = d.call("analyst", "GET", "/api/v1/incidents/%d" % esc["incident_id"])
    assert inc.status == 200, inc.body


def test_replay_sends_a_file(make_node, tmp_path):
    d = soc(make_node)
    f = tmp_path / "cowrie.json"
    f.write_text("\n".join(cowrie_failed("203.0.113.90", i) for i in range(30)) + "\n")
    rc, out, err = run_ciip("replay", str(f), "--sensor", sensor_token(d, "cowrie-northpower"),
                            "--url", d.node.url(), "--rate", "1000")
    assert rc == 0, err
    assert "replayed 30 lines" in err
    alerts = wait_alerts(d, "rule=bruteforce&source=203.0.113.90")
    assert alerts
    env = {"CIIP_URL": d.node.url(), "CIIP_TOKEN": d.token("analyst")}
    rc, out, err = run_ciip("alert", "list", "--rule", "bruteforce", "--source", "203.0.113.90",
                            env=env)
    assert rc == 0, err
    assert json.loads(out)["alerts"][0]["id"] == alerts[0]["id"]
    rc, out, err = run_ciip("alert", "acknowledge", str(alerts[0]["id"]), env=env)
    assert rc == 0 and json.loads(out)["state"] == "acknowledged"


DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "ingest")

# Real-format samples per decoder, and the demo sensor of that kind.
SAMPLES = {
    "suricata-netone": ["eve/suricata-logs-evelog.json", "eve/telegraf-flow.json",
                        "eve/output-eve-fileinfo.eve.json"],
    "cowrie-northpower": ["cowrie/otori-synthetic.json"],
    "dns-citywater": ["dnslog/unbound.log", "dnslog/bind-querylog.log"],
    "spamtrap-isac": ["spamtrap/records.json"],
    "syslog": ["syslog/iptables-logs.log", "syslog/rfc5424.log", "syslog/sshd-logs.log"],
}


def sample_lines(names):
    lines = []
    for n in names:
        with open(os.path.join(DATA, n), "rb") as f:
            text = f.read().decode("utf-8")
        # Some samples are pretty-printed JSON documents, one per record.
        if text.lstrip().startswith("{") and "\n}\n" in text and not text.startswith("{\""):
            dec = json.JSONDecoder()
            pos = 0
            while pos < len(text):
                while pos < len(text) and text[pos].isspace():
                    pos += 1
                if pos >= len(text):
                    break
                obj, pos = dec.raw_decode(text, pos)
                lines.append(json.dumps(obj))
        else:
            lines += [l for l in text.splitlines() if l.strip()]
    return lines


def send_tcp_lines(d, sensor, lines):
    s = socket.create_connection(("127.0.0.1", d.ports["json"]), timeout=10)
    s.sendall(json.dumps({"token": sensor_token(d, sensor)}).encode() + b"\n")
    assert b'"ok"' in s.recv(100)
    s.sendall(("\n".join(lines) + "\n").encode())
    s.close()


@pytest.mark.parametrize("listener", ["http", "json-tcp", "syslog-udp", "syslog-tcp"])
def test_every_decoder_through_every_listener(make_node, listener):
    d = soc(make_node)
    sent = {}
    for sensor, files in SAMPLES.items():
        lines = sample_lines(files)
        assert lines, files
        if listener in ("syslog-udp", "syslog-tcp") and sensor != "syslog":
            continue  # syslog listeners feed their one configured sensor
        if listener == "http":
            assert post_events(d, sensor, lines).status == 202
        elif listener == "json-tcp":
            send_tcp_lines(d, sensor, lines)
        elif listener == "syslog-udp":
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for l in lines:
                u.sendto(l.encode(), ("127.0.0.1", d.ports["udp"]))
            u.close()
        else:
            s = socket.create_connection(("127.0.0.1", d.ports["tcp"]), timeout=10)
            s.sendall(b"".join(b"%d %s" % (len(l.encode()), l.encode()) for l in lines))
            s.close()
        sent[sensor] = len(lines)
    for sensor, n in sent.items():
        assert wait_sensor(d, sensor, "events", n) == n, sensor
    sensors = {s["name"]: s for s in d.call("admin", "GET", "/api/v1/sensors").json()["sensors"]}
    for sensor in sent:
        # Every sample line is a real record of its format: none is refused.
        assert sensors[sensor]["decode_errors"] == 0, sensor
    assert d.node.request("GET", "/healthz").status == 200
