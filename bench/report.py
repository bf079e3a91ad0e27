"""Benchmark table: rows of figure, goal, ours, blackbox_exporter, ratio; printed and written."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


@dataclass(frozen=True)
class Row:
    figure: str
    goal: str
    ours: str
    blackbox: str = "—"
    ratio: str = "—"
    met: bool | None = None  # None: a figure without a goal
    note: str = ""  # runs, spread, sample counts


def table(rows: list[Row]) -> str:
    lines = [
        "| Figure | Goal | readiness-exporter | Peer, same run (blackbox_exporter unless named) "
        "| Ratio | Met | Runs, noise |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        met = "—" if r.met is None else ("yes" if r.met else "**no**")
        lines.append(
            f"| {r.figure} | {r.goal} | {r.ours} | {r.blackbox} | {r.ratio} | {met} | {r.note} |"
        )
    return "\n".join(lines)


def section(
    rows: list[Row], machine: dict[str, str], command: str, started: str, load: tuple[str, str]
) -> str:
    facts = "\n".join(f"- {k}: {v}" for k, v in machine.items())
    return (
        f"{BEGIN}\nRun of {started} with `{command}`.\n\n{table(rows)}\n\n"
        f"Machine:\n{facts}\n"
        f"- load average (1, 5, 15 min) at start: {load[0]}; at end: {load[1]}\n{END}"
    )


def write_into(doc: Path, text: str) -> None:
    """Put ``text`` between the bench markers of ``doc`` (appended when there are none)."""
    old = doc.read_text() if doc.exists() else ""
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    new = pattern.sub(lambda _: text, old) if pattern.search(old) else old + "\n" + text + "\n"
    doc.write_text(new)
