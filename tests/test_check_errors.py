"""``check`` tells "cannot judge" from a verdict, in JSON and in the table, without serving.

The trial's user had to read the summaries' wording (or serve the config and scrape
``readiness_probe_errors_total``) to know which FAILs were no verdict at all. Three items beside
each other: a real FAIL (the server answered 503), a FAIL that is no verdict (a firewall port
tried from this machine), and a PASS; the JSON carries ``error`` and the evidence (credentials
masked), and the table marks the one that could not judge.
"""

from __future__ import annotations

import asyncio
import json
import sys

from aiohttp import web
from support.procs import ROOT
from support.servers import closed_port, serve_app

PASSWORD = "basic-auth-password-9"  # the credential that must not show

CONFIG = """\
categories:
  - id: c
    title: C
    items:
      - id: W-1
        title: Answers 503
        priority: high
        probe: {http: {url: "http://probe:${WEB_PASSWORD}@%(host)s/down"}}
      - id: W-2
        title: Database port closed
        priority: critical
        probe: {tcp: {target: "%(closed)s", expect: closed}}
      - id: W-3
        title: Healthy
        priority: low
        probe: {http: {url: "http://%(host)s/up"}}
"""


def app() -> web.Application:
    async def down(request: web.Request) -> web.Response:
        return web.Response(status=503, text="maintenance")

    async def up(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    site = web.Application()
    site.router.add_get("/down", down)
    site.router.add_get("/up", up)
    return site


async def check(path: str, fmt: str) -> str:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "exporter",
        "check",
        "--config.file",
        path,
        "--format",
        fmt,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "WEB_PASSWORD": PASSWORD},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode == 1, err.decode()[-2000:]  # NO-GO
    return out.decode()


async def test_check_marks_what_it_could_not_judge(write_config):
    target = closed_port()
    async with serve_app(app()) as base:
        host = base.removeprefix("http://").rstrip("/")
        path = str(write_config(CONFIG % {"host": host, "closed": target}))
        doc = json.loads(await check(path, "json"))
        table = await check(path, "table")
    items = {i["id"]: i for i in doc["items"]}
    verdict, unjudged, passing = items["W-1"], items["W-2"], items["W-3"]
    assert (verdict["status"], verdict["error"]) == ("fail", False)
    assert (unjudged["status"], unjudged["error"]) == ("fail", True)
    assert (passing["status"], passing["error"]) == ("pass", False)
    # The evidence the item page shows, masked by the engine.
    assert verdict["evidence"]["status"] == 503
    assert verdict["evidence"]["url"] == f"http://probe:<secret>@{host}/down"
    assert unjudged["evidence"] == {
        "target": target,
        "reason": "127.0.0.1 is this machine; a firewall is judged from outside the network",
    }
    assert PASSWORD not in json.dumps(doc) and PASSWORD not in table
    rows = {line.split()[0]: line for line in table.splitlines() if line.startswith("  W-")}
    assert "  FAIL (cannot judge)  critical  Database port closed" in rows["W-2"]
    assert "  FAIL                 high      Answers 503" in rows["W-1"]
    assert "  PASS                 low       Healthy" in rows["W-3"]
