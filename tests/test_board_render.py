"""The board's HTML pieces on their own: escaping, relative times, filters, blockers, order."""

from __future__ import annotations

import dataclasses

import pytest

from exporter import config
from exporter.render.blockers import blockers, sentence
from exporter.snapshot import Change, initial_state, take
from exporter.web import board
from exporter.web.urls import Urls
from probes.result import Result, Status

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


# What blocks a GO, and the table's order: a checklist with every kind of blocker, judged by hand.
BLOCKING = """\
checklist: {name: Blocking}
categories:
- id: sec
  title: Security
  items:
  - {id: S-2, title: Partly, priority: critical, probe: {attestation: {file: att/S-2.yaml}}}
  - {id: S-10, title: "Broken <b>bold</b>", priority: critical,
     probe: {http: {url: "http://127.0.0.1:9/"}}}
  - {id: S-1, title: Needs A and B, priority: critical, probe: {http: {url: "${A}${B}"}}}
  - {id: S-3, title: Signed off, priority: critical, probe: {attestation: {file: att/S-3.yaml}}}
  - {id: S-4, title: High and failing, priority: high, probe: {http: {url: "http://127.0.0.1:9/"}}}
- id: ops
  title: Operations
  items:
  - {id: O-1, title: Needs A, priority: critical, probe: {http: {url: "${A}/x"}}}
  - {id: O-2, title: Also needs A, priority: critical, probe: {tcp: {target: "${A}:1"}}}
  - {id: O-3, title: Just loaded, priority: critical, probe: {attestation: {file: att/O-3.yaml}}}
  - {id: O-4, title: Fine, priority: critical, probe: {attestation: {file: att/O-4.yaml}}}
  - {id: O-5, title: Low, priority: low, probe: {attestation: {file: att/O-5.yaml}}}
  - {id: O-6, title: Never, priority: medium, applicable: false}
"""

JUDGED = {
    "S-2": (Status.PARTIAL, "half of it"),
    "S-10": (Status.FAIL, "status 503, expected 2xx <img src=x>"),
    "S-3": (Status.PENDING, "not attested yet: S-3.yaml does not exist"),
    "S-4": (Status.FAIL, "connection refused"),
    "O-4": (Status.PASS, "attested"),
    "O-5": (Status.PENDING, "not attested yet: O-5.yaml does not exist"),
}


@pytest.fixture
def blocking(write_config):
    """The snapshot of BLOCKING: O-3 not probed yet, the others as JUDGED or unconfigured."""
    checklist = config.load(write_config(BLOCKING), env={})
    states = {}
    for item in checklist.items:
        state = initial_state(item, 0.0)
        if item.id in JUDGED:
            status, summary = JUDGED[item.id]
            state = dataclasses.replace(state, result=Result(status, summary), checked_at=1.0)
        states[item.id] = state
    return take(checklist, states, 1, True, 2.0)


def ids_of(states):
    return [s.item.id for s in states]


def test_blockers_are_split_by_what_ends_the_wait(blocking):
    found = blockers(blocking)
    assert ids_of(found.failing) == ["S-10", "S-2"]  # FAIL before PARTIAL
    # Largest group first; a group is one set of variables, so the counts add up.
    assert [(names, ids_of(items)) for names, items in found.unconfigured] == [
        (("A",), ["O-1", "O-2"]),
        (("A", "B"), ["S-1"]),
    ]
    assert ids_of(found.unsigned) == ["S-3"]  # O-5 waits too, but it is not critical
    assert [(why, ids_of(items)) for why, items in found.others] == [("not probed yet", ["O-3"])]
    # What check prints is unchanged: every PENDING blocker, by what it waits for.
    assert [(why, ids_of(items)) for why, items in found.waiting] == [
        ("needs A, B", ["S-1"]),
        ("not attested yet", ["S-3"]),
        ("needs A", ["O-1", "O-2"]),
        ("not probed yet", ["O-3"]),
    ]
    assert sentence(found) == (
        "1 critical item fails; 1 passes only in part; 3 are not configured yet; "
        "1 waits for a signature; 1 is pending (not probed yet)."
    )
    counted = len(found.failing) + sum(len(i) for _, i in found.unconfigured)
    counted += len(found.unsigned) + sum(len(i) for _, i in found.others)
    assert counted == len(blocking.scores.blockers) == 7


@pytest.mark.parametrize(
    "statuses, text",
    [
        ([Status.FAIL] * 6, "6 critical items fail."),
        ([Status.PARTIAL], "1 critical item passes only in part."),
        ([Status.PENDING] * 2, "2 critical items wait for a signature."),
        ([Status.PASS], ""),
    ],
)
def test_the_sentence_counts_each_kind_once(write_config, statuses, text):
    items = "".join(
        f"  - {{id: X-{n}, title: X, priority: critical, "
        f"probe: {{attestation: {{file: att/X-{n}.yaml}}}}}}\n"
        for n in range(len(statuses))
    )
    checklist = config.load(
        write_config(f"categories:\n- id: x\n  title: X\n  items:\n{items}"), env={}
    )
    states = {
        item.id: dataclasses.replace(
            initial_state(item, 0.0), result=Result(status, "seen"), checked_at=1.0
        )
        for item, status in zip(checklist.items, statuses, strict=True)
    }
    assert sentence(blockers(take(checklist, states, 1, True, 2.0))) == text


def test_the_board_puts_the_blockers_first_and_apart(blocking):
    page = board.board(blocking, board.Filters(), URLS, now=3.0)
    reason = page[page.index('id="reason">') :]
    assert reason.startswith('id="reason">1 critical item fails; 1 passes only in part; 3 are')
    order = [page.index(f'id="{part}"') for part in ("decision", "reason", "blockers")]
    order += [page.index(f'id="blockers-{g}"') for g in ("failing", "unconfigured", "unsigned")]
    order += [page.index('id="blockers-others"'), page.index('<nav class="cards"')]
    order += [page.index('id="items"')]
    assert order == sorted(order)
    failing = page[page.index('id="blockers-failing"') : page.index('id="blockers-unconfigured"')]
    assert 'Failing <span class="bcount">2</span>' in failing
    assert '>S-2</a> <span class="btitle">Partly</span>' in failing
    assert "Broken &lt;b&gt;bold&lt;/b&gt;" in failing and "<b>bold" not in page
    assert "status 503, expected 2xx &lt;img src=x&gt;" in failing and "<img" not in page
    assert 'href="/items/S-10"' in failing
    assert failing.index(">S-10</a>") < failing.index(">S-2</a>")
    assert "S-4" not in failing  # high priority: it does not block
    waiting = page[page.index('id="blockers-unconfigured"') : page.index('<nav class="cards"')]
    assert 'Not configured yet <span class="bcount">3</span>' in waiting
    assert "Set <code>A</code> to configure 2 items: " in waiting
    assert "Set <code>A</code> and <code>B</code> to configure 1 item: " in waiting
    assert 'Waiting for a signature <span class="bcount">1</span>' in waiting
    assert (
        "readiness-exporter attest ITEM --status pass --by &quot;Your Name&quot; "
        "--evidence &quot;what you checked&quot;"
    ) in waiting
    assert '<li data-id="S-3"><a href="/items/S-3" title="Signed off">S-3</a> Signed off' in waiting
    assert "not probed yet (1): " in waiting and 'href="/items/O-3"' in waiting


def test_nothing_blocking_keeps_the_reason_of_the_scores(blocking):
    states = {
        i: dataclasses.replace(s, result=Result(Status.PASS, "ok"))
        for i, s in blocking.states.items()
        if s.item.priority == "critical"
    }
    snap = take(blocking.checklist, {**blocking.states, **states}, 2, True, 2.0)
    page = board.board(snap, board.Filters(), URLS, now=3.0)
    assert 'id="blockers"' not in page
    assert f'id="reason">{snap.scores.reason}</p>' in page


@pytest.mark.parametrize(
    "query, expected",
    [
        ({}, board.Sort("priority", False)),
        ({"sort": "status"}, board.Sort("status", False)),
        ({"sort": "-status"}, board.Sort("status", True)),
        ({"sort": "-id"}, board.Sort("id", True)),
        ({"sort": "category"}, board.Sort("category", False)),
        ({"sort": "title"}, board.Sort()),
        ({"sort": "--status"}, board.Sort()),
    ],
)
def test_sort_is_read_from_the_query(query, expected):
    assert board.Sort.from_query(query) == expected


@pytest.mark.parametrize(
    "sort, expected",
    [
        # Default: priority, then FAIL, PARTIAL, PENDING, PASS, N/A; ties in config order.
        ("", ["S-10", "S-2", "S-1", "S-3", "O-1", "O-2", "O-3", "O-4", "S-4", "O-6", "O-5"]),
        ("status", ["S-10", "S-4", "S-2", "S-1", "S-3", "O-1", "O-2", "O-3", "O-5", "O-4", "O-6"]),
        ("-status", ["O-6", "O-4", "S-1", "S-3", "O-1", "O-2", "O-3", "O-5", "S-2", "S-10", "S-4"]),
        (
            "-priority",
            ["O-5", "O-6", "S-4", "S-10", "S-2", "S-1", "S-3", "O-1", "O-2", "O-3", "O-4"],
        ),
        ("id", ["O-1", "O-2", "O-3", "O-4", "O-5", "O-6", "S-1", "S-2", "S-3", "S-4", "S-10"]),
        ("-id", ["S-10", "S-4", "S-3", "S-2", "S-1", "O-6", "O-5", "O-4", "O-3", "O-2", "O-1"]),
        (
            "category",
            ["S-2", "S-10", "S-1", "S-3", "S-4", "O-1", "O-2", "O-3", "O-4", "O-5", "O-6"],
        ),
        (
            "-category",
            ["O-1", "O-2", "O-3", "O-4", "O-5", "O-6", "S-2", "S-10", "S-1", "S-3", "S-4"],
        ),
    ],
)
def test_sort_orders_the_rows(blocking, sort, expected):
    order = board.Sort.from_query({"sort": sort})
    assert ids_of(order.apply(list(blocking.states.values()), blocking)) == expected
    page = board.board(blocking, board.Filters(), URLS, now=3.0, sort=order)
    table = page[page.index('id="items"') :]
    assert [p.split('"', 1)[0] for p in table.split('data-id="')[1:]] == expected


def test_sort_links_keep_the_filters_and_the_filters_keep_the_order(blocking):
    filters = board.Filters(critical=True)
    page = board.board(blocking, filters, URLS, now=3.0, sort=board.Sort("status"))
    head = page[page.index("<thead>") : page.index("</thead>")]
    # The current column's link reverses it; the others sort by themselves, filters kept.
    status = head[head.index('<th aria-sort="ascending">') :]
    assert status.startswith(
        '<th aria-sort="ascending"><a class="sort" data-sort="status" '
        'href="/?critical=1&amp;sort=-status#items" aria-current="true">Status ▲</a>'
    )
    assert 'href="/?critical=1&amp;sort=id#items"' in head
    assert 'href="/?critical=1#items"' in head  # priority: the default order needs no sort=
    assert head.count('class="sort"') == 3
    nav = page[page.index('<nav class="sorts"') :]
    nav = nav[: nav.index("</nav>")]
    assert nav.count('class="sort"') == 4 and "sort=category#items" in nav
    assert '<input type="hidden" name="sort" value="status">' in page
    assert 'href="/?critical=1&amp;category=ops&amp;sort=status"' in page  # a category card
    assert '<a href="/?sort=status" class="reset">Show all</a>' in page
    default = board.board(blocking, filters, URLS, now=3.0)
    assert 'name="sort"' not in default and "sort=" not in default.split('class="sorts"')[0]
