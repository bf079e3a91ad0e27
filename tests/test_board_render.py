"""The board's HTML pieces on their own: escaping, relative times, filters."""

from __future__ import annotations

import pytest

from exporter import config
from exporter.engine import Change
from exporter.snapshot import initial_state, take
from exporter.web import board
from probes.result import Status

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
        ({}, "/"),
        ({"failing": "1"}, "?failing=1"),
        ({"critical": "on", "category": "ops"}, "?critical=1&category=ops"),
        ({"failing": "0", "category": ""}, "/"),
    ],
)
def test_filters_round_trip_through_the_query(query, expected):
    assert board.Filters.from_query(query).query() == expected


def test_everything_from_the_config_is_escaped_and_secrets_masked(write_config):
    checklist = config.load(write_config(HOSTILE), env={})
    item = checklist.items[0]
    state = initial_state(item, 0.0)
    snap_html = board.item_page(
        state,
        [Change(1.0, Status.PENDING, Status.FAIL, "<img src=x>")],
        now=2.0,
        category="Web & <i>API</i>",
    )
    assert "<script>alert(1)</script>" not in snap_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in snap_html
    assert "&lt;img src=x&gt;" in snap_html and "<img" not in snap_html
    assert "Web &amp; &lt;i&gt;API&lt;/i&gt;" in snap_html
    assert "s3cret" not in snap_html and "Authorization: &lt;secret&gt;" in snap_html
    assert "url: ${APP_URL}/x" in snap_html  # as written, unexpanded
    assert "Not probed: not configured: APP_URL is not set" in snap_html
    assert 'id="probe-button"' not in snap_html

    page = board.board(take(checklist, {item.id: state}, 1, True, 2.0), board.Filters(), now=2.0)
    assert "<b>Launch</b>" not in page and "&lt;b&gt;Launch&lt;/b&gt;" in page
    assert "<script>alert" not in page
    assert page.count('<tr class="item') == 1
