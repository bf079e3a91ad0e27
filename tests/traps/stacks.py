"""Real Prometheus and Alertmanager on loopback, fed by small metric servers, for the items that
ask them: PromQL items (``APP_JOB``, ``NODE_JOB``, ``REDIS_JOB`` pick a good or a bad job of one
Prometheus), loaded-rule items (a Prometheus with good rules and one with bad), alerting items.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from support.procs import Process, free_port, http_get, start_alertmanager, start_prometheus

BOUND = 90.0  # seconds a wait below may take at most on a loaded machine

Exposition = Callable[[int], str]  # scrape number -> metrics text (counters grow per scrape)


class MetricsTarget:
    """A loopback /metrics endpoint whose text may change at every scrape."""

    def __init__(self, exposition: Exposition):
        self.scrapes = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.scrapes += 1
                body = exposition(owner.scrapes).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


DOWN = "down"  # a target nobody listens on: up == 0


def query(prom: str, expr: str) -> list[dict[str, Any]]:
    status, body = http_get(f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    assert status == 200, body
    return json.loads(body)["data"]["result"]


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} not after {BOUND:g}s")


@dataclass
class Prometheus:
    url: str
    procs: list[Process] = field(default_factory=list)
    targets: list[MetricsTarget] = field(default_factory=list)
    began: float = 0.0  # when a backfilled past ends and the live scrapes begin (epoch seconds)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        for target in self.targets:
            target.close()


def start_scraping(
    workdir: Path,
    jobs: Mapping[str, list[Exposition | str]],
    rules: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Prometheus:
    """Prometheus scraping each job's targets every second, evaluating ``rules`` every second;
    returns once every job has three scrapes and every rule has been evaluated."""
    targets: dict[str, list[str]] = {}
    started: list[MetricsTarget] = []
    for job, exposures in jobs.items():
        for exposure in exposures:
            if exposure == DOWN:
                targets.setdefault(job, []).append(f"127.0.0.1:{free_port()}")
            else:
                assert callable(exposure)
                started.append(MetricsTarget(exposure))
                targets.setdefault(job, []).append(started[-1].address)
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": addresses}]}
            for job, addresses in targets.items()
        ],
        **(extra or {}),
    }
    workdir.mkdir(parents=True, exist_ok=True)
    if rules:
        (workdir / "rules.yml").write_text(yaml.safe_dump(rules))
        config["rule_files"] = ["rules.yml"]
    try:
        proc, url = start_prometheus(workdir, yaml.safe_dump(config))
    except BaseException:
        for target in started:
            target.close()
        raise
    prom = Prometheus(url, [proc], started)
    try:
        for job in targets:
            wait_until(
                lambda job=job: bool(
                    query(url, f'min(count_over_time(up{{job="{job}"}}[1m])) >= 3')
                ),
                f"three scrapes of {job}",
            )
        if rules:
            wait_until(lambda: rules_evaluated(url), "every rule evaluated")
    except BaseException:
        prom.stop()
        raise
    return prom


def rules_evaluated(prom: str) -> bool:
    status, body = http_get(f"{prom}/api/v1/rules")
    groups = json.loads(body)["data"]["groups"] if status == 200 else []
    return bool(groups) and all(
        rule.get("health") in ("ok", "err") for g in groups for rule in g["rules"]
    )


def alert(name: str, expr: str, runbook: bool | str = True) -> dict[str, Any]:
    """An alerting rule; ``runbook``: a link to its runbook, none (False), or this text."""
    rule: dict[str, Any] = {"alert": name, "expr": expr, "labels": {"severity": "critical"}}
    if runbook:
        url = runbook if isinstance(runbook, str) else f"https://runbooks.example/{name}"
        rule["annotations"] = {"runbook_url": url}
    return rule


# Alerting: Prometheus -> Alertmanager -> receivers -----------------------------------------------


class Receiver:
    """A loopback HTTP server that answers 2xx to every POST (Slack's and PagerDuty's APIs)."""

    def __init__(self) -> None:
        self.posts: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                owner.posts.append(self.path)
                body = b'{"status":"success","message":"Event processed"}'
                self.send_response(202 if "pagerduty" in self.path else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


WATCHDOG = {
    "groups": [
        {
            "name": "meta",
            "rules": [{"alert": "Watchdog", "expr": "vector(1)", "labels": {"severity": "none"}}],
        }
    ]
}


def alertmanager_config(target: str, pagerduty: bool) -> str:
    receiver: dict[str, Any] = {
        "name": "team",
        "slack_configs": [{"api_url": f"{target}/slack", "channel": "#ops"}],
    }
    if pagerduty:
        receiver["pagerduty_configs"] = [
            {"routing_key": "0123456789abcdef0123456789abcdef", "url": f"{target}/pagerduty"}
        ]
    return yaml.safe_dump(
        {
            "route": {
                "receiver": "team",
                "group_wait": "0s",
                "group_interval": "1s",
                # Again every few seconds: the first delivery can come before Prometheus's first
                # scrape of Alertmanager, and increase() does not count a counter's first value.
                "repeat_interval": "3s",
            },
            "receivers": [receiver],
        }
    )


@dataclass
class AlertingStack:
    prometheus: str
    alertmanager: str
    procs: list[Process]

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


def prometheus_for(workdir: Path, am_url: str, alerting: bool = True) -> tuple[Process, str]:
    """A Prometheus with the Watchdog rule that scrapes the Alertmanager at ``am_url`` and, when
    ``alerting``, sends it alerts (re-sent every second, so tests wait seconds)."""
    workdir.mkdir(parents=True)
    (workdir / "rules.yml").write_text(yaml.safe_dump(WATCHDOG))
    address = am_url.removeprefix("http://")
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["rules.yml"],
        "scrape_configs": [
            {"job_name": "alertmanager", "static_configs": [{"targets": [address]}]}
        ],
    }
    if alerting:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [address]}]}]}
    return start_prometheus(
        workdir, yaml.safe_dump(config), extra=["--rules.alert.resend-delay=1s"]
    )


def start_alerting(workdir: Path, receivers_at: str, pagerduty: bool = True) -> AlertingStack:
    """Alertmanager (Slack, and PagerDuty when asked, at ``receivers_at``) and a Prometheus
    that sends it alerts, among them an always-firing Watchdog."""
    am, am_url = start_alertmanager(workdir / "am", alertmanager_config(receivers_at, pagerduty))
    try:
        prom, prom_url = prometheus_for(workdir / "prom", am_url)
    except BaseException:
        am.stop()
        raise
    return AlertingStack(prom_url, am_url, [am, prom])


def notifications_done(prom: str, integrations: tuple[str, ...]) -> bool:
    """Prometheus has seen Alertmanager complete a request (sent or failed) per integration, as
    the alerting kind reads it: an increase over the window, not a counter's first value."""
    for integration in integrations:
        found = query(
            prom,
            f'increase(alertmanager_notification_requests_total{{integration="{integration}"}}[1h])',
        )
        if not found or float(found[0]["value"][1]) < 1:
            return False
    return True


def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}"
