"""The one rule for time: a target silent past the budget means the probe could not judge.

Every kind in the registry is run against a target that never answers (a TCP port that accepts
and stays silent, a UDP port that drops every query, a folder whose file-system calls never
return, a command that never exits). Each must end by its own budget, not by the engine's last
resort, with the same FAIL counted as a probe error; the only exception is the question that
silence answers (a port that must be closed).
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.probing import run
from support.servers import silent_tcp
from support.stalls import stalled_folder  # noqa: F401 - a fixture used below

from probes.context import NoAnswer, ProbeContext, Resources, margin, run_probe
from probes.registry import KINDS
from probes.result import Status, passed

TIMEOUT = "1s"
NO_ANSWER = "no answer within the 1s timeout; cannot judge"


@dataclass(frozen=True)
class Silent:
    """Targets that never answer."""

    tcp: str  # host:port that accepts and never sends a byte
    udp: str  # host:port that reads nothing and answers nothing
    folder: Path  # every stat/open/scandir/statvfs below it blocks, like a hung mount


@asynccontextmanager
async def silent_udp() -> AsyncIterator[str]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
async def silent(stalled_folder: Path) -> AsyncIterator[Silent]:  # noqa: F811
    async with silent_tcp() as tcp, silent_udp() as udp:
        yield Silent(tcp, udp, stalled_folder)


# For each kind: its probe against a silent target, and the target its summary names.
Case = Callable[[Silent], tuple[dict[str, Any], str]]
NEVER_EXITS = [sys.executable, "-c", "import time; time.sleep(60)"]
CASES: dict[str, Case] = {
    "http": lambda s: ({"http": {"url": f"http://{s.tcp}/"}}, f"GET http://{s.tcp}/"),
    "tcp": lambda s: ({"tcp": {"target": s.tcp, "banner": "^SSH-"}}, f"{s.tcp} banner"),
    "tls": lambda s: ({"tls": {"target": s.tcp}}, s.tcp),
    "dns": lambda s: ({"dns": {"name": "app.test", "resolver": s.udp}}, f"app.test A via {s.udp}"),
    "promql": lambda s: (
        {"promql": {"url": f"http://{s.tcp}", "query": "up"}},
        f"Prometheus at http://{s.tcp}",
    ),
    "sql": lambda s: (
        {"sql": {"dsn": f"postgresql://probe@{s.tcp}/app", "query": "SELECT 1", "expect": "== 1"}},
        "SELECT 1",
    ),
    "command": lambda s: (
        {"command": {"argv": NEVER_EXITS}},
        f"command {Path(sys.executable).name}",
    ),
    "file": lambda s: ({"file": {"path": str(s.folder / "x.md")}}, str(s.folder / "x.md")),
    "report": lambda s: (
        {"report": {"path": str(s.folder / "junit.xml"), "format": "junit"}},
        str(s.folder / "junit.xml"),
    ),
    "attestation": lambda s: (
        {"attestation": {"file": str(s.folder / "T.yaml")}},
        str(s.folder / "T.yaml"),
    ),
    "disk": lambda s: ({"disk": {"path": str(s.folder)}}, str(s.folder)),
    "table": lambda s: (
        {"table": {"path": str(s.folder / "plan.md"), "column": "RTO", "at_most": {"T1": "1h"}}},
        str(s.folder / "plan.md"),
    ),
    "drill": lambda s: ({"drill": {"glob": str(s.folder / "*.md")}}, str(s.folder / "*.md")),
    "secrets": lambda s: ({"secrets": {"path": str(s.folder)}}, str(s.folder)),
    "alerting": lambda s: (
        {"alerting": {"prometheus": f"http://{s.tcp}"}},
        f"Prometheus at http://{s.tcp}/api/v1/alertmanagers",
    ),
    "all": lambda s: (
        {"all": [CASES["http"](s)[0], CASES["file"](s)[0]]},
        f"http: GET http://{s.tcp}/: {NO_ANSWER}; file: {s.folder / 'x.md'}: {NO_ANSWER}",
    ),
    "any": lambda s: (
        {"any": [CASES["tcp"](s)[0], CASES["disk"](s)[0]]},
        f"tcp: {s.tcp} banner: {NO_ANSWER}; disk: {s.folder}: {NO_ANSWER}",
    ),
}
# What a kind adds to the rule's words: what it did to the target that kept silent.
AFTERWARDS = {"command": " (killed with its process group)"}
# Kinds with nothing outside the exporter to wait on, and why.
NOTHING_TO_WAIT_ON = {
    "env": "reads the exporter's own environment",
    "signoff": "reads the Sign-Off Sheet the engine holds in memory",
    "decision": "reads the Sign-Off Sheet the engine holds in memory",
}


def test_every_kind_has_a_silent_target_case():
    assert set(CASES) | set(NOTHING_TO_WAIT_ON) == set(KINDS)
    assert not set(CASES) & set(NOTHING_TO_WAIT_ON)


@pytest.mark.parametrize("kind", sorted(CASES))
async def test_silence_is_a_probe_error_for_every_kind(kind, silent, tmp_path):
    probe, target = CASES[kind](silent)
    result = await run(probe, tmp_path, timeout=TIMEOUT)
    assert (result.status, result.error) == (Status.FAIL, True), result
    if kind in ("all", "any"):
        assert result.summary.endswith(target), result.summary
    else:
        # The probe's budget ended it, not the engine's last resort ("timed out after").
        # The whole summary: the target it waited on, the rule's words, and nothing else but
        # what the kind did about it.
        said = f"{target}: {NO_ANSWER}{AFTERWARDS.get(kind, '')}"
        assert result.summary == said, result.summary
        assert result.evidence["no_answer_from"] == target


async def test_silence_is_the_answer_when_a_port_must_be_closed(tmp_path):
    """A filtered port drops the connection attempt; a full accept queue does the same here."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    # Fill the accept queue: the kernel then drops further SYNs, as a firewall's DROP does.
    fillers = []
    try:
        for _ in range(8):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        closed = await run(
            # loopback stands in for a filtered port on another host (local_ok, for labs)
            {"tcp": {"target": f"127.0.0.1:{port}", "expect": "closed", "local_ok": True}},
            tmp_path,
            timeout=TIMEOUT,
        )
        opened = await run({"tcp": {"target": f"127.0.0.1:{port}"}}, tmp_path, timeout=TIMEOUT)
    finally:
        for s in fillers:
            s.close()
        listener.close()
    assert (closed.status, closed.error) == (Status.PASS, False), closed
    assert closed.summary == f"127.0.0.1:{port} closed (no answer), expected closed"
    assert (opened.status, opened.error, opened.summary) == (
        Status.FAIL,
        True,
        f"127.0.0.1:{port}: {NO_ANSWER}",
    )


# -- the context's clock -------------------------------------------------------------------


def test_the_engine_keeps_a_fixed_margin_and_a_quarter_of_tiny_timeouts():
    assert margin(10) == margin(60) == 0.25
    assert margin(0.2) == 0.05
    ctx = ProbeContext(Resources(), 10, started=100.0)
    assert ctx.deadline == 109.75


async def test_wait_raises_no_answer_naming_the_target_and_the_items_timeout():
    ctx = ProbeContext(Resources(), 0.2)
    with pytest.raises(NoAnswer) as info:
        await ctx.wait(asyncio.Event().wait(), "the target")
    assert str(info.value) == "the target: no answer within the 200ms timeout"
    assert info.value.timeout == 0.2


async def test_a_child_shares_its_parents_deadline():
    ctx = ProbeContext(Resources(), 5)
    child = ctx.child()
    assert (child.deadline, child.started, child.timeout) == (ctx.deadline, ctx.started, 5)


async def test_run_probe_turns_only_silence_and_overrun_into_errors():
    async def silent(spec, ctx):
        await ctx.wait(asyncio.Event().wait(), "somewhere")

    async def ignores_budget(spec, ctx):
        await asyncio.Event().wait()

    async def fine(spec, ctx):
        return passed("ok")

    async def broken(spec, ctx):
        raise ValueError("bug")

    def ctx():
        return ProbeContext(Resources(), 0.2)

    quiet = await run_probe(silent, None, ctx(), 0.2)
    assert (quiet.summary, quiet.error) == (
        "somewhere: no answer within the 200ms timeout; cannot judge",
        True,
    )
    over = await run_probe(ignores_budget, None, ctx(), 0.2)
    assert (over.summary, over.error) == ("timed out after 200ms", True)
    assert (await run_probe(fine, None, ctx(), 0.2)).status is Status.PASS
    with pytest.raises(ValueError, match="bug"):
        await run_probe(broken, None, ctx(), 0.2)
