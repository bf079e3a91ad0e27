"""Alerting kind: a real Prometheus and Alertmanager on loopback, healthy and broken.

Stacks (each started by the test that needs it): Prometheus with and without an Alertmanager
configured; Alertmanager whose Slack and webhook receivers point at a loopback server that
answers 200, or at a port nobody listens on; a Watchdog rule (``vector(1)``) present or absent.
Prometheus scrapes Alertmanager every second and re-sends firing alerts every second
(``--rules.alert.resend-delay=1s``) so the tests wait seconds, not minutes. The judging
functions also get cases of their own, fed the APIs' real answer shapes.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.probing import config_error, run
from support.procs import Process, free_port, http_get, start_alertmanager, start_prometheus
from support.waiting import until

from probes.alerting import (
    Check,
    Notifications,
    Watchdog,
    combine,
    judge_active_alertmanagers,
    judge_notifications,
    judge_watchdog,
)
from probes.result import Result, Status

BOUND = 90.0  # seconds any wait below may take at most on a loaded machine
WATCHDOG_RULES = {
    "groups": [
        {
            "name": "meta",
            "rules": [{"alert": "Watchdog", "expr": "vector(1)", "labels": {"severity": "none"}}],
        }
    ]
}


class Receiver:
    """A loopback HTTP server that answers 200 to every POST and counts them by path."""

    def __init__(self) -> None:
        self.posts: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.posts.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@dataclass
class Stack:
    prom: str
    am: str
    procs: list[Process]


def am_config(target: str) -> str:
    """Alertmanager routing everything at once to Slack and a webhook at ``target``."""
    return yaml.safe_dump(
        {
            "route": {
                "receiver": "team",
                "group_wait": "0s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [
                {
                    "name": "team",
                    "slack_configs": [{"api_url": f"{target}/slack", "channel": "#ops"}],
                    "webhook_configs": [{"url": f"{target}/hook"}],
                }
            ],
        }
    )


def start_stack(
    tmp_path: Path, receivers_at: str, alerting: bool = True, watchdog: bool = True
) -> Stack:
    """Alertmanager (receivers at ``receivers_at``) and a Prometheus that scrapes it, sends it
    alerts when ``alerting``, and has the Watchdog rule when ``watchdog``."""
    am, am_url = start_alertmanager(tmp_path / "am", am_config(receivers_at))
    procs = [am]
    try:
        workdir = tmp_path / "prom"
        workdir.mkdir()
        config: dict[str, Any] = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "alertmanager",
                    "static_configs": [{"targets": [am_url.removeprefix("http://")]}],
                }
            ],
        }
        if watchdog:
            (workdir / "rules.yml").write_text(yaml.safe_dump(WATCHDOG_RULES))
            config["rule_files"] = ["rules.yml"]
        if alerting:
            config["alerting"] = {
                "alertmanagers": [
                    {"static_configs": [{"targets": [am_url.removeprefix("http://")]}]}
                ]
            }
        prom, prom_url = start_prometheus(
            workdir, yaml.safe_dump(config), extra=["--rules.alert.resend-delay=1s"]
        )
        procs.append(prom)
    except BaseException:
        am.stop()
        raise
    return Stack(prom_url, am_url, procs)


@pytest.fixture
def stacks() -> Iterator[list[Stack]]:
    started: list[Stack] = []
    yield started
    for stack in started:
        for proc in reversed(stack.procs):
            proc.stop()


def prom_value(prom: str, expr: str) -> float:
    """The single value of an instant query, or 0 when it returns nothing."""
    status, body = http_get(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    result = json.loads(body)["data"]["result"]
    return float(result[0]["value"][1]) if status == 200 and result else 0.0


async def eventually(check: Callable[[], Awaitable[bool]] | Callable[[], bool], what: str) -> None:
    """Poll ``check`` until it holds (every 0.2 s: most checks query Prometheus); fail after
    BOUND seconds."""
    await until(check, what, BOUND, every=0.2)


async def alerting(tmp_path: Path, **settings: Any) -> Result:
    return await run({"alerting": settings}, tmp_path, timeout="10s")


def sent_to_receiver(prom: str, integration: str) -> bool:
    """Prometheus has seen Alertmanager complete a request for ``integration``."""
    ok = (
        f'alertmanager_notification_requests_total{{integration="{integration}"}}'
        f' - alertmanager_notification_requests_failed_total{{integration="{integration}"}}'
    )
    return prom_value(prom, ok) >= 1


# With a real stack. ---------------------------------------------------------------------------


async def test_a_healthy_stack_passes_every_check(tmp_path, receiver, stacks):
    stack = start_stack(tmp_path, receiver.url)
    stacks.append(stack)
    await eventually(lambda: sent_to_receiver(stack.prom, "slack"), "a Slack notification")
    await eventually(lambda: sent_to_receiver(stack.prom, "webhook"), "a webhook notification")
    settings = {
        "prometheus": stack.prom,
        "alertmanager": stack.am,
        "notifications": {"window": "5m"},
    }

    async def passes() -> bool:
        return (await alerting(tmp_path, **settings)).status is Status.PASS

    await eventually(passes, "the alerting probe passing")
    result = await alerting(tmp_path, **settings)
    assert not result.error
    port = stack.am.rsplit(":", 1)[1]
    assert f"Prometheus has 1 active Alertmanager (127.0.0.1:{port})" in result.summary
    assert "Watchdog firing at Alertmanager, updated " in result.summary
    assert "slack: " in result.summary and " sent, 0 failed in the last 5m" in result.summary
    assert {"/slack", "/hook"} <= set(receiver.posts)

    # M-009: delivered through each required integration. PagerDuty never sent anything.
    routing = await alerting(
        tmp_path,
        prometheus=stack.prom,
        checks=["notifications"],
        notifications={"integrations": ["slack", "webhook"], "window": "5m", "min_sent": 1},
    )
    assert routing.status is Status.PASS, routing.summary
    routing = await alerting(
        tmp_path,
        prometheus=stack.prom,
        checks=["notifications"],
        notifications={"integrations": ["slack", "pagerduty"], "window": "5m", "min_sent": 1},
    )
    assert routing.status is Status.FAIL and not routing.error
    assert routing.summary.startswith(
        "pagerduty: 0 notifications sent in the last 5m, expected at least 1; slack: "
    )

    # The Alertmanager this item names is not the one Prometheus sends to.
    other = f"http://127.0.0.1:{free_port()}"
    result = await alerting(
        tmp_path, prometheus=stack.prom, alertmanager=other, checks=["active_alertmanager"]
    )
    assert result.status is Status.FAIL
    assert result.summary == (
        f"Prometheus sends alerts to 127.0.0.1:{port}, not to {other.removeprefix('http://')} "
        "(the alertmanager URL), expected it among its active Alertmanagers"
    )
    result = await alerting(
        tmp_path,
        prometheus=stack.prom,
        alertmanager=other,
        checks=["active_alertmanager"],
        match_alertmanager=False,
    )
    assert result.status is Status.PASS


async def test_receivers_at_a_dead_port_fail_although_alertmanager_is_healthy(tmp_path, stacks):
    stack = start_stack(tmp_path, f"http://127.0.0.1:{free_port()}")
    stacks.append(stack)
    assert http_get(f"{stack.am}/-/healthy")[0] == 200  # what the shipped O-015 looked at
    await eventually(
        lambda: (
            prom_value(
                stack.prom, 'alertmanager_notification_requests_failed_total{integration="slack"}'
            )
            >= 1
        ),
        "Prometheus seeing failed Slack requests",
    )
    result = await alerting(
        tmp_path, prometheus=stack.prom, alertmanager=stack.am, notifications={"window": "5m"}
    )
    assert result.status is Status.FAIL and not result.error, result.summary
    assert result.summary.startswith("slack: ")
    assert " notifications failed in the last 5m, 0 sent" in result.summary
    # The other checks see what is true: alerts do reach Alertmanager.
    assert "Prometheus has 1 active Alertmanager" in result.summary
    assert "Watchdog firing at Alertmanager" in result.summary
    assert result.evidence["notifications"]["failed"]["slack"] >= 1


async def test_prometheus_without_alertmanager_and_no_watchdog_fail(tmp_path, stacks):
    stack = start_stack(tmp_path, f"http://127.0.0.1:{free_port()}", alerting=False, watchdog=False)
    stacks.append(stack)
    # Ready to judge once Prometheus has two scrapes of Alertmanager (increase() needs them).
    await eventually(
        lambda: prom_value(stack.prom, "count_over_time(alertmanager_build_info[1m])") >= 2,
        "two scrapes of Alertmanager",
    )
    result = await alerting(tmp_path, prometheus=stack.prom, alertmanager=stack.am)
    assert result.status is Status.FAIL and not result.error
    assert result.summary.startswith(
        "Prometheus has 0 active Alertmanagers, expected at least 1; "
        "no Watchdog alert at Alertmanager, expected it firing, updated at most 10m ago; "
    )
    assert result.summary.endswith("no notification requests in the last 1h, none failed")


async def test_no_data_for_the_notification_counters_cannot_judge(tmp_path, receiver, stacks):
    stack = start_stack(tmp_path, receiver.url)
    stacks.append(stack)
    result = await alerting(
        tmp_path,
        prometheus=stack.prom,
        checks=["notifications"],
        notifications={"selector": 'job="not-scraped"'},
    )
    assert (result.status, result.error) == (Status.FAIL, True)
    assert result.summary == (
        'cannot judge notifications: no alertmanager_notification_requests_total{job="not-scraped"}'
        " series in Prometheus (does it scrape Alertmanager?)"
    )


async def test_unreachable_prometheus_and_alertmanager_fail_with_their_address(tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"
    result = await alerting(tmp_path, prometheus=closed, alertmanager=closed)
    assert result.status is Status.FAIL and not result.error
    assert f"Prometheus unreachable (connection refused) at {closed}/api/v1/alertmanagers" in (
        result.summary
    )
    assert f"Alertmanager unreachable (connection refused) at {closed}/api/v2/alerts" in (
        result.summary
    )


# The judging functions, on the APIs' answer shapes. -------------------------------------------

NOW = 1_800_000_000.0


def rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def watchdog_alert(updated: float, ends: float, state: str = "active") -> dict[str, Any]:
    return {
        "labels": {"alertname": "Watchdog", "severity": "none"},
        "startsAt": rfc3339(updated - 3600),
        "updatedAt": rfc3339(updated),
        "endsAt": rfc3339(ends),
        "status": {"state": state, "silencedBy": [], "inhibitedBy": []},
    }


def test_watchdog_recent_passes_stale_or_resolved_or_future_fails():
    wd = Watchdog(max_age=600)
    assert judge_watchdog([watchdog_alert(NOW - 30, NOW + 60)], wd, NOW).status is Status.PASS
    stale = judge_watchdog([watchdog_alert(NOW - 1500, NOW + 60)], wd, NOW)
    assert stale.status is Status.FAIL
    assert stale.text.startswith("Watchdog last updated at Alertmanager 25 minutes ago")
    resolved = judge_watchdog([watchdog_alert(NOW - 30, NOW - 10)], wd, NOW)
    assert resolved.status is Status.FAIL and "is resolved" in resolved.text
    future = judge_watchdog([watchdog_alert(NOW + 86400, NOW + 90000)], wd, NOW)
    assert future.status is Status.FAIL and "wrong clock" in future.text
    silenced = judge_watchdog([watchdog_alert(NOW - 5, NOW + 60, "suppressed")], wd, NOW)
    assert silenced.status is Status.PASS and "(silenced)" in silenced.text
    other = [{**watchdog_alert(NOW, NOW + 60), "labels": {"alertname": "DeadMansSwitch"}}]
    assert judge_watchdog(other, wd, NOW).status is Status.FAIL


def test_active_alertmanagers_count_dropped_and_match_by_address():
    doc = {"status": "success", "data": {"activeAlertmanagers": [], "droppedAlertmanagers": [{}]}}
    check = judge_active_alertmanagers(doc, None)
    assert check.text == (
        "Prometheus has 0 active Alertmanagers (1 dropped by relabeling), expected at least 1"
    )
    doc = {"data": {"activeAlertmanagers": [{"url": "http://AM.example:80/api/v2/alerts"}]}}
    assert judge_active_alertmanagers(doc, "http://am.example").status is Status.PASS
    assert judge_active_alertmanagers(doc, "https://am.example").status is Status.FAIL


def vector(counts: dict[str, float]) -> list[dict[str, Any]]:
    return [{"metric": {"integration": k}, "value": [NOW, str(v)]} for k, v in counts.items()]


def test_notifications_some_failed_is_partial_all_failed_is_fail():
    n = Notifications(window=3600)
    mixed = judge_notifications(vector({"slack": 14, "email": 0}), vector({"slack": 2}), n)
    assert (mixed.status, mixed.text) == (
        Status.PARTIAL,
        "slack: 2 of 14 notifications failed in the last 1h",
    )
    dead = judge_notifications(vector({"slack": 11.6}), vector({"slack": 11.6}), n)
    assert (dead.status, dead.text) == (
        Status.FAIL,
        "slack: 12 notifications failed in the last 1h, 0 sent",
    )


def test_notifications_for_an_integration_alertmanager_does_not_know_cannot_judge():
    check = judge_notifications(
        vector({"slack": 1, "email": 0}),
        vector({"slack": 0, "email": 0}),
        Notifications(integrations=("slak",)),
    )
    assert check.error and check.text == (
        "cannot judge notifications: Alertmanager reports no integration slak (it has email, slack)"
    )


def test_combine_a_verdict_outranks_a_check_that_could_not_judge():
    failing = Check(Status.FAIL, "Prometheus has 0 active Alertmanagers, expected at least 1")
    unknown = Check(Status.FAIL, "cannot judge notifications: ...", error=True)
    fine = Check(Status.PASS, "Watchdog firing")
    result = combine({"active_alertmanager": failing, "notifications": unknown, "watchdog": fine})
    assert (result.status, result.error) == (Status.FAIL, False)
    assert result.summary.startswith("Prometheus has 0 active")
    result = combine({"notifications": unknown, "watchdog": fine})
    assert (result.status, result.error) == (Status.FAIL, True)
    assert combine({"watchdog": fine}).status is Status.PASS


def test_config_errors_name_the_field(tmp_path):
    assert config_error({"alerting": {}}, tmp_path).endswith(
        "alerting.prometheus or alertmanager is required: the checks ask one or both"
    )
    assert config_error(
        {"alerting": {"alertmanager": "http://am:9093", "checks": ["notifications"]}}, tmp_path
    ).endswith("alerting.checks notifications needs prometheus: give its URL")
    assert config_error(
        {"alerting": {"prometheus": "http://p:9090", "checks": ["pager"]}}, tmp_path
    ).endswith(
        "alerting.checks[0] must be one of active_alertmanager, watchdog, notifications "
        '(got "pager")'
    )
    assert config_error(
        {"alerting": {"prometheus": "http://p", "notifications": {"selector": "{job='x'}"}}},
        tmp_path,
    ).endswith(
        "alerting.notifications.selector must be label matchers without braces, "
        """such as job="alertmanager" (got "{job='x'}")"""
    )
    assert config_error(
        {"alerting": {"prometheus": "http://p", "watchdog": {"max_age": "soon"}}}, tmp_path
    ).endswith(
        'alerting.watchdog.max_age must be a duration such as 30s, 5m, 1h or 90d (got "soon")'
    )
