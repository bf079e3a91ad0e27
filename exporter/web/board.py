"""The status board's pages: the checklist at ``/`` and one item at ``/items/<ID>``, as HTML.

Pages are rendered on the server from a ``Snapshot`` alone (filters are query parameters, so they
work without JavaScript and survive the self-refresh); ``static/board.js`` only submits the filter
form on change and swaps in a fresh board every few seconds. Styles and script are served by the
exporter itself from ``exporter/web/static``: the board works on a network with no way out. Every
link is made by ``Urls``, so the board works behind a reverse proxy under a path.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import yaml

from probes.result import Status

from .. import __version__
from ..formatting import ago, milliseconds, percent, rfc3339
from ..redact import redact
from ..render.evidence import describe
from ..scoring import CRITICAL
from ..snapshot import Change, ItemState, Snapshot
from . import process_board
from . import urls as paths
from .urls import Urls

REFRESH_SECONDS = 15
FAILING = (Status.FAIL, Status.PARTIAL)
STATUS_ORDER = (Status.PASS, Status.PARTIAL, Status.FAIL, Status.PENDING, Status.NA)


def e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def iso(ts: float | None) -> str:
    return rfc3339(ts) or ""


def badge(status: Status) -> str:
    return f'<span class="status s-{status.value}">{e(status.label)}</span>'


@dataclass(frozen=True)
class Filters:
    """What the board's filter form asks for, read from the query string."""

    failing: bool = False
    critical: bool = False
    category: str = ""
    owner: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        return cls(
            failing=query.get("failing") in ("1", "on", "true"),
            critical=query.get("critical") in ("1", "on", "true"),
            category=query.get("category", ""),
            owner=query.get("owner", ""),
        )

    def keep(self, state: ItemState) -> bool:
        return (
            (not self.failing or state.status in FAILING)
            and (not self.critical or state.item.priority == CRITICAL)
            and (not self.category or state.item.category == self.category)
            and (not self.owner or state.item.owner == self.owner)
        )

    def query(self, board_url: str, **change: Any) -> str:
        """The board's URL with these filters, changed by ``change``."""
        values = {
            "failing": self.failing,
            "critical": self.critical,
            "category": self.category,
            "owner": self.owner,
        }
        values.update(change)
        params = {k: ("1" if v is True else v) for k, v in values.items() if v}
        return board_url + ("?" + urlencode(params) if params else "")


def page(urls: Urls, title: str, body: str, refresh: bool = False) -> str:
    attrs = f' data-refresh="{REFRESH_SECONDS}"' if refresh else ""
    static = urls.link(paths.STATIC)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{e(title)}</title>
<link rel="stylesheet" href="{e(static)}/board.css">
<script src="{e(static)}/board.js" defer></script>
</head>
<body{attrs}>
{body}
<footer><a href="{e(urls.link(paths.METRICS))}">Metrics</a> ·
<a href="{e(urls.link(paths.STATUS_API))}">Status JSON</a> ·
readiness-exporter {e(__version__)}</footer>
</body></html>
"""


def banner(snap: Snapshot, urls: Urls) -> str:
    sc = snap.scores
    blockers = ""
    if sc.blockers:
        links = " ".join(f'<a href="{e(urls.link(paths.ITEM, b))}">{e(b)}</a>' for b in sc.blockers)
        blockers = (
            f'<details class="blockers"><summary>{len(sc.blockers)} critical '
            f"item{'s' if len(sc.blockers) != 1 else ''} block</summary>"
            f"<p>{links}</p></details>"
        )
    return f"""<section class="banner d-{sc.decision.value}" aria-live="polite">
<h1><span class="decision" id="decision">{e(sc.decision.label)}</span>
<span class="name">{e(snap.checklist.name)}</span></h1>
<p class="reason">{e(sc.reason)}</p>
<p class="scores"><span>Total score <strong>{percent(sc.total.score)}</strong>
({sc.total.passed} of {sc.total.applicable} applicable items PASS)</span>
<span>Critical score <strong>{percent(sc.critical.score)}</strong>
({sc.critical.passed} of {sc.critical.applicable})</span></p>
{blockers}
</section>"""


def counts(tally_counts: Mapping[Status, int]) -> str:
    return " ".join(
        f'<span class="count s-{s.value}" title="{e(s.label)}">{e(s.label)} {n}</span>'
        for s in STATUS_ORDER
        for n in [tally_counts.get(s, 0)]
        if n
    )


def cards(snap: Snapshot, filters: Filters, urls: Urls) -> str:
    out = []
    for category in snap.checklist.categories:
        tally = snap.scores.categories.get(category.id)
        if tally is None:
            continue
        current = " current" if filters.category == category.id else ""
        out.append(
            f'<a class="card{current}" '
            f'href="{e(filters.query(urls.link(paths.BOARD), category=category.id))}">'
            f'<span class="card-title">{e(category.title)}</span>'
            f'<span class="card-score">{percent(tally.score)}</span>'
            f'<span class="card-counts">{counts(tally.counts)}</span></a>'
        )
    return f'<nav class="cards" aria-label="Categories">{"".join(out)}</nav>'


def filter_form(snap: Snapshot, filters: Filters, shown: int, urls: Urls) -> str:
    options = ['<option value="">All categories</option>'] + [
        f'<option value="{e(c.id)}"{" selected" if c.id == filters.category else ""}>'
        f"{e(c.title)}</option>"
        for c in snap.checklist.categories
        if c.id in snap.scores.categories
    ]
    owners = sorted({i.owner for i in snap.checklist.launch_items if i.owner})
    owner_options = ['<option value="">All owners</option>'] + [
        f'<option value="{e(o)}"{" selected" if o == filters.owner else ""}>{e(o)}</option>'
        for o in owners
    ]
    owner_select = (
        f'<label>Owner <select name="owner" id="owner">{"".join(owner_options)}</select></label>'
        if owners
        else ""
    )
    board_url = e(urls.link(paths.BOARD))
    return f"""<form class="filters" method="get" action="{board_url}" id="filters">
<label><input type="checkbox" name="failing" value="1"\
{" checked" if filters.failing else ""}> Failing only</label>
<label><input type="checkbox" name="critical" value="1"\
{" checked" if filters.critical else ""}> Critical only</label>
<label>Category <select name="category">{"".join(options)}</select></label>
{owner_select}
<button type="submit">Apply</button>
<a href="{board_url}" class="reset">Show all</a>
<span class="shown" id="shown">{shown} of {len(snap.checklist.launch_items)} items</span>
</form>"""


def evidence_html(evidence: Mapping[str, Any], short: bool = False) -> str:
    pairs = describe(evidence)
    if short:
        # The table shows who signed or what was seen; the item page shows everything.
        pairs = [p for p in pairs if p[0] not in ("file", "Date", "Expires")][:3]
    parts = []
    for label, value in pairs:
        if isinstance(value, list):
            inner = "".join(f"<li>{e(v)}</li>" for v in value)
            parts.append(f"<dt>{e(label)}</dt><dd><ul>{inner}</ul></dd>")
        else:
            parts.append(f"<dt>{e(label)}</dt><dd>{e(value)}</dd>")
    return f'<dl class="evidence">{"".join(parts)}</dl>' if parts else ""


def row(state: ItemState, now: float, urls: Urls) -> str:
    item = state.item
    href = e(urls.link(paths.ITEM, item.id))
    crit = " critical" if item.priority == CRITICAL else ""
    return (
        f'<tr class="item s-{state.status.value}{crit}" data-id="{e(item.id)}">'
        f'<td data-label="ID"><a href="{href}">{e(item.id)}</a></td>'
        f'<td data-label="Item">{e(item.title)}</td>'
        f'<td data-label="Priority" class="priority p-{e(item.priority)}">{e(item.priority)}</td>'
        f'<td data-label="Status">{badge(state.status)}'
        f"{process_board.item_marks(state, now)}</td>"
        f'<td data-label="Owner" class="owner">{e(item.owner)}</td>'
        f'<td data-label="Observed" class="summary">{e(state.result.summary)}</td>'
        f'<td data-label="Checked"><time datetime="{iso(state.checked_at)}">'
        f"{ago(state.checked_at, now)}</time></td>"
        f'<td data-label="Evidence">{evidence_html(state.result.evidence, short=True)}</td></tr>'
    )


def board(snap: Snapshot, filters: Filters, urls: Urls, now: float | None = None) -> str:
    """The whole board page."""
    now = time.time() if now is None else now
    # Post-launch tasks have their own section (process_board): not checklist items.
    states = [s for s in snap.states.values() if not s.item.post_launch and filters.keep(s)]
    rows = "\n".join(row(s, now, urls) for s in states) or (
        '<tr class="empty"><td colspan="8">No items match these filters.</td></tr>'
    )
    body = f"""<main id="board">
{banner(snap, urls)}
{process_board.launch_section(snap, now)}
{cards(snap, filters, urls)}
{filter_form(snap, filters, len(states), urls)}
<table class="items" id="items">
<thead><tr><th>ID</th><th>Item</th><th>Priority</th><th>Status</th><th>Owner</th><th>Observed</th><th>Checked</th><th>Evidence</th></tr></thead>
<tbody>
{rows}
</tbody></table>
{process_board.risks_section(snap, urls, now)}
{process_board.signoff_section(snap)}
{process_board.tasks_section(snap, urls)}
<p class="taken">As of <time datetime="{iso(snap.taken_at)}">{e(iso(snap.taken_at))}</time>; \
refreshes every {REFRESH_SECONDS}s.</p>
</main>"""
    return page(urls, f"{snap.scores.decision.label} — {snap.checklist.name}", body, refresh=True)


def history_html(changes: Iterable[Change], now: float) -> str:
    rows = [
        f'<tr><td><time datetime="{iso(c.at)}">{e(iso(c.at))}</time> ({ago(c.at, now)})</td>'
        f"<td>{badge(c.before)} → {badge(c.after)}</td><td>{e(c.summary)}</td></tr>"
        for c in reversed(list(changes))
    ]
    if not rows:
        return '<p class="muted">No status changes since the exporter started.</p>'
    return (
        '<table class="history"><thead><tr><th>When</th><th>Change</th><th>Observed</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def probe_config(state: ItemState) -> str:
    """The item's probe as written in the config (``${VAR}`` unexpanded), credentials masked."""
    item = state.item
    shown: dict[str, Any] = {"interval": f"{item.interval:g}s", "timeout": f"{item.timeout:g}s"}
    if not item.applicable:
        shown["applicable"] = False
    if item.raw_probe:
        shown["probe"] = redact(dict(item.raw_probe))
    return yaml.safe_dump(shown, sort_keys=False, allow_unicode=True, default_flow_style=False)


def item_page(
    snap: Snapshot,
    state: ItemState,
    urls: Urls,
    debug: Sequence[str] | None = None,
    now: float | None = None,
) -> str:
    """One item: last result, evidence, history, probe configuration and the probe-now button."""
    now = time.time() if now is None else now
    item, result = state.item, state.result
    facts = [
        ("Category", snap.category_title(item.category)),
        ("Priority", item.priority),
        ("Checked", f"{iso(state.checked_at) or 'never'} ({ago(state.checked_at, now)})"),
        ("Took", milliseconds(state.duration)),
        ("Runs", f"{state.runs} ({state.errors} could not judge)"),
        ("Valid until", iso(result.expires_at)),
        ("Notes", item.notes),
        ("Missing variables", ", ".join(item.missing)),
    ]
    fact_html = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in facts if v)
    debug_html = ""
    if debug is not None:
        debug_html = (
            f'<section class="probe-now" id="probe-now"><h2>Probe now: '
            f"{badge(result.status)}</h2>"
            f'<pre class="debug">{e(chr(10).join(debug))}</pre></section>'
        )
    button = (
        f'<form method="post" action="{e(urls.link(paths.PROBE_NOW, item.id))}" '
        'class="probe-form">'
        '<button type="submit" id="probe-button">Probe now</button></form>'
    )
    if not item.probed:
        button = f'<p class="muted">Not probed: {e(result.summary)}</p>'
    body = f"""<main id="item">
<p><a href="{e(urls.link(paths.BOARD))}">← Board</a></p>
<h1><span class="item-id">{e(item.id)}</span> {e(item.title)}</h1>
<p class="result">{badge(result.status)} \
<span class="summary" id="summary">{e(result.summary)}</span></p>
{button}
{debug_html}
<dl class="facts">{fact_html}</dl>
{process_board.item_records(state, now)}
<h2>Evidence</h2>
{evidence_html(result.evidence) or '<p class="muted">No evidence recorded.</p>'}
<h2>Status changes</h2>
{history_html(state.history, now)}
<h2>Probe configuration</h2>
<pre class="config">{e(probe_config(state))}</pre>
</main>"""
    return page(urls, f"{item.id} {result.status.label} — {item.title}", body)
