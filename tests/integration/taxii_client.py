"""A TAXII 2.1 client written from the specification alone (OASIS TAXII
Version 2.1, sections 1.6, 3, 4 and 5), using only the Python standard
library. It knows nothing of ciip: it discovers the API root, lists
collections, adds objects (an envelope, answered with a status resource),
pages through objects with `next`, reads one object, its versions and the
manifest, and deletes."""
import base64
import http.client
import json
import urllib.parse

MEDIA = "application/taxii+json;version=2.1"


class TaxiiError(Exception):
    def __init__(self, status, body, headers):
        self.status = status
        self.headers = headers
        try:
            self.error = json.loads(body)
        except ValueError:
            self.error = None
        self.body = body
        super().__init__("HTTP %d: %s" % (status, body[:300]))


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    def json(self):
        return json.loads(self.body) if self.body else None


class Client:
    def __init__(self, url, user=None, password=None, token=None, scheme="Bearer"):
        """url: the server, e.g. http://127.0.0.1:8443. Credentials: HTTP
        Basic (user, password) or a token sent as `Authorization: <scheme>`."""
        self.url = url.rstrip("/")
        u = urllib.parse.urlsplit(self.url)
        self.host, self.port = u.hostname, u.port
        if user is not None:
            raw = ("%s:%s" % (user, password)).encode()
            self.auth = "Basic " + base64.b64encode(raw).decode()
        elif token is not None:
            self.auth = "%s %s" % (scheme, token)
        else:
            self.auth = None

    def request(self, method, path, body=None, accept=MEDIA, content_type=MEDIA, params=None):
        if params:
            path += "?" + urllib.parse.urlencode(params, doseq=True)
        headers = {}
        if accept is not None:
            headers["Accept"] = accept
        if self.auth:
            headers["Authorization"] = self.auth
        if body is not None:
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
            if content_type is not None:
                headers["Content-Type"] = content_type
        c = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            c.close()

    def _ok(self, r, *statuses):
        if r.status not in statuses:
            raise TaxiiError(r.status, r.body.decode("utf-8", "replace"), r.headers)
        return r

    def path_of(self, url):
        """The path of an absolute or relative URL the server gave."""
        return urllib.parse.urlsplit(urllib.parse.urljoin(self.url + "/", url)).path

    # 4.1 Server Discovery
    def discover(self):
        return self._ok(self.request("GET", "/taxii2/"), 200).json()

    # 4.2 API Root Information
    def api_root(self, root):
        return self._ok(self.request("GET", self.path_of(root)), 200).json()

    # 4.3 Status
    def status(self, root, status_id):
        return self._ok(self.request("GET", self.path_of(root) + "status/%s/" % status_id),
                        200).json()

    # 5.1, 5.2 Collections
    def collections(self, root):
        return self._ok(self.request("GET", self.path_of(root) + "collections/"),
                        200).json().get("collections", [])

    def collection(self, root, cid):
        return self._ok(self.request("GET", self.path_of(root) + "collections/%s/" % cid),
                        200).json()

    def _cpath(self, root, cid, rest):
        return self.path_of(root) + "collections/%s/%s" % (cid, rest)

    # 5.3 Manifest
    def manifest(self, root, cid, **params):
        r = self._ok(self.request("GET", self._cpath(root, cid, "manifest/"),
                                  params=filters(params)), 200)
        return r.json(), r.headers

    # 5.4 Get Objects
    def objects(self, root, cid, **params):
        r = self._ok(self.request("GET", self._cpath(root, cid, "objects/"),
                                  params=filters(params)), 200)
        return r.json(), r.headers

    def all_objects(self, root, cid, **params):
        """Pages through every object with `next` (section 3.4)."""
        out = []
        while True:
            env, _ = self.objects(root, cid, **params)
            out.extend(env.get("objects", []))
            if not env.get("more"):
                return out
            params["next"] = env["next"]

    # 5.5 Add Objects
    def add(self, root, cid, objects):
        env = {"objects": objects}
        return self._ok(self.request("POST", self._cpath(root, cid, "objects/"), body=env),
                        202).json()

    # 5.6 Get an Object
    def get(self, root, cid, obj_id, **params):
        r = self._ok(self.request("GET", self._cpath(root, cid, "objects/%s/" % obj_id),
                                  params=filters(params)), 200)
        return r.json()

    # 5.7 Delete an Object
    def delete(self, root, cid, obj_id, **params):
        self._ok(self.request("DELETE", self._cpath(root, cid, "objects/%s/" % obj_id),
                              params=filters(params)), 200)

    # 5.8 Get Object Versions
    def versions(self, root, cid, obj_id, **params):
        r = self._ok(self.request("GET", self._cpath(root, cid, "objects/%s/versions/" % obj_id),
                                  params=filters(params)), 200)
        return r.json()


def filters(params):
    """Keyword arguments to query parameters: match_type -> match[type]."""
    out = {}
    for k, v in params.items():
        if k.startswith("match_"):
            k = "match[%s]" % k[len("match_"):]
        out[k] = v
    return out
