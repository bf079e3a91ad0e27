"""The status board, item pages, probe-now and the JSON API, served by a running exporter."""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import sys
import textwrap
import urllib.request
from pathlib import Path

import pytest
from support.cli import Ran, run_cli
from support.nginx import nginx
from support.procs import (
    ROOT,
    Process,
    free_port,
    http_get,
    http_ok,
    live_group_members,
    start_exporter,
    wait_until,
)

CONFIG = """\
checklist: {name: Board launch}
categories:
- id: sec
  title: Security Validation
  items:
  - {id: S-1, title: Secrets rotated, priority: critical,
     probe: {attestation: {file: att/S-1.yaml}}}
  - {id: S-2, title: WAF rules, priority: high, probe: {attestation: {file: att/S-2.yaml}}}
  - {id: S-3, title: Pen test, priority: critical, probe: {attestation: {file: att/S-3.yaml}}}
  - id: S-4
    title: Admin API closed
    priority: high
    probe:
      http:
        url: http://user:pa55word@127.0.0.1:9/admin
        headers: {Authorization: Bearer hunter2, Accept: text/html}
- id: ops
  title: Operational Readiness
  items:
  - {id: O-1, title: Runbook written, priority: medium, probe: {file: {path: runbook.md}}}
  - {id: O-2, title: On-call signed off, priority: high, probe: {attestation: {file: att/O-2.yaml}}}
  - {id: O-3, title: Mainframe, priority: low, applicable: false}
"""


def attest_cli(config: Path, *args: str) -> Ran:
    return run_cli("attest", "--config.file", str(config), *args)


@pytest.fixture(scope="module")
def exporter(tmp_path_factory):
    root = tmp_path_factory.mktemp("board")
    config = root / "config.yaml"
    config.write_text(CONFIG)
    assert (
        attest_cli(
            config,
            "S-1",
            "--status",
            "pass",
            "--by",
            "Jane Doe",
            "--evidence",
            "Vault rotation log",
        ).returncode
        == 0
    )
    assert (
        attest_cli(
            config, "S-2", "--status", "partial", "--by", "Ann", "--evidence", "half"
        ).returncode
        == 0
    )
    proc, base = start_exporter(config, root / "exporter.log")
    wait_until(lambda: http_get(f"{base}/-/ready")[0] == 200, 30, "all items probed")
    yield base, config
    proc.stop()


def page(url: str) -> str:
    status, body = http_get(url)
    assert status == 200, body
    return body.decode()


def rows(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('<tr class="item s-')[1:]]


def ids(html: str) -> list[str]:
    """The item table's rows, in order."""
    table = html[html.index('id="items"') :]
    return [part.split('"', 1)[0] for part in table.split('data-id="')[1:]]


def test_board_shows_decision_scores_categories_and_every_item(exporter):
    base, _ = exporter
    html = page(f"{base}/")
    assert '<span class="decision" id="decision">NO-GO</span>' in html
    assert '<p class="reason" id="reason">1 critical item waits for a signature.</p>' in html
    assert "readiness-exporter attest ITEM --status pass" in html  # what to run, on the board
    assert '<li data-id="S-3"><a href="/items/S-3" title="Pen test">S-3</a> Pen test' in html
    assert "Total score <strong>16.7%</strong>" in html  # 1 of 6 applicable
    # By priority, and within it FAIL, PARTIAL, PENDING, PASS.
    assert ids(html) == ["S-3", "S-1", "S-4", "S-2", "O-2", "O-1", "O-3"]
    assert [r.split()[0] for r in rows(html)] == [
        "pending",
        "pass",
        "fail",
        "partial",
        "pending",
        "fail",
        "na",
    ]
    assert html.count('<a class="card') == 2
    assert "Vault rotation log" in html  # evidence in the table
    assert "/static/board.css" in html and "http://" not in html.split("<body")[0]  # no CDN


@pytest.mark.parametrize(
    "query, expected",
    [
        ("?failing=1", ["S-4", "S-2", "O-1"]),
        ("?critical=1", ["S-3", "S-1"]),
        ("?category=ops", ["O-2", "O-1", "O-3"]),
        ("?critical=1&failing=1&category=sec", []),
        # The order is a query parameter too, applied by the server with the filters.
        ("?sort=category", ["S-1", "S-2", "S-3", "S-4", "O-1", "O-2", "O-3"]),
        ("?sort=status", ["S-4", "O-1", "S-2", "S-3", "O-2", "S-1", "O-3"]),
        ("?failing=1&sort=-id", ["S-4", "S-2", "O-1"]),
        ("?sort=nonsense", ["S-3", "S-1", "S-4", "S-2", "O-2", "O-1", "O-3"]),
    ],
)
def test_filters_pick_the_rows(exporter, query, expected):
    base, _ = exporter
    html = page(f"{base}/{query}")
    assert ids(html) == expected
    assert f"{len(expected)} of 7 items" in html


def test_static_assets_and_compression(exporter):
    base, _ = exporter
    for asset in ("board.css", "board.js"):
        assert http_get(f"{base}/static/{asset}")[0] == 200
    req = urllib.request.Request(f"{base}/", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
        assert resp.headers["Cache-Control"] == "no-store"
        assert b"NO-GO" in gzip.decompress(resp.read())


def test_item_page_masks_credentials_in_config_and_evidence(exporter):
    base, _ = exporter
    html = page(f"{base}/items/S-4")
    assert "Admin API closed" in html
    assert "hunter2" not in html and "pa55word" not in html
    assert "Authorization: &lt;secret&gt;" in html and "Accept: text/html" in html
    assert "http://user:&lt;secret&gt;@127.0.0.1:9/admin" in html
    doc = json.loads(page(f"{base}/api/v1/items/S-4"))
    text = json.dumps(doc)
    assert "hunter2" not in text and "pa55word" not in text
    assert doc["probe"]["http"]["headers"] == {"Authorization": "<secret>", "Accept": "text/html"}
    assert doc["status"] == "fail" and doc["runs"] >= 1


def test_probe_now_runs_the_item_and_shows_its_debug_lines(exporter):
    base, config = exporter
    assert '<span class="status s-pending">PENDING</span>' in page(f"{base}/items/S-3")
    (config.parent / "att").mkdir(exist_ok=True)  # attest records in the store, not here
    (config.parent / "att" / "S-3.yaml").write_text(
        textwrap.dedent("""\
        item: S-3
        status: pass
        validated_by: Pen Tester
        date: 2026-01-05
        evidence: [report https://pentest.example/r/7]
        """)
    )
    req = urllib.request.Request(f"{base}/items/S-3/probe", data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        html = resp.read().decode()
    section = html[html.index('id="probe-now"') :]
    assert 'Probe now: <span class="status s-pass">PASS</span>' in html
    assert (
        "reading " in section
        and "result PASS: PASS attested, signed by Pen Tester on 2026-01-05" in section
    )
    assert "Pen Tester" in html  # the evidence
    doc = json.loads(page(f"{base}/api/v1/items/S-3"))
    assert doc["status"] == "pass"
    assert [(h["before"], h["after"]) for h in doc["history"]] == [("pending", "pass")]


def test_probe_now_from_another_site_is_refused(exporter):
    base, _ = exporter
    req = urllib.request.Request(
        f"{base}/items/S-1/probe",
        data=b"",
        method="POST",
        headers={"Origin": "https://evil.example"},
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 403


def test_unknown_items_are_404(exporter):
    base, _ = exporter
    assert http_get(f"{base}/items/NOPE")[0] == 404
    assert http_get(f"{base}/api/v1/items/NOPE")[0] == 404
    req = urllib.request.Request(f"{base}/items/NOPE/probe", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=5)
    assert err.value.code == 404


def test_status_api_is_the_check_json_document(exporter):
    base, config = exporter
    served = json.loads(page(f"{base}/api/v1/status"))
    checked = run_cli(
        "check", "--config.file", str(config), "--format", "json", "--item", "S-1", "--item", "O-3"
    )
    printed = json.loads(checked.stdout)
    assert set(served) == set(printed)
    assert set(served["items"][0]) == set(printed["items"][0])
    by_id = {i["id"]: i for i in served["items"]}
    for item in printed["items"]:
        assert by_id[item["id"]]["status"] == item["status"]
        assert by_id[item["id"]]["summary"] == item["summary"]


def test_attest_shows_on_a_running_exporter_without_reload(exporter):
    base, config = exporter
    assert json.loads(page(f"{base}/api/v1/items/O-2"))["status"] == "pending"
    result = attest_cli(
        config,
        "O-2",
        "--status",
        "pass",
        "--by",
        "Ops Lead",
        "--evidence",
        "rota https://oncall/x",
        "--expires",
        "30d",
    )
    assert result.returncode == 0, result.stderr
    # The exporter looks for writes to its store every 2 s; the item's own interval is 60 s.
    wait_until(
        lambda: json.loads(page(f"{base}/api/v1/items/O-2"))["status"] == "pass",
        20,
        "O-2 PASS on the running exporter",
    )
    doc = json.loads(page(f"{base}/api/v1/items/O-2"))
    assert doc["evidence"]["validated_by"] == "Ops Lead"
    assert doc["expires_at"] is not None


PROXIED = """\
checklist: {name: Behind a proxy}
categories:
- id: sec
  title: Security Validation
  items:
  - {id: P-1, title: A file, priority: critical, probe: {file: {path: config.yaml}}}
  - {id: P-2, title: Signed, priority: high, probe: {attestation: {file: att/P-2.yaml}}}
"""


def proxy_servers(target: str) -> str:
    """nginx's server block: ``/readiness/`` proxied to ``target``, nothing else (404)."""
    return f"""
server {{
    listen 127.0.0.1:@PROXY@;
    location / {{ return 404; }}
    location /readiness/ {{ proxy_pass {target}; }}
}}
"""


LINK = re.compile(r'(href|src|action)="([^"]+)"')


@pytest.mark.parametrize("strips", [False, True], ids=["path-passed-on", "path-stripped"])
def test_board_links_assets_api_and_metrics_work_behind_a_path_proxy(tmp_path, strips):
    """nginx serves the exporter under /readiness/, passing the path on (route prefix from the
    external URL) or stripping it (--web.route-prefix /). Every link, asset, form, the API and
    /metrics work through the proxy, and redirects keep the prefix."""
    config = tmp_path / "config.yaml"
    config.write_text(PROXIED)
    exporter_port = free_port()
    target = f"http://127.0.0.1:{exporter_port}{'/' if strips else ''}"
    with contextlib.ExitStack() as started:
        # Each process is stopped whatever happens after it started, the other's start included.
        proxy_nginx = started.enter_context(
            nginx(tmp_path / "nginx", proxy_servers(target), ["PROXY"])
        )
        proxy = proxy_nginx.url("PROXY", path="")
        extra = ["--web.external-url", f"{proxy}/readiness/"]
        if strips:
            extra += ["--web.route-prefix", "/"]
        proc = Process(
            [
                sys.executable,
                "-m",
                "exporter",
                "--config.file",
                str(config),
                "--web.listen-address",
                f"127.0.0.1:{exporter_port}",
                *extra,
            ],
            tmp_path / "exporter.log",
            cwd=ROOT,
        )
        started.callback(proc.stop)
        check_through_proxy(proxy, f"http://127.0.0.1:{exporter_port}", strips)
    # Stopped means gone: no nginx process (nor exporter) outlives the test.
    for stopped in (proxy_nginx.process, proc):
        assert not live_group_members(stopped.proc.pid), stopped.argv


def check_through_proxy(proxy: str, direct: str, strips: bool) -> None:
    """Every link, asset and form of the board, the API and /metrics, through ``proxy``."""
    wait_until(lambda: http_ok(f"{proxy}/readiness/-/healthy"), 20, "healthy through nginx")
    seen: set[tuple[str, str]] = set()
    pages = [f"{proxy}/readiness/"]
    while pages:
        url = pages.pop()
        html = page(url)
        for kind, link in LINK.findall(html):
            assert link.startswith("/readiness/"), (url, link)  # nothing escapes the prefix
            method = "POST" if kind == "action" and "/probe" in link else "GET"
            if (method, link) in seen:
                continue
            seen.add((method, link))
            request = urllib.request.Request(
                proxy + link.replace("&amp;", "&"),
                method=method,
                data=b"" if method == "POST" else None,
                headers={"Origin": proxy} if method == "POST" else {},
            )
            with urllib.request.urlopen(request, timeout=30) as resp:
                assert resp.status == 200, (method, link)
                if method == "GET" and "/items/" in link:
                    pages.append(proxy + link)
    assert ("GET", "/readiness/static/board.css") in seen
    assert ("GET", "/readiness/metrics") in seen and ("GET", "/readiness/items/P-2") in seen
    assert ("POST", "/readiness/items/P-1/probe") in seen
    assert b"readiness_item_status" in http_get(f"{proxy}/readiness/metrics")[1]
    assert json.loads(http_get(f"{proxy}/readiness/api/v1/items/P-1")[1])["id"] == "P-1"
    # Outside the prefix, the exporter sends browsers into it.
    location = redirect_location(direct + "/")
    assert location == ("/readiness/" if not strips else None)
    if not strips:
        assert redirect_location(direct + "/readiness") == "/readiness/"


def redirect_location(url: str) -> str | None:
    """Where a GET of ``url`` is redirected to (None when it is answered directly)."""

    class NoFollow(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    try:
        with urllib.request.build_opener(NoFollow).open(url, timeout=10):
            return None
    except urllib.error.HTTPError as exc:
        return exc.headers["Location"] if exc.code in (301, 302, 303, 307, 308) else None
