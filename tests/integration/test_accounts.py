"""Accounts and access: login with TOTP, sessions and CSRF, tokens, the
authorisation rules tried as an attacker would, throttling, the audit log
and the offline bootstrap."""
import base64
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time

from conftest import Node, run_ciip, totp


def test_login_with_password_and_totp_gives_a_strict_cookie(demo):
    r, h = demo.login("analyst")
    assert r.status == 200, r.body
    cookie = r.header("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # no TLS in this test
    body = r.json()
    assert body["user"]["username"] == "analyst"
    assert "password" not in json.dumps(body)
    status, me = demo.node.get_json("/api/v1/me", headers=h)
    assert status == 200
    assert me["role"] == "analyst" and me["node_staff"] is True
    assert "intel.write" in me["actions"] and "user.write" not in me["actions"]


def test_login_without_second_factor_fails_where_mandatory(demo):
    a = demo.account("admin")
    r = demo.node.request("POST", "/api/v1/login",
                          body={"username": "admin", "password": a["password"]})
    assert r.status == 401
    assert r.json()["error"]["code"] == "mfa_required"
    assert r.header("Set-Cookie") is None


def test_a_totp_code_cannot_be_used_twice(demo):
    code = totp(demo.account("reviewer")["totp_secret"])
    r, _ = demo.login("reviewer", code)
    assert r.status == 200
    r, _ = demo.login("reviewer", code)
    assert r.status == 401
    assert "already used" in r.json()["error"]["message"]


def test_recovery_code_works_once(demo):
    a = demo.account("viewer")
    code = a["recovery_codes"][0]
    body = {"username": "viewer", "password": a["password"], "recovery_code": code}
    assert demo.node.request("POST", "/api/v1/login", body=body).status == 200
    assert demo.node.request("POST", "/api/v1/login", body=body).status == 401


def test_session_needs_csrf_token_for_changes(demo):
    r, h = demo.login("admin")
    assert r.status == 200
    new_org = {"name": "Csrf Test Org", "sector": "water", "kind": "operator"}
    no_csrf = {"Cookie": h["Cookie"]}
    r = demo.node.request("POST", "/api/v1/orgs", body=new_org, headers=no_csrf)
    assert r.status == 403
    assert r.json()["error"]["code"] == "csrf"
    r = demo.node.request("POST", "/api/v1/orgs", body=new_org,
                          headers={"Cookie": h["Cookie"], "X-CSRF-Token": "wrong"})
    assert r.status == 403
    status, orgs = demo.node.get_json("/api/v1/orgs", headers=no_csrf)
    assert "Csrf Test Org" not in [o["name"] for o in orgs["orgs"]]
    r = demo.node.request("POST", "/api/v1/orgs", body=new_org, headers=h)
    assert r.status == 201, r.body


def test_logout_ends_the_session(demo):
    r, h = demo.login("viewer")
    assert demo.node.request("GET", "/api/v1/me", headers=h).status == 200
    assert demo.node.request("POST", "/api/v1/logout", headers=h).status == 200
    r = demo.node.request("GET", "/api/v1/me", headers=h)
    assert r.status == 401


def test_reporter_calling_admin_endpoints_is_refused(demo):
    before = demo.call("admin", "GET", "/api/v1/users").json()
    for method, path, body in [
        ("GET", "/api/v1/users", None),
        ("POST", "/api/v1/users", {"username": "evil", "org": 1, "role": "admin",
                                   "password": "correct horse battery staple"}),
        ("POST", "/api/v1/orgs", {"name": "Evil", "sector": "oil", "kind": "operator"}),
        ("DELETE", "/api/v1/orgs/1", None),
        ("GET", "/api/v1/tokens", None),
        ("POST", "/api/v1/tokens", {"name": "x", "role": "admin", "org": 1}),
        ("GET", "/api/v1/audit", None),
    ]:
        r = demo.call("reporter", method, path, body)
        assert r.status == 403, (method, path, r.status)
        assert r.json()["error"]["code"] == "forbidden"
    after = demo.call("admin", "GET", "/api/v1/users").json()
    assert before == after


def test_idor_on_another_organisation_is_refused(demo):
    orgs = demo.call("admin", "GET", "/api/v1/orgs").json()["orgs"]
    water = [o for o in orgs if o["name"] == "City Water Utility"][0]
    mine = demo.account("reporter")["org_id"]
    assert demo.call("reporter", "GET", "/api/v1/orgs/%d" % mine).status == 200
    r = demo.call("reporter", "GET", "/api/v1/orgs/%d" % water["id"])
    assert r.status == 403
    r = demo.call("reporter", "PATCH", "/api/v1/orgs/%d" % water["id"],
                  {"prefixes": ["203.0.113.0/24"]})
    assert r.status == 403
    listed = demo.call("reporter", "GET", "/api/v1/orgs").json()["orgs"]
    assert [o["id"] for o in listed] == [mine]
    after = demo.call("admin", "GET", "/api/v1/orgs/%d" % water["id"]).json()
    assert after["prefixes"] == water["prefixes"]


def test_revoked_and_expired_tokens_are_refused(demo):
    r = demo.call("admin", "POST", "/api/v1/tokens",
                  {"name": "short-lived", "role": "viewer", "org": "City Water Utility"})
    assert r.status == 201
    tok = r.json()
    h = {"Authorization": "Bearer " + tok["token"]}
    assert demo.node.request("GET", "/api/v1/me", headers=h).status == 200
    # Listing never shows the token again.
    listed = demo.call("admin", "GET", "/api/v1/tokens").body.decode()
    assert tok["token"] not in listed
    assert demo.call("admin", "DELETE", "/api/v1/tokens/%d" % tok["id"]).status == 200
    r = demo.node.request("GET", "/api/v1/me", headers=h)
    assert r.status == 401 and "revoked" in r.json()["error"]["message"]

    r = demo.call("admin", "POST", "/api/v1/tokens",
                  {"name": "expiring", "role": "viewer", "org": "City Water Utility"})
    tok = r.json()
    db = sqlite3.connect(os.path.join(demo.node.data, "ciip.db"))
    db.execute("UPDATE tokens SET expires_at = 1000 WHERE id = ?", (tok["id"],))
    db.commit()
    db.close()
    r = demo.node.request("GET", "/api/v1/me", headers={"Authorization": "Bearer " + tok["token"]})
    assert r.status == 401 and "expired" in r.json()["error"]["message"]
    # A made-up token, and the other header spellings.
    for hv in ("Bearer ciip_api_notarealtoken", "Token ciip_api_notarealtoken", "Digest abc"):
        assert demo.node.request("GET", "/api/v1/me", headers={"Authorization": hv}).status == 401


def _basic(user, pw):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()}


def test_http_basic_with_token_or_password(demo):
    tok = demo.token("national-node")
    status, me = demo.node.get_json("/api/v1/me", headers=_basic("national-node", tok))
    assert status == 200 and me["role"] == "peer"
    # Roles that must use a second factor cannot use Basic with a password.
    r = demo.node.request("GET", "/api/v1/me",
                          headers=_basic("admin", demo.account("admin")["password"]))
    assert r.status == 401
    assert r.header("WWW-Authenticate").startswith("Basic")


def test_thousand_wrong_passwords_are_throttled_and_change_nothing(demo):
    a = demo.account("reporter")
    statuses = []
    t0 = time.time()
    for i in range(1000):
        r = demo.node.request("POST", "/api/v1/login",
                              body={"username": "reporter", "password": "wrong-%d" % i})
        statuses.append(r.status)
    assert set(statuses) <= {401, 429}
    assert statuses.count(429) >= 980
    # Now even the right password and code are refused while locked out.
    r, _ = demo.login("reporter")
    assert r.status == 429
    assert r.header("Retry-After")
    # The account itself is unchanged and its token still works.
    status, me = demo.node.get_json("/api/v1/me", headers=demo.bearer("reporter"))
    assert status == 200 and me["name"] == "reporter"
    audit = demo.call("admin", "GET", "/api/v1/audit?limit=1000").json()["entries"]
    failed = [e for e in audit if e["action"] == "login.failed"]
    assert len(failed) >= 100
    assert time.time() - t0 < 120


def test_malformed_json_gets_400_with_error_shape(demo):
    r = demo.node.request("POST", "/api/v1/login", body="{not json",
                          headers={"Content-Type": "application/json"})
    assert r.status == 400
    err = r.json()["error"]
    assert err["code"] == "bad_json" and "line 1" in err["message"]


def test_secrets_never_leak(demo):
    # Make a user and a token, log in, then look everywhere.
    pw = "a-long-and-unusual-passphrase-7781"
    r = demo.call("admin", "POST", "/api/v1/users",
                  {"username": "leakcheck", "org": "NetOne ISP", "role": "viewer", "password": pw})
    assert r.status == 201
    assert pw not in r.body.decode()
    tok = demo.call("admin", "POST", "/api/v1/tokens",
                    {"name": "leak", "role": "sensor", "org": "NetOne ISP"}).json()["token"]
    demo.node.request("POST", "/api/v1/login", body={"username": "leakcheck", "password": pw})
    demo.node.request("GET", "/api/v1/me", headers={"Authorization": "Bearer " + tok})
    demo.node.request("GET", "/api/v1/me", headers=_basic("leakcheck", pw))
    everything = [demo.node.log(),
                  demo.call("admin", "GET", "/api/v1/audit?limit=1000").body.decode(),
                  demo.call("admin", "GET", "/api/v1/users").body.decode(),
                  demo.call("admin", "GET", "/api/v1/tokens").body.decode()]
    db = sqlite3.connect(os.path.join(demo.node.data, "ciip.db"))
    everything.append(json.dumps(db.execute("SELECT * FROM audit_log").fetchall()))
    everything.append(json.dumps(db.execute("SELECT * FROM tokens").fetchall()))
    everything.append(json.dumps(db.execute("SELECT username, password_hash FROM users").fetchall()))
    db.close()
    for text in everything:
        assert pw not in text
        assert tok not in text


def test_audit_verify_detects_an_edited_row(demo):
    demo.call("admin", "POST", "/api/v1/orgs",
              {"name": "Audit Org", "sector": "oil", "kind": "operator"})
    rc, out, err = run_ciip("--url", demo.node.url(), "--token", demo.token("admin"),
                            "audit", "verify")
    assert rc == 0, err
    assert "intact" in out
    demo.node.stop()
    db_path = os.path.join(demo.node.data, "ciip.db")
    rc, out, err = run_ciip("--data", demo.node.data, "audit", "verify")
    assert rc == 0, err
    db = sqlite3.connect(db_path)
    db.execute("UPDATE audit_log SET detail = '{\"name\":\"Innocent Org\"}' WHERE id = 3")
    db.commit()
    rc, out, err = run_ciip("--data", demo.node.data, "audit", "verify")
    assert rc == 1
    assert "row 3 was changed" in out
    db.close()


def test_audit_verify_detects_deleted_tail(demo):
    demo.call("admin", "POST", "/api/v1/orgs",
              {"name": "Tail Org", "sector": "oil", "kind": "operator"})
    demo.node.stop()
    db = sqlite3.connect(os.path.join(demo.node.data, "ciip.db"))
    last = db.execute("SELECT MAX(id) FROM audit_log").fetchone()[0]
    db.execute("DELETE FROM audit_log WHERE id = ?", (last,))
    db.commit()
    db.close()
    rc, out, err = run_ciip("--data", demo.node.data, "audit", "verify")
    assert rc == 1
    assert "deleted" in out


def test_offline_bootstrap_of_the_first_admin(tmp_path):
    data = str(tmp_path / "fresh")
    rc, out, err = run_ciip("--data", data, "org", "add", "--name", "Water ISAC",
                            "--sector", "water", "--kind", "sector")
    assert rc == 0, err
    rc, out, err = run_ciip("--data", data, "user", "add", "--org", "Water ISAC", "--role",
                            "admin", "--name", "root", "--password-stdin",
                            input="a-good-long-admin-passphrase\n")
    assert rc == 0, err
    created = json.loads(out)
    secret = created["second_factor"]["totp_secret"]
    assert created["second_factor"]["otpauth_uri"].startswith("otpauth://totp/")
    rc, out, err = run_ciip("--data", data, "user", "add", "--org", "Water ISAC", "--role",
                            "admin", "--name", "weak", "--password-stdin", input="password\n")
    assert rc == 1 and "password" in err
    n = Node(tmp_path, args=["--data", data])
    try:
        r = n.request("POST", "/api/v1/login", body={
            "username": "root", "password": "a-good-long-admin-passphrase", "totp": totp(secret)})
        assert r.status == 200, r.body
        audit = sqlite3.connect(os.path.join(data, "ciip.db")).execute(
            "SELECT actor, action FROM audit_log ORDER BY id").fetchall()
        assert audit[0][0].startswith("local:") and audit[0][1] == "org.create"
        assert audit[1][1] == "user.create"
    finally:
        n.stop()


def test_client_commands_against_a_running_node(demo):
    env = {"CIIP_URL": demo.node.url(), "CIIP_TOKEN": demo.token("admin")}
    rc, out, err = run_ciip("org", "add", "--name", "Client Org", "--sector", "telecom",
                            "--kind", "isp", "--prefix", "192.0.2.64/26", env=env)
    assert rc == 0, err
    rc, out, err = run_ciip("org", "show", "Client Org", env=env)
    assert rc == 0 and json.loads(out)["prefixes"] == ["192.0.2.64/26"]
    rc, out, err = run_ciip("token", "add", "--org", "Client Org", "--role", "sensor",
                            "--name", "client-sensor", env=env)
    assert rc == 0 and json.loads(out)["token"].startswith("ciip_sensor_")
    rc, out, err = run_ciip("org", "add", "--name", "Bad", "--sector", "oil", "--kind", "isp",
                            "--prefix", "10.0.0.1/8", env=env)
    assert rc == 1 and "CIDR" in err
    env["CIIP_TOKEN"] = demo.token("viewer")
    rc, out, err = run_ciip("user", "list", env=env)
    assert rc == 1 and "403" in err


def test_sigkill_during_writes_leaves_a_consistent_database(demo):
    acknowledged = []
    stop = threading.Event()

    def writer(k):
        i = 0
        while not stop.is_set():
            name = "kill-%d-%d" % (k, i)
            try:
                r = demo.call("admin", "POST", "/api/v1/orgs",
                              {"name": name, "sector": "energy", "kind": "operator"})
                if r.status == 201:
                    acknowledged.append(name)
            except OSError:
                return
            i += 1

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    demo.node.proc.send_signal(signal.SIGKILL)
    demo.node.proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(acknowledged) > 10
    db = sqlite3.connect(os.path.join(demo.node.data, "ciip.db"))
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    demo.node.start()
    names = {o["name"] for o in demo.call("admin", "GET", "/api/v1/orgs").json()["orgs"]}
    missing = [n for n in acknowledged if n not in names]
    assert missing == []
    rc, out, err = run_ciip("--url", demo.node.url(), "--token", demo.token("admin"),
                            "audit", "verify")
    assert rc == 0, out + err


def test_totp_secrets_are_sealed_at_rest(tmp_path):
    """A copy of the database does not give away second factors: the secret
    is sealed with the key file beside it, and secrets an older version
    stored in clear are sealed when the node starts."""
    data = str(tmp_path / "sealed")
    rc, out, err = run_ciip("--data", data, "org", "add", "--name", "Power CERT",
                            "--sector", "power", "--kind", "sector")
    assert rc == 0, err
    rc, out, err = run_ciip("--data", data, "user", "add", "--org", "Power CERT", "--role",
                            "admin", "--name", "root", "--password-stdin",
                            input="a-good-long-admin-passphrase\n")
    assert rc == 0, err
    secret = json.loads(out)["second_factor"]["totp_secret"]
    key = os.path.join(data, "seal.key")
    assert os.stat(key).st_size == 32
    assert os.stat(key).st_mode & 0o777 == 0o600
    db_path = os.path.join(data, "ciip.db")
    db = sqlite3.connect(db_path)
    stored = db.execute("SELECT totp_secret FROM users WHERE username = 'root'").fetchone()[0]
    assert stored.startswith("s1:") and secret not in stored
    # As an older version left it: in clear.
    db.execute("UPDATE users SET totp_secret = ? WHERE username = 'root'", (secret,))
    db.commit()
    db.close()
    n = Node(tmp_path, args=["--data", data])
    try:
        assert "sealed 1 TOTP secrets" in n.log()
        db = sqlite3.connect(db_path)
        stored = db.execute("SELECT totp_secret FROM users WHERE username = 'root'").fetchone()[0]
        db.close()
        assert stored.startswith("s1:") and secret not in stored
        r = n.request("POST", "/api/v1/login", body={
            "username": "root", "password": "a-good-long-admin-passphrase", "totp": totp(secret)})
        assert r.status == 200, r.body
    finally:
        n.stop()
    # Without the key the node cannot check the second factor: it says so
    # and lets nobody in on the password alone.
    os.rename(key, key + ".moved")
    n = Node(tmp_path, args=["--data", data])
    try:
        r = n.request("POST", "/api/v1/login", body={
            "username": "root", "password": "a-good-long-admin-passphrase", "totp": totp(secret)})
        assert r.status == 500 and "reset" in r.json()["error"]["message"]
        assert "TOTP secret" in n.log()
    finally:
        n.stop()
