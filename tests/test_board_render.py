"""The board's HTML pieces on their own: escaping, relative times, filters."""

from __future__ import annotations

import dataclasses

import pytest

from exporter import config
from exporter.snapshot import Change, initial_state, take
from exporter.web import board
from exporter.web.urls import Urls
from probes.result import Status

URLS = Urls("http://exporter.test:10145/")

HOSTILE = """\
checklist: {name: "<b>Launch</b>"}
categories:
- id: web
  title: "Web & <i>API</i>"
  items:
  - id: W-1
    title: "<script>alert(1)</script>"
    priority: critical
    notes: "a \\"quoted\\" note"
    probe: {http: {url: "${APP_URL}/x", headers: {Authorization: "Bearer s3cret"}}}
"""


@pytest.mark.parametrize(
    "seconds, text",
    [
        (None, "never"),
        (0, "0s ago"),
        (59, "59s ago"),
        (60, "1m ago"),
        (3599, "59m ago"),
        (3600, "1h ago"),
        (86399, "23h ago"),
        (86400 * 3, "3d ago"),
    ],
)
def test_ago(seconds, text):
    now = 1_000_000.0
    assert board.ago(None if seconds is None else now - seconds, now) == text


@pytest.mark.parametrize(
    "query, expected",
    [
        ({}, "/r/"),
        ({"failing": "1"}, "/r/?failing=1"),
        ({"critical": "on", "category": "ops"}, "/r/?critical=1&category=ops"),
        ({"failing": "0", "category": ""}, "/r/"),
    ],
)
def test_filters_round_trip_through_the_query(query, expected):
    assert board.Filters.from_query(query).query("/r/") == expected


def test_everything_from_the_config_is_escaped_and_secrets_masked(write_config):
    checklist = config.load(write_config(HOSTILE), env={})
    item = checklist.items[0]
    state = dataclasses.replace(
        initial_state(item, 0.0),
        history=(Change(1.0, Status.PENDING, Status.FAIL, "<img src=x>"),),
    )
    snap = take(checklist, {item.id: state}, 1, True, 2.0)
    snap_html = board.item_page(snap, state, URLS, now=2.0)
    assert "<script>alert(1)</script>" not in snap_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in snap_html
    assert "&lt;img src=x&gt;" in snap_html and "<img" not in snap_html
    assert "Web &amp; &lt;i&gt;API&lt;/i&gt;" in snap_html
    assert "s3cret" not in snap_html and "Authorization: &lt;secret&gt;" in snap_html
    assert "url: ${APP_URL}/x" in snap_html  # as written, unexpanded
    assert "Not probed: not configured: APP_URL is not set" in snap_html
    assert 'id="probe-button"' not in snap_html

    page = board.board(snap, board.Filters(), URLS, now=2.0)
    assert "<b>Launch</b>" not in page and "&lt;b&gt;Launch&lt;/b&gt;" in page
    assert "<script>alert" not in page
    assert page.count('<tr class="item') == 1


COOKIE_PASSWORD = "c00kie-Pa55word"
COOKIE_API_KEY = "k3y-4e1b9c0d"


async def test_cookies_evidence_shows_everywhere_and_secrets_stay_masked(write_config):
    """Evidence is masked once, by value, in the engine: a ``cookies`` key is not a secret."""
    from aiohttp import web
    from support.servers import serve_app

    from exporter.engine import Engine
    from exporter.render import FORMATS
    from exporter.web.pages import item_detail

    async def login(request: web.Request) -> web.Response:
        response = web.Response(text="ok")
        response.headers.add("Set-Cookie", "session=abc123; Secure; HttpOnly; Path=/")
        response.headers.add("Set-Cookie", "csrftoken=x; Secure")
        return response

    app = web.Application()
    app.router.add_get("/login", login)
    async with serve_app(app) as base:
        host = base.removeprefix("http://")
        path = write_config(f"""
            categories:
            - id: web
              title: Web
              items:
              - id: W-1
                title: Session cookies are Secure and HttpOnly
                priority: high
                probe:
                  http:
                    url: "http://probe:${{PW}}@{host}/login?api_key=${{API_KEY}}"
                    cookie_flags: [Secure, HttpOnly]
        """)
        checklist = config.load(path, env={"PW": COOKIE_PASSWORD, "API_KEY": COOKIE_API_KEY})
        engine = Engine(checklist)
        try:
            snap = await engine.run_round()
        finally:
            await engine.stop()
    state = snap.states["W-1"]
    assert state.status is Status.PARTIAL, state.result.summary
    assert state.result.summary == "cookies csrftoken without HttpOnly"
    shown = {
        "item page": board.item_page(snap, state, URLS),
        "board": board.board(snap, board.Filters(), URLS),
        "markdown": FORMATS["markdown"](snap),
        "junit": FORMATS["junit"](snap),
        "API": str(item_detail(state)),
    }
    for where, text in shown.items():
        assert "csrftoken" in text and "HttpOnly" in text, where
        assert COOKIE_PASSWORD not in text and COOKIE_API_KEY not in text, where
    assert item_detail(state)["evidence"]["cookies"] == {
        "session": ["HttpOnly", "Secure"],
        "csrftoken": ["Secure"],
    }
    url = item_detail(state)["evidence"]["url"]
    assert url == f"http://probe:<secret>@{host}/login?api_key=<secret>"
