"""``check --format junit``: the checklist as JUnit XML, so any CI system shows it as tests.

One test suite per category, one test case per item. FAIL and PARTIAL are failures carrying
the probe's summary (observed beside expected); PENDING and N/A are skipped; a probe that could
not judge (timeout, exception) is an error. Evidence goes to the case's system-out.

Names, summaries and evidence hold text from targets and the config: each goes through
``untrusted.one_line`` as in the table, so a CI page that shows the report gets no terminal
escapes, no bidirectional controls and no line break that starts a line of its own. In
system-out each field starts a line (``summary: ...``) and a value's own lines follow it,
cleaned one by one and indented, so an output tail stays readable and cannot pass for a field.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from probes.result import Status

from ..formatting import ratio_text
from ..snapshot import ItemState, Snapshot
from .blockers import decision_reason
from .evidence import describe
from .untrusted import one_line

# Characters XML 1.0 cannot carry even escaped: a summary holding one (a server's banner, a
# tool's output) would make the whole report unparseable, so they become U+FFFD.
NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return NOT_XML.sub("\ufffd", text)


def _text(text: object) -> str:
    """Text from a target or the config, as one clean line XML can carry."""
    return _xml(one_line(text))


def _field(label: str, value: object) -> list[str]:
    """``label: value`` for system-out: the value's first line beside its label, the others
    indented under it."""
    first, *rest = str(value).splitlines() or [""]
    return [_text(f"{label}: {first}"), *(f"  {_text(line)}" for line in rest if line.strip())]


def _case(s: ItemState, suite: str) -> ET.Element:
    case = ET.Element(
        "testcase",
        classname=_text(suite),
        name=_text(f"{s.item.id} {s.item.title}"),
        time=f"{s.duration or 0:.3f}",
    )
    text = _text(f"{s.status.label}: {s.result.summary}")
    if s.status in (Status.FAIL, Status.PARTIAL):
        tag = "error" if s.result.error else "failure"
        ET.SubElement(case, tag, message=text, type=s.status.label).text = text
    elif s.status in (Status.PENDING, Status.NA):
        ET.SubElement(case, "skipped", message=text)
    lines = [*_field("priority", s.item.priority), *_field("summary", s.result.summary)]
    for label, value in describe(s.result.evidence):
        lines += _field(label, "; ".join(value) if isinstance(value, list) else value)
    ET.SubElement(case, "system-out").text = "\n".join(lines)
    return case


def render(snap: Snapshot) -> str:
    sc = snap.scores
    root = ET.Element("testsuites", name=_text(snap.checklist.name))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for category in snap.checklist.categories:
        states = snap.by_category(category.id)
        suite = ET.SubElement(root, "testsuite", name=_text(category.title))
        counts = {
            "tests": len(states),
            "failures": sum(
                s.status in (Status.FAIL, Status.PARTIAL) and not s.result.error for s in states
            ),
            "errors": sum(
                s.status in (Status.FAIL, Status.PARTIAL) and s.result.error for s in states
            ),
            "skipped": sum(s.status in (Status.PENDING, Status.NA) for s in states),
        }
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{sum(s.duration or 0 for s in states):.3f}")
        for s in states:
            suite.append(_case(s, category.title))
    for key, total in totals.items():
        root.set(key, str(total))
    props = ET.Element("properties")
    for name, text in (
        ("decision", sc.decision.label),
        ("reason", _text(decision_reason(snap))),
        ("total_score", ratio_text(sc.total.score)),
        ("critical_score", ratio_text(sc.critical.score)),
    ):
        ET.SubElement(props, "property", name=name, value=text)
    if len(root):
        root[0].insert(0, props)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
