"""The status board's pages: the checklist at ``/`` and one item at ``/items/<ID>``, as HTML.

Pages are rendered on the server from a ``Snapshot`` alone (filters and the table's order are
query parameters, so they work without JavaScript and survive the self-refresh);
``static/board.js`` only submits the filter form on change and swaps in a fresh board every few
seconds. What blocks a GO comes first, split as ``render/blockers.py`` splits it for ``check``.
Styles and script are served by the exporter itself from ``exporter/web/static``: the board works
on a network with no way out. Every link is made by ``Urls``, so the board works behind a reverse
proxy under a path.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import yaml

from probes.result import Status

from .. import __version__
from ..config import PRIORITIES
from ..formatting import ago, milliseconds, percent, rfc3339
from ..redact import redact
from ..render.blockers import Blockers, blockers, decision_reason
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


# The default order: most urgent first, FAIL before PARTIAL before PENDING before PASS.
STATUS_RANK = {Status.FAIL: 0, Status.PARTIAL: 1, Status.PENDING: 2, Status.PASS: 3, Status.NA: 4}
PRIORITY_RANK = {p: n for n, p in enumerate(PRIORITIES)}
SORT_LABELS = {
    "priority": "Priority",
    "status": "Status",
    "id": "ID",
    "category": "Category (checklist order)",
}


def _natural(text: str) -> tuple[tuple[int, int, str], ...]:
    """``S-2`` before ``S-10``: digits compare as numbers."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part.lower())
        for part in re.split(r"(\d+)", text)
        if part
    )


@dataclass(frozen=True)
class Sort:
    """The item table's order, read from ``sort=`` (``status``, ``-status`` for the reverse).

    Each key has a second one for ties: priority then status (the default), status then
    priority; ID and category keep the checklist's order among equals.
    """

    key: str = "priority"
    descending: bool = False

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Sort:
        raw = query.get("sort", "")
        key = raw.removeprefix("-")
        return cls(key, raw.startswith("-")) if key in SORT_LABELS else cls()

    @property
    def param(self) -> str:
        """The ``sort=`` value; empty for the default order."""
        return "" if self == Sort() else ("-" if self.descending else "") + self.key

    def keep_in(self, url: str) -> str:
        """``url`` (a board link with or without a query) in this order."""
        if not self.param:
            return url
        return url + ("&" if "?" in url else "?") + urlencode({"sort": self.param})

    def clicked(self, key: str) -> Sort:
        """The order a click on ``key`` asks for: that key, or the reverse if it is this one."""
        return Sort(key, not self.descending) if key == self.key else Sort(key)

    def apply(self, states: Sequence[ItemState], snap: Snapshot) -> list[ItemState]:
        categories = {c.id: n for n, c in enumerate(snap.checklist.categories)}

        def priority(s: ItemState) -> int:
            return PRIORITY_RANK.get(s.item.priority, len(PRIORITY_RANK))

        def status(s: ItemState) -> int:
            return STATUS_RANK[s.status]

        primary: Callable[[ItemState], Any] = {
            "priority": priority,
            "status": status,
            "id": lambda s: _natural(s.item.id),
            "category": lambda s: categories.get(s.item.category, len(categories)),
        }[self.key]
        secondary = {"priority": status, "status": priority}.get(self.key)
        ordered = sorted(states, key=secondary) if secondary else list(states)
        # A stable sort, reversed or not, keeps the ties in the order the first sort left.
        return sorted(ordered, key=primary, reverse=self.descending)


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


def banner(snap: Snapshot, urls: Urls, found: Blockers) -> str:
    sc = snap.scores
    return f"""<section class="banner d-{sc.decision.value}" aria-live="polite">
<h1><span class="decision" id="decision">{e(sc.decision.label)}</span>
<span class="name">{e(snap.checklist.name)}</span></h1>
<p class="reason" id="reason">{e(decision_reason(snap, found))}</p>
<p class="scores"><span>Total score <strong>{percent(sc.total.score)}</strong>
({sc.total.passed} of {sc.total.applicable} applicable items PASS)</span>
<span>Critical score <strong>{percent(sc.critical.score)}</strong>
({sc.critical.passed} of {sc.critical.applicable})</span></p>
</section>"""


# What blocks a GO, before everything else: each kind of wait in its own group, counted.
ATTEST = (
    'readiness-exporter attest ITEM --status pass --by "Your Name" --evidence "what you checked"'
)
SIGN = 'readiness-exporter sign ROLE --by "Your Name"'
DECIDE = 'readiness-exporter decide go --by "Your Name" --launch DATETIME'


def item_link(state: ItemState, urls: Urls) -> str:
    """The item's ID, linking to its page, with its title as the tooltip."""
    return (
        f'<a href="{e(urls.link(paths.ITEM, state.item.id))}" title="{e(state.item.title)}">'
        f"{e(state.item.id)}</a>"
    )


def and_list(words: Sequence[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)


def blocker_group(kind: str, heading: str, count: int, body: str) -> str:
    return (
        f'<div class="bgroup bg-{kind}" id="blockers-{kind}">'
        f'<h3>{heading} <span class="bcount">{count}</span></h3>{body}</div>'
    )


def blockers_section(found: Blockers, urls: Urls) -> str:
    """Failing critical items (title, status, what was observed), then those waiting for
    variables (grouped by the variables), for a signature (with the command) or for a probe."""
    if not found:
        return ""
    groups = []
    if found.failing:
        rows = "".join(
            f'<li data-id="{e(s.item.id)}">{item_link(s, urls)} '
            f'<span class="btitle">{e(s.item.title)}</span> {badge(s.status)} '
            f'<span class="summary">{e(s.result.summary)}</span></li>'
            for s in found.failing
        )
        groups.append(
            blocker_group(
                "failing", "Failing", len(found.failing), f'<ul class="blist">{rows}</ul>'
            )
        )
    if found.unconfigured:
        rows = "".join(
            f"<li>Set {and_list([f'<code>{e(n)}</code>' for n in names])} to configure "
            f"{len(items)} item{'s' if len(items) != 1 else ''}: "
            f'<span class="ids">{", ".join(item_link(s, urls) for s in items)}</span></li>'
            for names, items in found.unconfigured
        )
        count = sum(len(items) for _, items in found.unconfigured)
        groups.append(
            blocker_group(
                "unconfigured", "Not configured yet", count, f'<ul class="blist cols">{rows}</ul>'
            )
        )
    if found.unsigned:
        rows = "".join(
            f'<li data-id="{e(s.item.id)}">{item_link(s, urls)} {e(s.item.title)}</li>'
            for s in found.unsigned
        )
        how = (
            f'<p>Sign each with <code class="cmd">{e(ATTEST)}</code> where the config is '
            "(add <code>--config.file PATH</code> if it is not <code>./config.yaml</code>); "
            "the board shows it within seconds.</p>"
        )
        if any(s.item.from_sheet for s in found.unsigned):  # sign-offs and the decision
            how += (
                f'<p>The Sign-Off Sheet\'s items: <code class="cmd">{e(SIGN)}</code> for a '
                f'role, <code class="cmd">{e(DECIDE)}</code> for the Go/No-Go decision.</p>'
            )
        groups.append(
            blocker_group(
                "unsigned",
                "Waiting for a signature",
                len(found.unsigned),
                f'{how}<ul class="blist cols">{rows}</ul>',
            )
        )
    if found.others:
        rows = "".join(
            f"<li>{e(reason)} ({len(items)}): "
            f'<span class="ids">{", ".join(item_link(s, urls) for s in items)}</span></li>'
            for reason, items in found.others
        )
        count = sum(len(items) for _, items in found.others)
        groups.append(
            blocker_group("others", "Pending", count, f'<ul class="blist cols">{rows}</ul>')
        )
    return (
        '<section class="blockers" id="blockers" aria-labelledby="blockers-title">'
        '<h2 id="blockers-title">What blocks a GO</h2>'
        f"{''.join(groups)}</section>"
    )


def counts(tally_counts: Mapping[Status, int]) -> str:
    return " ".join(
        f'<span class="count s-{s.value}" title="{e(s.label)}">{e(s.label)} {n}</span>'
        for s in STATUS_ORDER
        for n in [tally_counts.get(s, 0)]
        if n
    )


def cards(snap: Snapshot, filters: Filters, urls: Urls, sort: Sort = Sort()) -> str:
    out = []
    for category in snap.checklist.categories:
        tally = snap.scores.categories.get(category.id)
        if tally is None:
            continue
        current = " current" if filters.category == category.id else ""
        href = sort.keep_in(filters.query(urls.link(paths.BOARD), category=category.id))
        out.append(
            f'<a class="card{current}" href="{e(href)}">'
            f'<span class="card-title">{e(category.title)}</span>'
            f'<span class="card-score">{percent(tally.score)}</span>'
            f'<span class="card-counts">{counts(tally.counts)}</span></a>'
        )
    return f'<nav class="cards" aria-label="Categories">{"".join(out)}</nav>'


def filter_form(
    snap: Snapshot, filters: Filters, shown: int, urls: Urls, sort: Sort = Sort()
) -> str:
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
{sort_input(sort)}<button type="submit">Apply</button>
<a href="{e(sort.keep_in(urls.link(paths.BOARD)))}" class="reset">Show all</a>
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


# The table's order: links with sort= that the server applies, like the filters.
def sort_input(sort: Sort) -> str:
    """Keeps the order when the filter form is submitted."""
    if not sort.param:
        return ""
    return f'<input type="hidden" name="sort" value="{e(sort.param)}">'


def sort_link(sort: Sort, key: str, label: str, filters: Filters, urls: Urls) -> str:
    """A link to the board in ``key``'s order (its reverse when already so), filters kept."""
    target = sort.clicked(key)
    href = target.keep_in(filters.query(urls.link(paths.BOARD))) + "#items"
    arrow = ""
    if key == sort.key:
        arrow = " ▼" if sort.descending else " ▲"
    current = ' aria-current="true"' if key == sort.key else ""
    return f'<a class="sort" data-sort="{e(key)}" href="{e(href)}"{current}>{e(label)}{arrow}</a>'


def sort_nav(sort: Sort, filters: Filters, urls: Urls) -> str:
    links = " ".join(sort_link(sort, k, label, filters, urls) for k, label in SORT_LABELS.items())
    return f'<nav class="sorts" aria-label="Order of the items">Sort by {links}</nav>'


def table_head(sort: Sort, filters: Filters, urls: Urls) -> str:
    """The column headings; ID, Priority and Status sort the table."""
    cells = []
    for label, key in [
        ("ID", "id"),
        ("Item", ""),
        ("Priority", "priority"),
        ("Status", "status"),
        ("Owner", ""),
        ("Observed", ""),
        ("Checked", ""),
        ("Evidence", ""),
    ]:
        if not key:
            cells.append(f"<th>{label}</th>")
            continue
        order = ""
        if key == sort.key:
            order = f' aria-sort="{"descending" if sort.descending else "ascending"}"'
        cells.append(f"<th{order}>{sort_link(sort, key, label, filters, urls)}</th>")
    return f"<thead><tr>{''.join(cells)}</tr></thead>"


def board(
    snap: Snapshot, filters: Filters, urls: Urls, now: float | None = None, sort: Sort = Sort()
) -> str:
    """The whole board page."""
    now = time.time() if now is None else now
    # Post-launch tasks have their own section (process_board): not checklist items.
    states = sort.apply(
        [s for s in snap.states.values() if not s.item.post_launch and filters.keep(s)], snap
    )
    found = blockers(snap)
    rows = "\n".join(row(s, now, urls) for s in states) or (
        '<tr class="empty"><td colspan="8">No items match these filters.</td></tr>'
    )
    body = f"""<main id="board">
{banner(snap, urls, found)}
{process_board.launch_section(snap, now)}
{blockers_section(found, urls)}
{cards(snap, filters, urls, sort)}
{filter_form(snap, filters, len(states), urls, sort)}
{sort_nav(sort, filters, urls)}
<table class="items" id="items">
{table_head(sort, filters, urls)}
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
