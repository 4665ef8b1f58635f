"""`ciip pattern`: checking STIX patterns and matching them against files of
observed-data, locally (no node). Exit status 0 valid/match, 1 invalid/no
match, 2 usage or file errors."""
import json

from conftest import run_ciip

BUNDLE = {
    "type": "bundle",
    "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
    "objects": [
        {
            "type": "observed-data", "spec_version": "2.1",
            "id": "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
            "created": "2016-06-01T00:00:00.000Z", "modified": "2016-06-01T00:00:00.000Z",
            "first_observed": "2016-06-01T00:00:00Z", "last_observed": "2016-06-01T00:00:00Z",
            "number_observed": 1,
            "object_refs": ["ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
                            "network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d"],
        },
        {"type": "ipv4-addr", "spec_version": "2.1",
         "id": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "value": "198.51.100.3"},
        {"type": "network-traffic", "spec_version": "2.1",
         "id": "network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d",
         "dst_ref": "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "dst_port": 443,
         "protocols": ["tcp", "tls"]},
        {
            "type": "observed-data", "spec_version": "2.1",
            "id": "observed-data--c0c5b0e4-ec0b-4b7d-8f8a-4a2d3e3b44e1",
            "created": "2016-06-01T00:05:00.000Z", "modified": "2016-06-01T00:05:00.000Z",
            "first_observed": "2016-06-01T00:05:00Z", "last_observed": "2016-06-01T00:05:00Z",
            "number_observed": 1,
            "objects": {"0": {"type": "domain-name", "value": "c2.example"}},
        },
    ],
}


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def test_check_prints_the_normalised_pattern():
    rc, out, err = run_ciip("pattern", "check",
                            "[ipv4-addr:value == '198.51.100.1' AND ipv4-addr:value <> '10.0.0.1']")
    assert rc == 0, err
    assert out == "[ipv4-addr:value = '198.51.100.1' AND ipv4-addr:value != '10.0.0.1']\n"


def test_check_points_at_the_error():
    rc, out, err = run_ciip("pattern", "check", "[ipv4-addr:value = ]")
    assert rc == 1 and out == ""
    assert "column 20" in err
    assert err.splitlines()[-1].index("^") == 2 + 19


def test_check_explain_says_what_is_indexed_and_what_is_evaluated():
    rc, out, _ = run_ciip("pattern", "check", "--explain",
                          "[domain-name:value = 'evil.example' OR domain-name:value LIKE '%.evil.example']")
    assert rc == 0
    assert "1 indexed (2 key(s)" in out and "0 evaluated" in out
    rc, out, _ = run_ciip("pattern", "check", "--explain", "[network-traffic:dst_port > 1024]")
    assert rc == 0 and "1 evaluated for every event" in out
    rc, out, _ = run_ciip("pattern", "check", "--explain",
                          "[file:name = 'a'] FOLLOWEDBY [file:name = 'b'] WITHIN 60 SECONDS")
    assert "keeps state across events" in out
    rc, out, _ = run_ciip("pattern", "check", "--explain", "[windows-registry-key:key = 'x']")
    assert rc == 0 and "never matches an event" in out
    rc, out, _ = run_ciip("pattern", "check", "--explain", r"[url:value MATCHES '(a)\\1']")
    assert rc == 0 and "not supported" in out and "Back-references" in out


def test_match_resolves_object_refs_and_reports_the_observations(tmp_path):
    path = write(tmp_path, "bundle.json", BUNDLE)
    rc, out, err = run_ciip("pattern", "match",
                            "[network-traffic:dst_ref.value = '198.51.100.3' AND "
                            "network-traffic:dst_port = 443]", path)
    assert rc == 0, err
    assert out == "match: observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf\n"
    rc, out, _ = run_ciip("pattern", "match",
                          "([ipv4-addr:value ISSUBSET '198.51.100.0/24'] FOLLOWEDBY "
                          "[domain-name:value = 'c2.example']) WITHIN 600 SECONDS", path)
    assert rc == 0
    assert out.split() == ["match:", "observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
                           "observed-data--c0c5b0e4-ec0b-4b7d-8f8a-4a2d3e3b44e1"]


def test_match_honours_order_and_windows(tmp_path):
    path = write(tmp_path, "bundle.json", BUNDLE)
    rc, out, _ = run_ciip("pattern", "match",
                          "[domain-name:value = 'c2.example'] FOLLOWEDBY [ipv4-addr:value = '198.51.100.3']",
                          path)
    assert rc == 1 and out == "no match (2 observation(s))\n"
    rc, out, _ = run_ciip("pattern", "match",
                          "([ipv4-addr:value = '198.51.100.3'] AND [domain-name:value = 'c2.example']) "
                          "WITHIN 60 SECONDS", path)
    assert rc == 1


def test_match_reads_json_lines_and_stdin(tmp_path):
    lines = "\n".join(json.dumps(o) for o in [
        {"type": "observed-data", "id": "observed-data--1", "first_observed": "2020-01-01T00:00:00Z",
         "last_observed": "2020-01-01T00:00:00Z", "number_observed": 3,
         "objects": {"0": {"type": "file", "name": "a.exe"}}},
    ]) + "\n"
    path = write(tmp_path, "obs.jsonl", lines)
    rc, out, _ = run_ciip("pattern", "match", "[file:name = 'a.exe'] REPEATS 3 TIMES", path)
    assert rc == 0 and out == "match: observed-data--1\n"
    rc, out, _ = run_ciip("pattern", "match", "[file:name = 'a.exe'] REPEATS 4 TIMES", path)
    assert rc == 1
    scos = json.dumps([{"type": "ipv4-addr", "value": "192.0.2.7"}])
    rc, out, _ = run_ciip("pattern", "match", "[ipv4-addr:value ISSUBSET '192.0.2.0/24']", "-",
                          input=scos)
    assert rc == 0 and out.startswith("match:")


def test_match_errors_exit_2(tmp_path):
    rc, _, err = run_ciip("pattern", "match", "[file:name = 'x']", str(tmp_path / "missing.json"))
    assert rc == 2 and "cannot open" in err
    bad = write(tmp_path, "bad.json", "{not json")
    rc, _, err = run_ciip("pattern", "match", "[file:name = 'x']", bad)
    assert rc == 2
    obs = write(tmp_path, "obs.json", [{"type": "observed-data", "id": "observed-data--9",
                                        "first_observed": "yesterday", "last_observed": "today",
                                        "objects": {}}])
    rc, _, err = run_ciip("pattern", "match", "[file:name = 'x']", obs)
    assert rc == 2 and "observed-data--9" in err
    rc, _, err = run_ciip("pattern", "match", "[file:name = ]", obs)
    assert rc == 2 and "column" in err
    good = write(tmp_path, "bundle.json", BUNDLE)
    rc, _, err = run_ciip("pattern", "match", r"[domain-name:value MATCHES '(a)\\1']", good)
    assert rc == 2 and "not supported" in err
    rc, _, err = run_ciip("pattern", "frobnicate")
    assert rc == 2 and "unknown subcommand" in err
    rc, out, _ = run_ciip("pattern", "--help")
    assert rc == 0 and "ciip pattern check" in out
