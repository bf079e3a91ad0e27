"""Alerting probe: can an alert reach a receiver now? Never a config text search, never a
healthy Alertmanager process alone.

Three checks, each answering part of "alerting operational" (run the ones ``checks`` lists;
by default every one the given URLs allow):

- ``active_alertmanager`` (needs ``prometheus``): Prometheus's ``/api/v1/alertmanagers`` lists
  at least one active Alertmanager, and, when ``alertmanager`` is given (and
  ``match_alertmanager`` is on), that one by host and port. A Prometheus without an
  ``alerting:`` section evaluates its rules and tells nobody.
- ``watchdog`` (needs ``alertmanager``): an always-firing alert (``Watchdog``, ``expr:
  vector(1)``, as kube-prometheus ships it) is at Alertmanager now (``/api/v2/alerts``), not
  resolved, and was updated at most ``watchdog.max_age`` ago: Prometheus keeps re-sending
  firing alerts, so a stale one means the path from rules to Alertmanager is broken.
- ``notifications`` (needs ``prometheus``, which must scrape Alertmanager): per integration,
  Alertmanager's notification requests over ``notifications.window``, as
  ``increase(alertmanager_notification_requests_total[window])`` and the same of
  ``..._requests_failed_total``. Prometheus's ``increase()`` spans Alertmanager restarts
  (counter resets) and needs no state in the probe, which reading ``/metrics`` twice would.
  A request counts when it has completed, so a notification still being retried is neither
  sent nor failed yet. Failed requests and none sent: FAIL; some failed, some sent: PARTIAL.
  With ``notifications.integrations``, each named one is required and must have sent at least
  ``min_sent`` (M-009 "alert routing tested": delivered through Slack *and* PagerDuty).

What "no data" means: Prometheus has no ``alertmanager_notification_requests_total`` series at
all (with ``notifications.selector``) — it does not scrape Alertmanager, or the selector is
wrong. The probe cannot judge: a probe error, never a PASS. An integration that had no
requests in the window has nothing failing (PASS) unless ``min_sent`` asks for deliveries.

What it cannot know: "sent" means the receiver's API accepted the request (Slack answered
200), not that a person saw it; which route sends which alert (``amtool config routes test``
belongs in CI); whether the Watchdog's own dead-man's-switch receiver pages when it stops.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from . import promql
from .context import ProbeContext
from .credentials import Auth, parse_auth
from .fields import Fields, format_age, format_duration, to_url
from .local_errors import local_cause
from .request import client_error_reason, read_capped
from .result import Result, Status

CHECKS = ("active_alertmanager", "watchdog", "notifications")
RESPONSE_CAP = 4 * 1024 * 1024
SKEW = 300.0  # seconds an Alertmanager time may be ahead of ours before it is a wrong clock
REQUESTS = "alertmanager_notification_requests_total"
FAILED = "alertmanager_notification_requests_failed_total"
_ORDER = {Status.FAIL: 0, Status.PARTIAL: 1, Status.PASS: 2}


@dataclass(frozen=True)
class Check:
    """One check's verdict: a status, words for the summary, and whether it could judge."""

    status: Status
    text: str
    error: bool = False  # could not judge (no data, unusable answer)
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Watchdog:
    alertname: str = "Watchdog"
    max_age: float = 600.0  # seconds since Alertmanager last heard of it


@dataclass(frozen=True)
class Notifications:
    integrations: tuple[str, ...] = ()  # required ones; empty: every integration that was used
    window: float = 3600.0
    min_sent: int = 0  # per required integration
    selector: str = ""  # PromQL label matchers for Alertmanager's series, e.g. job="alertmanager"


@dataclass(frozen=True)
class Spec:
    prometheus: str | None = None
    alertmanager: str | None = None
    checks: tuple[str, ...] = CHECKS
    match_alertmanager: bool = True
    watchdog: Watchdog = Watchdog()
    notifications: Notifications = Notifications()
    auth: Auth | None = None  # sent to both Prometheus and Alertmanager
    verify: bool = True
    ca_file: Path | None = None


# Judging: pure functions of what the APIs answered. -------------------------------------------


def _netloc(url: str) -> str:
    """``host:port`` of a URL, the port made explicit, for comparing addresses."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"


def judge_active_alertmanagers(doc: Any, expected: str | None) -> Check:
    """Prometheus's ``/api/v1/alertmanagers`` answer: at least one active (and ``expected``)."""
    data = doc.get("data") if isinstance(doc, dict) else None
    active_raw = data.get("activeAlertmanagers") if isinstance(data, dict) else None
    if not isinstance(active_raw, list):
        return Check(Status.FAIL, "Prometheus's alertmanagers answer has no list", error=True)
    active = [str(a.get("url", "")) for a in active_raw if isinstance(a, dict)]
    dropped = data.get("droppedAlertmanagers") if isinstance(data, dict) else None
    evidence = {"active_alertmanagers": active, "dropped_alertmanagers": len(dropped or [])}
    if not active:
        more = f" ({len(dropped)} dropped by relabeling)" if dropped else ""
        return Check(
            Status.FAIL,
            f"Prometheus has 0 active Alertmanagers{more}, expected at least 1",
            evidence=evidence,
        )
    shown = ", ".join(_netloc(u) for u in active[:3]) + (" ..." if len(active) > 3 else "")
    plural = "s" if len(active) != 1 else ""
    if expected is not None and _netloc(expected) not in {_netloc(u) for u in active}:
        return Check(
            Status.FAIL,
            f"Prometheus sends alerts to {shown}, not to {_netloc(expected)} "
            f"(the alertmanager URL), expected it among its active Alertmanagers",
            evidence=evidence,
        )
    return Check(
        Status.PASS,
        f"Prometheus has {len(active)} active Alertmanager{plural} ({shown})",
        evidence=evidence,
    )


def _time(text: Any) -> float | None:
    """Unix seconds of an RFC 3339 time as Alertmanager writes them, or None."""
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def judge_watchdog(alerts: Any, watchdog: Watchdog, now: float) -> Check:
    """Alertmanager's ``/api/v2/alerts`` answer for the Watchdog: present, firing, recent."""
    name = watchdog.alertname
    if not isinstance(alerts, list):
        return Check(Status.FAIL, "Alertmanager's alerts answer is not a list", error=True)
    mine = [
        a for a in alerts if isinstance(a, dict) and a.get("labels", {}).get("alertname") == name
    ]
    expected = f"expected it firing, updated at most {format_duration(watchdog.max_age)} ago"
    if not mine:
        return Check(Status.FAIL, f"no {name} alert at Alertmanager, {expected}")
    latest = max(mine, key=lambda a: _time(a.get("updatedAt")) or 0.0)
    updated, ends = _time(latest.get("updatedAt")), _time(latest.get("endsAt"))
    state = str(latest.get("status", {}).get("state", "?"))
    evidence = {
        "alertname": name,
        "updated_at": latest.get("updatedAt"),
        "ends_at": latest.get("endsAt"),
        "state": state,
        "count": len(mine),
    }
    if updated is None:
        return Check(Status.FAIL, f"{name} at Alertmanager has no updatedAt", True, evidence)
    if updated > now + SKEW:
        return Check(
            Status.FAIL,
            f"{name} was updated {format_duration(updated - now)} in the future: wrong clock "
            "(Alertmanager's or ours)",
            evidence=evidence,
        )
    age = format_age(now - updated, watchdog.max_age)
    if now - updated > watchdog.max_age:
        return Check(
            Status.FAIL,
            f"{name} last updated at Alertmanager {age} ago, {expected} "
            "(has Prometheus stopped sending?)",
            evidence=evidence,
        )
    if ends is not None and ends < now:
        return Check(
            Status.FAIL,
            f"{name} at Alertmanager is resolved (ended {age} ago), {expected}",
            evidence=evidence,
        )
    silenced = " (silenced)" if state == "suppressed" else ""
    return Check(
        Status.PASS,
        f"{name} firing at Alertmanager{silenced}, updated {age} ago",
        evidence=evidence,
    )


def _counts(samples: Any) -> dict[str, int]:
    """``{integration: count}`` from a ``sum by (integration)`` vector (increase() rounded)."""
    out = {}
    for sample in samples if isinstance(samples, list) else ():
        try:
            value = float(sample["value"][1])
            out[str(sample["metric"].get("integration", ""))] = round(value)
        except (KeyError, IndexError, TypeError, ValueError):
            continue
    return out


def judge_notifications(requests: Any, failed: Any, notifications: Notifications) -> Check:
    """Per integration, completed notification requests (``requests``) and failed ones
    (``failed``) over the window, as the two ``sum by (integration) (increase(...))`` vectors."""
    window = format_duration(notifications.window)
    attempted, failures = _counts(requests), _counts(failed)
    evidence: dict[str, Any] = {
        "window_seconds": notifications.window,
        "requests": attempted,
        "failed": failures,
    }
    if not attempted:
        where = f"{{{notifications.selector}}}" if notifications.selector else ""
        return Check(
            Status.FAIL,
            f"cannot judge notifications: no {REQUESTS}{where} series in Prometheus "
            "(does it scrape Alertmanager?)",
            error=True,
            evidence=evidence,
        )
    unknown = [i for i in notifications.integrations if i not in attempted]
    if unknown:
        return Check(
            Status.FAIL,
            f"cannot judge notifications: Alertmanager reports no integration "
            f"{', '.join(unknown)} (it has {', '.join(sorted(attempted))})",
            error=True,
            evidence=evidence,
        )
    judged = notifications.integrations or tuple(sorted(i for i, n in attempted.items() if n))
    if not judged:
        return Check(
            Status.PASS,
            f"no notification requests in the last {window}, none failed",
            evidence=evidence,
        )
    parts: list[tuple[Status, str]] = []
    for integration in judged:
        bad = failures.get(integration, 0)
        sent = max(0, attempted[integration] - bad)
        if bad and not sent:
            parts.append(
                (
                    Status.FAIL,
                    f"{integration}: {bad} notifications failed in the last {window}, 0 sent",
                )
            )
        elif sent < notifications.min_sent:
            parts.append(
                (
                    Status.FAIL,
                    f"{integration}: {sent} notifications sent in the last {window}, "
                    f"expected at least {notifications.min_sent}",
                )
            )
        elif bad:
            parts.append(
                (
                    Status.PARTIAL,
                    f"{integration}: {bad} of {bad + sent} notifications failed "
                    f"in the last {window}",
                )
            )
        else:
            parts.append(
                (Status.PASS, f"{integration}: {sent} sent, 0 failed in the last {window}")
            )
    status = min((s for s, _ in parts), key=_ORDER.__getitem__)
    parts.sort(key=lambda p: _ORDER[p[0]])
    return Check(status, "; ".join(text for _, text in parts), evidence=evidence)


def combine(checks: Mapping[str, Check]) -> Result:
    """One result from the checks: the worst status; a probe error only when nothing FAILed
    on its own evidence and some check could not judge."""
    evidence = {name: {"status": c.status.value, **c.evidence} for name, c in checks.items()}
    ordered = sorted(checks.values(), key=lambda c: (c.error, _ORDER[c.status]))
    summary = "; ".join(c.text for c in ordered)
    verdicts = [c for c in checks.values() if not c.error]
    if any(c.status is Status.FAIL for c in verdicts):
        return Result(Status.FAIL, summary, evidence)
    if any(c.error for c in checks.values()):
        return Result(Status.FAIL, summary, evidence, error=True)
    status = min((c.status for c in verdicts), key=_ORDER.__getitem__)
    return Result(status, summary, evidence)


# Glue: today's Fields / ProbeContext API. ------------------------------------------------------


def _watchdog(f: Fields | None) -> Watchdog:
    if f is None:
        return Watchdog()
    f = f.defaults_from(Watchdog)
    watchdog = Watchdog(f.text("alertname"), f.duration("max_age"))
    if f.usable("alertname") and any(c in watchdog.alertname for c in '"\\{}'):
        f.problem("alertname", f"must be an alert name (got {watchdog.alertname!r})")
    return watchdog


def _notifications(f: Fields | None) -> Notifications:
    if f is None:
        return Notifications()
    f = f.defaults_from(Notifications)
    notifications = Notifications(
        integrations=f.texts("integrations"),
        window=f.duration("window"),
        min_sent=f.integer("min_sent", minimum=0),
        selector=f.text("selector"),
    )
    if f.usable("selector") and any(c in notifications.selector for c in "{}"):
        f.problem(
            "selector",
            'must be label matchers without braces, such as job="alertmanager" '
            f'(got "{notifications.selector}")',
        )
    if f.usable("window") and notifications.window < 1:
        f.problem("window", f"must be at least 1s (got {format_duration(notifications.window)})")
    return notifications


def parse_spec(f: Fields) -> Spec:
    f = f.defaults_from(Spec)
    prometheus = f.optional_parsed("prometheus", to_url)
    alertmanager = f.optional_parsed("alertmanager", to_url)
    if not f.has("prometheus") and not f.has("alertmanager"):
        f.problem("prometheus", "or alertmanager is required: the checks ask one or both")
    default = tuple(
        c
        for c in CHECKS
        if (c == "watchdog" and f.has("alertmanager")) or (c != "watchdog" and f.has("prometheus"))
    )
    checks = f.texts("checks") if f.has("checks") else default
    if f.usable("checks"):
        for i, check in enumerate(checks):
            needs = "alertmanager" if check == "watchdog" else "prometheus"
            if check not in CHECKS:
                f.problem(f"checks[{i}]", f'must be one of {", ".join(CHECKS)} (got "{check}")')
            elif not f.has(needs):
                f.problem("checks", f"{check} needs {needs}: give its URL")
    return Spec(
        prometheus=prometheus.rstrip("/") if prometheus else None,
        alertmanager=alertmanager.rstrip("/") if alertmanager else None,
        checks=checks,
        match_alertmanager=f.flag("match_alertmanager"),
        watchdog=_watchdog(f.sub("watchdog")),
        notifications=_notifications(f.sub("notifications")),
        auth=parse_auth(f),
        verify=f.flag("verify"),
        ca_file=f.optional_path("ca_file"),
    )


class Unreachable(Exception):
    """Raised when Prometheus or Alertmanager did not answer with JSON: a verdict (FAIL)."""


class CannotAsk(Exception):
    """Raised when this machine could not send the request (out of descriptors, no route)."""


def _request_failed(exc: aiohttp.ClientError, what: str, url: str) -> Exception:
    """Unreachable for the target's answer (refused, reset); CannotAsk for a local failure."""
    local = local_cause(exc)
    if local is not None:
        why = local.strerror or str(local)
        return CannotAsk(
            f"cannot judge {what} at {url}: {why} (on this machine, not an answer from the target)"
        )
    return Unreachable(f"{what} unreachable ({client_error_reason(exc)}) at {url}")


async def _get_json(spec: Spec, ctx: ProbeContext, url: str, what: str) -> Any:
    ssl_ctx = ctx.resources.ssl_context(spec.verify, str(spec.ca_file) if spec.ca_file else None)
    headers = {"Accept": "application/json", **(spec.auth.header() if spec.auth else {})}
    ctx.log(f"GET {url}")

    async def get() -> tuple[int, bytes]:
        async with ctx.resources.http.get(url, headers=headers, ssl=ssl_ctx) as response:
            return response.status, await read_capped(response, RESPONSE_CAP)

    try:
        # A silent server is no verdict: NoAnswer, which the engine makes a probe error.
        status, body = await ctx.wait(get(), f"{what} at {url}")
    except aiohttp.ClientError as exc:
        raise _request_failed(exc, what, url) from None
    if status != 200:
        raise Unreachable(f"{what} answered status {status} at {url}")
    try:
        return json.loads(body)
    except ValueError:
        raise Unreachable(f"{what} answered without JSON at {url}") from None


async def _query(spec: Spec, ctx: ProbeContext, expr: str) -> Any:
    """The result vector of an instant query, through the promql kind's client."""
    assert spec.prometheus is not None
    query = promql.Spec(
        spec.prometheus, expr, auth=spec.auth, verify=spec.verify, ca_file=spec.ca_file
    )
    ctx.log(f"query {expr!r} at {spec.prometheus}")
    try:
        status, body = await ctx.wait(promql.query(query, ctx), f"Prometheus at {spec.prometheus}")
    except aiohttp.ClientError as exc:
        raise _request_failed(exc, "Prometheus", spec.prometheus) from None
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error", "") if isinstance(body, dict) else f"status {status}"
        raise Unreachable(f"Prometheus refused {expr!r}: {error}")
    return body.get("data", {}).get("result")


def _increase(metric: str, n: Notifications) -> str:
    return f"sum by (integration) (increase({metric}{{{n.selector}}}[{int(n.window)}s]))"


async def _run_check(name: str, spec: Spec, ctx: ProbeContext) -> Check:
    try:
        if name == "active_alertmanager":
            doc = await _get_json(
                spec, ctx, f"{spec.prometheus}/api/v1/alertmanagers", "Prometheus"
            )
            expected = spec.alertmanager if spec.match_alertmanager else None
            return judge_active_alertmanagers(doc, expected)
        if name == "watchdog":
            query = urllib.parse.urlencode({"filter": f'alertname="{spec.watchdog.alertname}"'})
            alerts = await _get_json(
                spec, ctx, f"{spec.alertmanager}/api/v2/alerts?{query}", "Alertmanager"
            )
            return judge_watchdog(alerts, spec.watchdog, time.time())
        n = spec.notifications
        requests = await _query(spec, ctx, _increase(REQUESTS, n))
        failed = await _query(spec, ctx, _increase(FAILED, n))
        return judge_notifications(requests, failed, n)
    except Unreachable as exc:
        return Check(Status.FAIL, str(exc))
    except CannotAsk as exc:
        return Check(Status.FAIL, str(exc), error=True)


async def probe(spec: Spec, ctx: ProbeContext) -> Result:
    checks = {name: await _run_check(name, spec, ctx) for name in spec.checks}
    for name, check in checks.items():
        ctx.log(f"{name}: {check.status.label}{' (cannot judge)' if check.error else ''}")
    return combine(checks)
