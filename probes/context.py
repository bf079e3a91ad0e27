"""What a probe run gets besides its spec: shared clients built once, a time budget, a debug log.

Also the one rule for time (``run_probe``): a probe waits on its target through
``ProbeContext.wait`` until its budget is spent (the item's timeout less the engine's margin);
a target still silent then means the probe could not judge (``no_answer``: FAIL, counted as a
probe error), whatever the kind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from .fields import format_duration
from .pool import DEFAULT_PER_DSN, Databases
from .result import Result, Status
from .signed import Sheet, Signed

T = TypeVar("T")


class WorkerPool:
    """A fixed number of threads for one kind of blocking work: a stuck call takes no more.

    Python's shared thread pool serves everything (config reload included), so one stalled
    mount could fill it. The threads are daemon threads: one stuck in ``stat()`` on a hung
    mount never holds up exit, where ThreadPoolExecutor's are joined at exit and SIGTERM
    would wait on them for good. Calls still queued when a probe gives up are dropped.
    """

    def __init__(self, name: str, workers: int):
        self.name = name
        self.workers = workers
        self._calls: queue.SimpleQueue[
            tuple[concurrent.futures.Future[Any], Callable[..., Any], tuple[Any, ...]] | None
        ] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._closed = False
        self.busy = 0  # calls running now

    def submit(self, call: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        """Queue ``call(*args)``; the workers start on the first call."""
        job: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the {self.name} workers are closed")
            while self._threads < self.workers:
                self._threads += 1
                name = f"{self.name}-{self._threads}"
                threading.Thread(target=self._work, name=name, daemon=True).start()
        self._calls.put((job, call, args))
        return job

    def _work(self) -> None:
        while (entry := self._calls.get()) is not None:
            job, call, args = entry
            del entry
            if not job.set_running_or_notify_cancel():
                continue  # the probe gave up while the call was queued
            with self._lock:
                self.busy += 1
            try:
                job.set_result(call(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to the caller, not lost
                job.set_exception(exc)
            finally:
                with self._lock:
                    self.busy -= 1
            del job, call, args
        with self._lock:
            self._threads -= 1

    def close(self) -> None:
        """Drop queued calls and let idle workers end; a stuck one ends with the process."""
        with self._lock:
            self._closed = True
        while True:
            try:
                entry = self._calls.get_nowait()
            except queue.Empty:
                break
            if entry is not None:
                entry[0].cancel()
        with self._lock:
            threads = self._threads
        for _ in range(threads):
            self._calls.put(None)


FILE_WORKERS = 4  # file, report and disk probes: trees and file systems of the targets
EVIDENCE_WORKERS = 2  # attestation probes and the engine's look at watched files


class Resources:
    """Expensive things probes share for the life of the engine: the HTTP session, TLS contexts,
    the worker pools for blocking work, and a bounded pool of connections per database DSN.

    A TLS context is costly to build (docs/performance.md), so one is made per distinct setting
    and reused. The HTTP session opens a fresh connection per request (as blackbox_exporter does),
    keeps no cookies between probes, and is built lazily inside the running event loop. Each
    kind of blocking work has its own bounded pool, so a slow repository walk cannot delay an
    attestation, and none of them delays a config reload (which uses Python's shared pool).
    """

    def __init__(
        self, sql_connections_per_dsn: int = DEFAULT_PER_DSN, ca_file: Path | None = None
    ) -> None:
        # The config's tls.ca_file: trusted by every TLS client whose probe names no CA of its own.
        self.ca_file = ca_file
        self._ssl: dict[tuple[bool, str | None], ssl.SSLContext] = {}
        self._session: aiohttp.ClientSession | None = None
        self.files = WorkerPool("files", FILE_WORKERS)
        self.evidence = WorkerPool("evidence", EVIDENCE_WORKERS)
        self.databases = Databases(sql_connections_per_dsn)

    def ssl_context(self, verify: bool = True, ca_file: str | None = None) -> ssl.SSLContext:
        """A client context trusting ``ca_file``, else the config's ``tls.ca_file``, else the
        system's CAs; ``verify=False`` trusts anything (a probe that reads a certificate)."""
        if ca_file is None and self.ca_file is not None:
            ca_file = str(self.ca_file)
        key = (verify, ca_file)
        ctx = self._ssl.get(key)
        if ctx is None:
            ctx = ssl.create_default_context(cafile=ca_file)
            if not verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            self._ssl[key] = ctx
        return ctx

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(force_close=True, limit=0, ssl=self.ssl_context()),
                cookie_jar=aiohttp.DummyCookieJar(),
                # No timers of aiohttp's own: the probe's budget (ProbeContext.wait) decides.
                timeout=aiohttp.ClientTimeout(),
                trust_env=False,
                auto_decompress=True,
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        self.files.close()
        self.evidence.close()
        self.databases.close()


# Seconds of an item's timeout the engine keeps after the probe's budget ends, to close what
# the probe opened and record its result: a probe that honours its budget is never cut off by
# the engine. At most a quarter of the timeout, so a 200 ms timeout still leaves 150 ms.
RECORD_MARGIN = 0.25


def margin(timeout: float) -> float:
    """The part of ``timeout`` kept by the engine after the probe's budget."""
    return min(RECORD_MARGIN, timeout / 4)


def configured(seconds: float) -> str:
    """A configured duration as written: 1.5s stays 1.5s (format_duration rounds to seconds)."""
    if 1 < seconds < 60 and seconds != int(seconds):
        return f"{seconds:g}s"
    return format_duration(seconds)


class NoAnswer(Exception):
    """Raised when the target did not answer within the probe's budget.

    The engine (and ``all``/``any`` for their children) turns it into the one result that
    silence means: the probe could not judge (``no_answer``). A probe catches it only where
    silence is the answer its question expects (a port that must be closed).
    """

    def __init__(
        self,
        target: str,
        timeout: float,
        note: str = "",
        evidence: Mapping[str, Any] | None = None,
    ):
        super().__init__(f"{target}: no answer within the {configured(timeout)} timeout")
        self.target = target
        self.timeout = timeout  # the item's: summaries name it, not the budget left at the wait
        self.note = note
        self.evidence = dict(evidence or {})


def no_answer(silence: NoAnswer) -> Result:
    """A target that stayed silent through the budget: FAIL, counted as a probe error."""
    summary = f"{silence}; cannot judge"
    if silence.note:
        summary += f" ({silence.note})"
    evidence = {
        **silence.evidence,
        "no_answer_from": silence.target,
        "timeout_seconds": silence.timeout,
    }
    return Result(Status.FAIL, summary, evidence, error=True)


@dataclass
class ProbeContext:
    """Per-run context: shared resources, the run's time budget, and debug lines when asked for.

    ``timeout`` is the item's; the probe may wait on its target until ``deadline`` (the
    timeout less the engine's margin), through ``wait``, which raises NoAnswer past it.
    """

    resources: Resources
    timeout: float
    debug: list[str] | None = None
    started: float = field(default_factory=time.monotonic)
    deadline: float = 0.0  # monotonic; 0 means the timeout less the engine's margin
    item: str = ""  # the ID of the item probed: evidence that names its item is checked against it
    # The item's latest attestation recorded in the exporter's store, if any (an attestation
    # probe weighs it against its evidence file; other kinds never look).
    attested: Signed | None = None
    # The Sign-Off Sheet as it stands, for the kinds that answer from it (``signoff``,
    # ``decision``); None for every other kind.
    sheet: Sheet | None = None

    def __post_init__(self) -> None:
        if not self.deadline:
            self.deadline = self.started + self.timeout - margin(self.timeout)

    def log(self, message: str) -> None:
        """Record a debug line (shown by probe-now); free when nobody is listening."""
        if self.debug is not None:
            self.debug.append(f"{time.monotonic() - self.started:7.3f}s {message}")

    def budget(self) -> float:
        """Seconds left for waiting on the target (never below a millisecond)."""
        return max(0.001, self.deadline - time.monotonic())

    async def wait(self, awaitable: Awaitable[T], target: str, reserve: float = 0.0) -> T:
        """What ``awaitable`` gives, or NoAnswer naming ``target`` once the budget is spent.

        ``reserve`` keeps that many seconds of the budget for cleaning up after a silent
        target (a command's process group gets them to exit after SIGTERM).
        """
        waited = max(0.001, self.budget() - reserve)
        try:
            return await asyncio.wait_for(awaitable, waited)
        except TimeoutError:
            self.log(f"{target}: no answer within {waited:.3f}s")
            raise NoAnswer(target, self.timeout) from None

    async def blocking(
        self, pool: WorkerPool, call: Callable[..., T], *args: Any, target: str
    ) -> T:
        """``call(*args)`` on ``pool``'s threads; NoAnswer when it has not returned in time.

        A thread cannot be interrupted: a call that overruns keeps its worker until it returns,
        so ``call`` should watch ``self.deadline`` itself where it loops (a glob's walk).
        """
        job = pool.submit(call, *args)
        try:
            return await self.wait(asyncio.wrap_future(job), target)
        except NoAnswer as silence:
            if job.cancelled():  # never started: earlier calls held every worker
                silence.note = f"it waited for a {pool.name} worker: all {pool.workers} busy"
            raise

    def child(self) -> ProbeContext:
        """A context for a probe inside this one (``all``/``any``): the same deadline."""
        return ProbeContext(
            self.resources,
            self.timeout,
            self.debug,
            self.started,
            self.deadline,
            self.item,
            self.attested,
            self.sheet,
        )


ProbeFunction = Callable[[Any, ProbeContext], Awaitable[Result]]


async def run_probe(
    probe: ProbeFunction, spec: Any, ctx: ProbeContext, limit: float | None = None
) -> Result:
    """Run ``probe`` under the one rule for time: silence past the budget is ``no_answer``.

    ``limit`` (seconds from the start) is the engine's last resort for a probe that ignores
    its budget (a thread stuck in a system call, a bug): "timed out", also a probe error.
    Exceptions other than NoAnswer propagate.
    """
    try:
        if limit is None:
            return await probe(spec, ctx)
        left = max(0.001, limit - (time.monotonic() - ctx.started))
        return await asyncio.wait_for(probe(spec, ctx), left)
    except NoAnswer as silence:
        return no_answer(silence)
    except TimeoutError:
        if limit is None:
            raise
        ctx.log(f"timed out after {configured(limit)}")
        return Result(
            Status.FAIL,
            f"timed out after {configured(limit)}",
            {"timeout_seconds": limit},
            error=True,
        )
