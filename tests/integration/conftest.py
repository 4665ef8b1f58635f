"""Integration-test harness: starts the real build/ciipd on a free loopback
port with a temporary data directory, waits for /healthz, and talks to it
over real sockets. One node per test unless a test asks for a shared one."""
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CIIPD = os.environ.get("CIIPD", os.path.join(ROOT, "build", "ciipd"))
CIIP = os.environ.get("CIIP", os.path.join(ROOT, "build", "ciip"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


class Node:
    """A running ciipd. Use .request() for HTTP and .stop() to end it."""

    def __init__(self, tmp_path, config=None, args=(), tls=None, env=None):
        self.data = str(tmp_path / "data")
        self.port = free_port()
        self.log_path = str(tmp_path / "ciipd.log")
        self.tls = tls
        self.config_path = None
        cfg = config or ""
        if tls:
            cfg += "http:\n  tls:\n    cert: %s\n    key: %s\n" % tls
        if cfg:
            self.config_path = str(tmp_path / "ciip.yaml")
            with open(self.config_path, "w") as f:
                f.write(cfg)
        self.args = [CIIPD, "--data", self.data, "--listen", "127.0.0.1:%d" % self.port]
        if self.config_path:
            self.args += ["--config", self.config_path]
        self.args += list(args)
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.start()

    def start(self, wait=True):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=self.logf, stderr=subprocess.STDOUT,
                                     env=self.env, cwd=ROOT)
        if wait:
            self.wait_healthy()

    def wait_healthy(self, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("ciipd exited with %d:\n%s" % (self.proc.returncode, self.log()))
            try:
                r = self.request("GET", "/healthz")
                if r.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("ciipd did not become healthy:\n" + self.log())

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def conn(self, timeout=30):
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.tls[0])
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=30):
        c = self.conn(timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
                headers = dict(headers or {})
                headers.setdefault("Content-Type", "application/json")
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            c.close()

    def get_json(self, path, headers=None):
        r = self.request("GET", path, headers=headers)
        return r.status, (r.json() if r.body else None)

    def send(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=None, timeout=20):
        sig = sig or signal.SIGTERM
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logf.close()
        return self.proc.returncode if self.proc else None

    def restart(self):
        self.stop()
        self.start()

    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)


@pytest.fixture
def node(tmp_path):
    n = Node(tmp_path)
    yield n
    n.stop()


@pytest.fixture
def make_node(tmp_path):
    nodes = []

    def make(**kw):
        sub = tmp_path / ("n%d" % len(nodes))
        sub.mkdir()
        n = Node(sub, **kw)
        nodes.append(n)
        return n

    yield make
    for n in nodes:
        n.stop()


def run_ciip(*args, input=None, env=None, timeout=60):
    """Runs the ciip client and returns (exit status, stdout, stderr)."""
    p = subprocess.run([CIIP] + list(args), input=input, capture_output=True, text=True,
                       timeout=timeout, env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout, p.stderr


def run_ciipd(*args, timeout=30):
    p = subprocess.run([CIIPD] + list(args), capture_output=True, text=True, timeout=timeout,
                       cwd=ROOT)
    return p.returncode, p.stdout, p.stderr


def totp(secret_b32, at=None, step_offset=0):
    """RFC 6238 code (SHA-1, 6 digits, 30 s) for a base32 secret."""
    import base64
    import hashlib
    import hmac
    import struct
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((at if at is not None else time.time()) // 30) + step_offset
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000
    return "%06d" % code


class Demo:
    """A node started with --demo, and its demo-credentials.json."""

    def __init__(self, node):
        self.node = node
        with open(os.path.join(node.data, "demo-credentials.json")) as f:
            self.creds = json.load(f)
        self.by_name = {}
        for a in self.creds["accounts"]:
            self.by_name[a.get("username") or a.get("token_name")] = a

    def account(self, name):
        return self.by_name[name]

    def token(self, name):
        return self.by_name[name]["token"]

    def bearer(self, name):
        return {"Authorization": "Bearer " + self.token(name)}

    def login(self, name, code=None):
        """Logs in with password and TOTP; returns (response, session headers)."""
        a = self.account(name)
        body = {"username": a["username"], "password": a["password"],
                "totp": code or totp(a["totp_secret"])}
        r = self.node.request("POST", "/api/v1/login", body=body)
        headers = {}
        if r.status == 200:
            cookie = r.header("Set-Cookie").split(";")[0]
            headers = {"Cookie": cookie, "X-CSRF-Token": r.json()["csrf_token"]}
        return r, headers

    def call(self, name, method, path, body=None):
        """Calls the API as a demo account, with its token."""
        return self.node.request(method, path, body=body, headers=self.bearer(name))


@pytest.fixture
def demo(tmp_path):
    n = Node(tmp_path, args=["--demo"])
    d = Demo(n)
    yield d
    n.stop()


@pytest.fixture(scope="module")
def shared_demo(tmp_path_factory):
    """One demo node for a whole module, for tests that only read."""
    n = Node(tmp_path_factory.mktemp("shared"), args=["--demo"])
    d = Demo(n)
    yield d
    n.stop()
