"""The foundation: health, metrics, errors, limits, configuration, signals,
TLS, demo mode and the client."""
import json
import os
import signal
import socket
import subprocess
import time

from conftest import Node, run_ciip, run_ciipd


def test_healthz_reports_version_uptime_and_database(node):
    status, body = node.get_json("/healthz")
    assert status == 200
    assert body["status"] == "ok"
    assert body["version"]
    assert body["uptime_s"] >= 0
    assert body["database"]["status"] == "ok"
    assert body["database"]["schema_version"] >= 1


def test_metrics_are_prometheus_text(node):
    node.request("GET", "/healthz")
    node.request("GET", "/no/such/thing")
    r = node.request("GET", "/metrics")
    assert r.status == 200
    assert r.header("Content-Type").startswith("text/plain; version=0.0.4")
    text = r.body.decode()
    for family in ("ciip_uptime_seconds", "ciip_db_size_bytes", "process_resident_memory_bytes",
                   "ciip_http_requests_total", "ciip_http_request_duration_seconds_bucket"):
        assert "# TYPE " + family.replace("_bucket", "") in text, family
    assert 'ciip_http_requests_total{route="/healthz",status="200"}' in text
    assert 'ciip_http_requests_total{route="unmatched",status="404"} 1' in text
    rss = [l for l in text.splitlines() if l.startswith("process_resident_memory_bytes ")]
    assert int(rss[0].split()[1]) > 1000000


def test_unknown_path_and_method_get_json_errors(node):
    r = node.request("GET", "/api/v1/nothing-here")
    assert r.status == 404
    assert r.json()["error"]["code"] == "not_found"
    r = node.request("DELETE", "/healthz")
    assert r.status == 405
    assert "GET" in r.header("Allow")
    assert r.json()["error"]["message"]


def test_static_files_are_served_and_confined(node):
    r = node.request("GET", "/")
    assert r.status == 200
    assert r.header("Content-Type").startswith("text/html")
    r = node.request("GET", "/../CMakeLists.txt")
    assert r.status == 404
    r = node.request("GET", "/%2e%2e/CMakeLists.txt")
    assert r.status == 404


def _raw(node, data, read=65536, timeout=30):
    s = socket.create_connection(("127.0.0.1", node.port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while not out.endswith(b"}") and len(out) < read:
            chunk = s.recv(read)
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def test_100mb_body_is_refused_with_413_and_daemon_stays_up(node):
    big = b"x" * (100 * 1024 * 1024)
    r = node.request("POST", "/healthz", body=big, headers={"Content-Type": "application/json"})
    assert r.status == 413
    assert r.json()["error"]["code"] == "too_large"
    # Chunked, so the size is not announced.
    s = socket.create_connection(("127.0.0.1", node.port), timeout=60)
    s.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * (1024 * 1024)
    for _ in range(100):
        s.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
    s.sendall(b"0\r\n\r\n")
    head = s.recv(4096)
    s.close()
    assert head.startswith(b"HTTP/1.1 413")
    assert node.request("GET", "/healthz").status == 200


def test_1mb_header_is_refused_with_431_and_daemon_stays_up(node):
    req = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1024 * 1024) + b"\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", node.port), timeout=30)
    try:
        s.sendall(req)
    except (BrokenPipeError, ConnectionResetError):
        pass
    head = s.recv(4096)
    s.close()
    assert head.split(b"\r\n")[0] in (b"HTTP/1.1 431 Request Header Fields Too Large",
                                      b"HTTP/1.1 413 Request Entity Too Large")
    assert node.request("GET", "/healthz").status == 200


def _write_config(tmp_path, text):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    return str(p)


def test_bad_config_unknown_key_names_file_line_key(tmp_path):
    path = _write_config(tmp_path, "http:\n  listen: 127.0.0.1:9\n  colour: blue\n")
    rc, out, err = run_ciipd("--config", path, "-n")
    assert rc == 2
    assert "%s:3: http.colour: unknown key" % path in err


def test_bad_config_port_out_of_range(tmp_path):
    path = _write_config(tmp_path, "http:\n  listen: 127.0.0.1:99999\n")
    rc, out, err = run_ciipd("--config", path, "-n")
    assert rc == 2
    assert "%s:2: http.listen:" % path in err
    assert "port" in err


def test_bad_config_wrong_type_and_range_all_reported(tmp_path):
    path = _write_config(tmp_path, "http:\n  threads: lots\nstore:\n  readers: 1000\n")
    rc, out, err = run_ciipd("--config", path)
    assert rc == 2
    assert "%s:2: http.threads: 'lots' is not an integer" % path in err
    assert "%s:4: store.readers:" % path in err and "out of range" in err
    assert "2 errors" in err


def test_unreadable_config_is_refused(tmp_path):
    rc, out, err = run_ciipd("--config", str(tmp_path / "missing.yaml"))
    assert rc == 2
    assert "missing.yaml: cannot open" in err


def test_check_mode_says_configuration_ok(tmp_path):
    path = _write_config(tmp_path, "log:\n  level: debug\n")
    rc, out, err = run_ciipd("--config", path, "-n")
    assert rc == 0
    assert out.strip() == "configuration OK"


def test_sigterm_finishes_cleanly(node):
    assert node.request("GET", "/healthz").status == 200
    assert node.stop(signal.SIGTERM) == 0
    log = node.log()
    assert "shutting down" in log and "stopped" in log
    # The WAL was checkpointed into the main file on close.
    assert not os.path.exists(os.path.join(node.data, "ciip.db-wal")) or \
        os.path.getsize(os.path.join(node.data, "ciip.db-wal")) == 0


def test_sigterm_lets_a_request_in_flight_finish(node):
    # Send a request slowly: its body arrives after the signal.
    s = socket.create_connection(("127.0.0.1", node.port), timeout=30)
    s.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
    time.sleep(0.3)
    node.send(signal.SIGTERM)
    time.sleep(0.3)
    s.sendall(b"cd")
    head = s.recv(4096)
    s.close()
    assert head.startswith(b"HTTP/1.1 405")
    node.proc.wait(20)
    assert node.proc.returncode == 0


def test_sighup_reopens_the_log_file(tmp_path):
    log = tmp_path / "ciipd-file.log"
    n = Node(tmp_path, config="log:\n  file: %s\n" % log)
    try:
        assert log.exists()
        os.rename(log, str(log) + ".1")
        n.send(signal.SIGHUP)
        deadline = time.time() + 10
        while not log.exists() and time.time() < deadline:
            time.sleep(0.05)
        assert log.exists()
        assert "SIGHUP" in log.read_text()
    finally:
        n.stop()


def test_json_logs(tmp_path):
    n = Node(tmp_path, args=["--log-json"])
    try:
        n.request("GET", "/healthz")
    finally:
        n.stop()
    lines = [l for l in n.log().splitlines() if l.startswith("{")]
    assert lines
    for l in lines:
        rec = json.loads(l)
        assert set(rec) >= {"ts", "level", "subsys", "msg"}


def test_tls(tmp_path):
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    n = Node(tmp_path, tls=(cert, key))
    try:
        status, body = n.get_json("/healthz")
        assert status == 200 and body["status"] == "ok"
        rc, out, err = run_ciip("--cacert", cert, "health", "--url", n.url())
        assert rc == 0, err
    finally:
        n.stop()


def test_demo_writes_credentials(tmp_path):
    n = Node(tmp_path, args=["--demo"])
    try:
        with open(os.path.join(n.data, "demo-credentials.json")) as f:
            creds = json.load(f)
        assert "accounts" in creds
        # The banner comes just after the node starts answering.
        deadline = time.time() + 10
        while "/healthz" not in n.log() and time.time() < deadline:
            time.sleep(0.05)
        assert "/healthz" in n.log()
    finally:
        n.stop()


def test_client_health_and_version(node):
    rc, out, err = run_ciip("health", "--url", node.url())
    assert rc == 0, err
    assert "ok" in out and "schema" in out
    rc, out, err = run_ciip("version")
    assert rc == 0 and out.startswith("ciip ")
    # Nothing listens on this port: the client says so and fails.
    rc, out, err = run_ciip("health", "--url", "http://127.0.0.1:1")
    assert rc == 1
    assert "127.0.0.1:1" in err


def test_newer_database_schema_stops_startup(tmp_path):
    import sqlite3
    n = Node(tmp_path)
    n.stop()
    db = sqlite3.connect(os.path.join(n.data, "ciip.db"))
    db.execute("INSERT INTO schema_migrations(version, name, applied_at) VALUES (9999, 'x', 0)")
    db.commit()
    db.close()
    rc, out, err = run_ciipd("--data", n.data, "--listen", "127.0.0.1:%d" % n.port)
    assert rc == 1
    assert "schema is version 9999" in err


def test_unusable_database_gives_503(node):
    # Replace the database under the running daemon with garbage.
    for suffix in ("-wal", "-shm", ""):
        p = os.path.join(node.data, "ciip.db" + suffix)
        if os.path.exists(p):
            with open(p, "r+b") as f:
                f.truncate(0)
                f.write(b"this is not a database" * 200)
    r = node.request("GET", "/healthz")
    assert r.status == 503
    body = r.json()
    assert body["database"]["status"] == "unavailable"
    assert body["database"]["error"]


def test_drops_privileges_after_binding(tmp_path):
    import pwd
    if os.geteuid() != 0:
        return  # only meaningful when started as root, as CI is
    import pathlib
    import shutil
    import tempfile
    nobody = pwd.getpwnam("nobody")
    # pytest's own temporary directories are closed to other users.
    home = pathlib.Path(tempfile.mkdtemp(prefix="ciip-run-as-", dir="/tmp"))
    os.chmod(str(home), 0o755)
    n = Node(home, config="run_as: nobody\n")
    try:
        with open("/proc/%d/status" % n.proc.pid) as f:
            uid_line = [l for l in f if l.startswith("Uid:")][0]
        assert uid_line.split()[1:] == [str(nobody.pw_uid)] * 4
        status, body = n.get_json("/healthz")
        assert status == 200 and body["database"]["status"] == "ok"
        assert "running as nobody" in n.log()
    finally:
        n.stop()
        shutil.rmtree(str(home), ignore_errors=True)
