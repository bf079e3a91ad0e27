"""The engine: schedules, isolation of a hanging or broken probe, error counting, reload."""

from __future__ import annotations

import asyncio

import pytest
from support.servers import silent_tcp
from support.waiting import until

from exporter import config
from exporter.engine import Engine
from probes.registry import KINDS, Kind
from probes.result import Result, Status


def load(write_config, text, env=None, kinds=KINDS):
    return config.load(write_config(text), env or {}, kinds)


def unparsed(raw, name, reading):
    """A test kind's config reader: it takes no settings."""


async def test_run_round_probes_every_configured_item(write_config, tmp_path):
    (tmp_path / "present.txt").write_text("x")
    engine = Engine(
        load(
            write_config,
            """
        categories:
          - id: a
            items:
              - {id: A-1, title: present, priority: critical, probe: {file: {path: present.txt}}}
              - {id: A-2, title: absent, priority: high, probe: {file: {path: absent.txt}}}
              - {id: A-3, title: unset, priority: high, probe: {file: {path: "${NOPE}"}}}
              - {id: A-4, title: na, priority: high, applicable: false}
    """,
        )
    )
    snap = await engine.run_round()
    await engine.stop()
    status = {i: s.status for i, s in snap.states.items()}
    assert status == {
        "A-1": Status.PASS,
        "A-2": Status.FAIL,
        "A-3": Status.PENDING,
        "A-4": Status.NA,
    }
    assert snap.states["A-3"].result.summary == "not configured: NOPE is not set"
    assert snap.states["A-3"].runs == 0 and snap.states["A-1"].runs == 1
    assert snap.ready
    assert snap.scores.total.passed == 1 and snap.scores.total.applicable == 3


async def test_timeout_and_exception_are_errors_of_their_own_item(write_config):
    async def explode(spec, ctx):
        raise RuntimeError("probe bug")

    kinds = KINDS.with_kinds(boom=Kind(unparsed, explode))
    async with silent_tcp() as target:
        engine = Engine(
            load(
                write_config,
                f"""
            categories:
              - id: a
                items:
                  - {{id: H-1, title: hangs, priority: high, timeout: 300ms, probe: {{http: {{url: "http://{target}/"}}}}}}
                  - {{id: B-1, title: raises, priority: high, probe: {{boom: {{}}}}}}
                  - {{id: C-1, title: fine, priority: high, probe: {{command: {{argv: ["true"]}}}}}}
        """,
                kinds=kinds,
            ),
            kinds=kinds,
        )
        snap = await engine.run_round()
        await engine.stop()
    hang, boom, fine = (snap.states[i] for i in ("H-1", "B-1", "C-1"))
    # The engine's deadline or the request's own budget may answer first: either is an error.
    assert (hang.status, hang.errors) == (Status.FAIL, 1)
    assert (boom.status, boom.result.summary, boom.errors) == (
        Status.FAIL,
        "probe error: RuntimeError: probe bug",
        1,
    )
    assert (fine.status, fine.errors) == (Status.PASS, 0)


async def test_engine_timeout_applies_when_a_probe_ignores_its_budget(write_config):
    async def sleepy(spec, ctx):
        await asyncio.sleep(60)

    kinds = KINDS.with_kinds(sleepy=Kind(unparsed, sleepy))
    engine = Engine(
        load(
            write_config,
            """
        categories:
          - id: a
            items:
              - {id: S-1, title: sleeps, priority: high, timeout: 200ms, probe: {sleepy: {}}}
    """,
            kinds=kinds,
        ),
        kinds=kinds,
    )
    state = await engine.run_item("S-1")
    await engine.stop()
    assert (state.status, state.result.summary, state.errors, state.runs) == (
        Status.FAIL,
        "timed out after 200ms",
        1,
        1,
    )


async def test_hanging_probe_does_not_hold_up_other_items(write_config):
    async with silent_tcp() as target:
        engine = Engine(
            load(
                write_config,
                f"""
            categories:
              - id: a
                items:
                  - {{id: H-1, title: hangs, priority: high, interval: 1m, timeout: 1m,
                      probe: {{tcp: {{target: "{target}", banner: "never"}}}}}}
                  - {{id: Q-1, title: quick, priority: high, interval: 200ms, timeout: 200ms,
                      probe: {{command: {{argv: ["true"]}}}}}}
        """,
            )
        )
        engine.start()
        # The quick item runs on its own interval while the other hangs in its first run.
        await until(lambda: engine.states["Q-1"].runs >= 5, "five runs of the quick item")
        snap = engine.snapshot()
        await engine.stop()
    assert snap.states["H-1"].runs == 0


async def test_concurrency_bound_holds(write_config):
    running, peak = 0, 0

    async def counted(spec, ctx):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.05)
        running -= 1
        from probes.result import passed

        return passed("ok")

    kinds = KINDS.with_kinds(counted=Kind(unparsed, counted))
    items = "\n".join(
        f"              - {{id: C-{n}, title: c, priority: low, probe: {{counted: {{}}}}}}"
        for n in range(20)
    )
    engine = Engine(
        load(
            write_config,
            "engine: {concurrency: 3}\ncategories:\n  - id: a\n    items:\n" + items,
            kinds=kinds,
        ),
        kinds=kinds,
    )
    snap = await engine.run_round()
    await engine.stop()
    assert peak == 3
    assert all(s.status is Status.PASS for s in snap.states.values())


@pytest.fixture
def json_logs():
    """The exporter's logging set up for one test, and the test run's logging put back after."""
    import logging

    import structlog

    from exporter import logs

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    logs.setup("info", "json")
    yield
    root.handlers[:], level = saved
    root.setLevel(level)
    structlog.reset_defaults()


async def test_status_changes_are_logged_once_each(write_config, tmp_path, caplog, json_logs):
    target = tmp_path / "flag"
    engine = Engine(
        load(
            write_config,
            """
        categories:
          - id: a
            items:
              - {id: F-1, title: flag, priority: high, probe: {file: {path: flag}}}
    """,
        )
    )
    for present in (False, False, True, True):
        if present:
            target.write_text("x")
        await engine.run_item("F-1")
    await engine.stop()
    events = [r.msg for r in caplog.records if isinstance(r.msg, dict)]  # structlog's event dicts
    changes = [(e["item"], e["from"], e["to"]) for e in events if e["event"] == "status changed"]
    # PENDING -> FAIL, FAIL -> PASS; repeated results log nothing.
    assert changes == [("F-1", "PENDING", "FAIL"), ("F-1", "FAIL", "PASS")]
    assert [(c.before, c.after) for c in engine.snapshot().states["F-1"].history] == [
        (Status.PENDING, Status.FAIL),
        (Status.FAIL, Status.PASS),
    ]


async def test_a_start_logs_first_failures_and_one_line_for_the_round(
    write_config, tmp_path, caplog, json_logs
):
    """At info, a first PASS is not a change (10,000 of them were 10,000 lines); a first
    FAIL is, and the first round ends with one line that counts every status."""
    (tmp_path / "here").write_text("x")
    engine = Engine(
        load(
            write_config,
            """
        categories:
          - id: a
            items:
              - {id: F-1, title: here, priority: high, probe: {file: {path: here}}}
              - {id: F-2, title: here too, priority: high, probe: {file: {path: here}}}
              - {id: F-3, title: missing, priority: high, probe: {file: {path: gone}}}
    """,
        )
    )

    def info() -> list[dict]:
        return [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.levelno >= 20]

    engine.start()
    await until(lambda: any(e["event"] == "first round done" for e in info()), "first round")
    await engine.stop()
    said = info()
    changes = [(e["item"], e["to"]) for e in said if e["event"] == "status changed"]
    assert changes == [("F-3", "FAIL")]
    (done,) = [e for e in said if e["event"] == "first round done"]
    assert (done["items"], done["pass"], done["fail"]) == (3, 2, 1)


async def test_a_pass_after_a_restart_is_logged_when_it_was_not_pass_before(
    write_config, tmp_path, caplog, json_logs
):
    """The store remembers F-1 FAIL and F-2 PASS before the restart: both PASS now. F-1's
    recovery is a change an operator must see; F-2's PASS is not."""
    from exporter.store import StartState, StatusChange

    (tmp_path / "here").write_text("x")
    checklist = load(
        write_config,
        """
        categories:
          - id: a
            items:
              - {id: F-1, title: here, priority: high, probe: {file: {path: here}}}
              - {id: F-2, title: here too, priority: high, probe: {file: {path: here}}}
    """,
    )
    before = {
        "F-1": (StatusChange("F-1", None, Status.FAIL, "gone", 1.0),),
        "F-2": (StatusChange("F-2", None, Status.PASS, "here", 1.0),),
    }
    memory = StartState(before, {}, {}, {}, {}, {}, None, {})
    engine = Engine(checklist, memory=memory)
    for item_id in ("F-1", "F-2"):
        await engine.run_item(item_id)
    await engine.stop()
    info = [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.levelno >= 20]
    assert [(e["item"], e["to"]) for e in info if e["event"] == "status changed"] == [
        ("F-1", "PASS")
    ]


async def test_reload_keeps_unchanged_items_resets_changed_adds_and_removes(write_config, tmp_path):
    (tmp_path / "a.txt").write_text("x")
    first = """
        categories:
          - id: a
            items:
              - {id: K-1, title: kept, priority: high, probe: {file: {path: a.txt}}}
              - {id: C-1, title: changed, priority: high, probe: {file: {path: a.txt}}}
              - {id: R-1, title: removed, priority: high, probe: {file: {path: a.txt}}}
    """
    engine = Engine(load(write_config, first))
    engine.start()
    await engine.run_round()
    before = engine.snapshot()
    engine.reload(
        load(
            write_config,
            """
        categories:
          - id: a
            items:
              - {id: K-1, title: kept with a new title, priority: high,
                 probe: {file: {path: a.txt}}}
              - {id: C-1, title: changed, priority: high, probe: {file: {path: a.txt, max_age: 1d}}}
              - {id: N-1, title: new, priority: high, probe: {file: {path: a.txt}}}
    """,
        )
    )
    after = engine.snapshot()
    assert list(after.states) == ["K-1", "C-1", "N-1"]
    kept = after.states["K-1"]
    assert kept.result == before.states["K-1"].result and kept.runs == before.states["K-1"].runs
    assert kept.item.title == "kept with a new title"
    assert after.states["C-1"].status is Status.PENDING and after.states["C-1"].runs == 0
    assert after.states["N-1"].status is Status.PENDING
    # New and changed items are probed at once, not one interval (60 s) later.
    await until(lambda: engine.states["N-1"].runs and engine.states["C-1"].runs, "the first runs")
    snap = engine.snapshot()
    await engine.stop()
    assert snap.states["N-1"].status is Status.PASS
    assert snap.states["C-1"].status is Status.PASS


async def test_snapshot_is_reused_until_something_changes(write_config, tmp_path):
    (tmp_path / "a.txt").write_text("x")
    engine = Engine(
        load(
            write_config,
            """
        categories:
          - id: a
            items:
              - {id: A-1, title: a, priority: high, probe: {file: {path: a.txt}}}
    """,
        )
    )
    first = engine.snapshot()
    assert engine.snapshot() is first
    await engine.run_item("A-1")
    assert engine.snapshot() is not first
    await engine.stop()


async def test_ready_only_after_every_probed_item_ran(write_config, tmp_path):
    engine = Engine(
        load(
            write_config,
            """
        categories:
          - id: a
            items:
              - {id: A-1, title: a, priority: high, probe: {command: {argv: ["true"]}}}
              - {id: A-2, title: b, priority: high, probe: {command: {argv: ["true"]}}}
              - {id: A-3, title: c, priority: high, probe: {command: {argv: ["${UNSET}"]}}}
    """,
        )
    )
    assert not engine.ready
    await engine.run_item("A-1")
    assert not engine.ready
    await engine.run_item("A-2")
    assert engine.ready
    await engine.stop()


async def test_item_changed_while_its_probe_runs_is_probed_again_at_once(write_config, caplog):
    """The old run still in flight must not push the changed item's first run an interval back."""
    text = """
        categories:
          - id: a
            items:
              - {id: S-1, title: slow, priority: high, interval: 60s, timeout: %s,
                 probe: {command: {argv: [sleep, "1"]}}}
    """
    engine = Engine(load(write_config, text % "5s"))
    engine.start()
    await until(lambda: bool(engine._tasks), "the first run started")  # it is sleeping
    engine.reload(load(write_config, text % "4s"))  # only the timeout changes
    await until(lambda: engine.states["S-1"].runs > 0, "the changed item's first run")
    state = engine.snapshot().states["S-1"]
    await engine.stop()
    assert (state.status, state.runs) == (Status.PASS, 1)
    assert state.item.timeout == 4
    assert "previous run still in flight" not in caplog.text


async def test_a_reload_during_the_first_round_does_not_hold_ready_back(write_config):
    """Unchanged items the first round had not reached are run by the reload's round, not
    left for their scheduled runs an interval later."""

    async def slow(spec, ctx):
        await asyncio.sleep(0.2)
        return Result(Status.PASS, "slow")

    kinds = KINDS.with_kinds(slow=Kind(unparsed, slow))
    items = "".join(
        f"              - {{id: R-{n}, title: r, priority: high, probe: {{slow: {{}}}}}}\n"
        for n in range(4)
    )
    text = "engine: {concurrency: 1}\ndefaults: {interval: 60s}\ncategories:\n  - id: a\n"
    text += "    items:\n" + items
    engine = Engine(load(write_config, text, kinds=kinds), kinds=kinds)
    engine.start()
    await until(lambda: engine.states["R-0"].checked_at is not None, "the first item's run")
    engine.reload(load(write_config, text, kinds=kinds))  # the same items: none is changed
    try:
        await until(lambda: engine.ready, "every item's first run", timeout=5)
        assert engine.probed_so_far() == (4, 4)
    finally:
        await engine.stop()


def watching(path):
    """A test kind that watches ``path`` and passes when the file says ok."""

    async def probe(spec, ctx):
        text = path.read_text() if path.exists() else ""
        return Result(Status.PASS if text == "ok" else Status.FAIL, text or "no file")

    return Kind(unparsed, probe, watched_files=lambda spec: (path,))


async def test_a_file_the_kind_watches_is_probed_as_soon_as_it_changes(write_config, tmp_path):
    flag = tmp_path / "flag"
    kinds = KINDS.with_kinds(flagged=watching(flag))
    text = """
        categories:
          - id: a
            items:
              - {id: W-1, title: watched, priority: high, interval: 1h, probe: {flagged: {}}}
              - {id: W-2, title: inside all, priority: high, interval: 1h,
                 probe: {all: [{flagged: {}}, {command: {argv: ["true"]}}]}}
    """
    engine = Engine(load(write_config, text, kinds=kinds), kinds=kinds)
    engine.start()
    try:
        await until(lambda: all(s.runs == 1 for s in engine.states.values()), "first round")
        assert engine.states["W-1"].status is Status.FAIL
        flag.write_text("ok")
        # The interval is an hour: only the watch can bring these results.
        await until(
            lambda: all(s.status is Status.PASS for s in engine.states.values()),
            "both items probed again after the change",
        )
    finally:
        await engine.stop()


async def test_attest_writes_the_file_the_kind_signs(write_config, tmp_path):
    from exporter.attest import AttestError, evidence_file

    signed = tmp_path / "signed.yaml"
    kinds = KINDS.with_kinds(
        signed=Kind(unparsed, watching(signed).probe, signed_files=lambda s: (signed,))
    )
    checklist = load(
        write_config,
        """
        categories:
          - id: a
            items:
              - {id: S-1, title: signed, priority: high, probe: {signed: {}}}
              - {id: U-1, title: unsigned, priority: high, probe: {command: {argv: ["true"]}}}
    """,
        kinds=kinds,
    )
    assert evidence_file(checklist, "S-1", kinds) == signed
    with pytest.raises(AttestError, match="its probe is command"):
        evidence_file(checklist, "U-1", kinds)
