"""What the scraped targets of the traps' Prometheus expose, job by job: a good and a bad
version of the application, node_exporter, redis_exporter and a load balancer, in the names
the shipped queries use (prometheus-fastapi-instrumentator, node_exporter, redis_exporter).
Counters grow at every scrape, so ``rate()`` has something to measure.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from traps.stacks import DOWN, alert

Exposition = Callable[[int], str]


def _histogram(n: int) -> str:
    lines = ["# TYPE http_request_duration_seconds histogram"]
    for le, share in (("0.1", 6), ("0.5", 9), ("1.0", 10), ("+Inf", 10)):
        lines.append(
            f'http_request_duration_seconds_bucket{{handler="/book",le="{le}"}} {n * share}'
        )
    lines += [
        f'http_request_duration_seconds_sum{{handler="/book"}} {n * 2.5}',
        f'http_request_duration_seconds_count{{handler="/book"}} {n * 10}',
    ]
    return "\n".join(lines) + "\n"


def app_good(n: int) -> str:
    """Requests with their status (no 5xx at all: an error rate of 0), latency, PMS and
    WhatsApp counters."""
    return (
        "# TYPE http_requests_total counter\n"
        f'http_requests_total{{handler="/book",method="GET",status="2xx"}} {n * 10}\n'
        + _histogram(n)
        + "# TYPE pms_calls_total counter\n"
        f"pms_calls_total {n}\n"
        "# TYPE whatsapp_messages_total counter\n"
        f"whatsapp_messages_total {n}\n"
    )


def app_bad(n: int) -> str:
    """Requests and errors but no latency histogram; 20 % 5xx; two PMS counters, no WhatsApp."""
    return (
        "# TYPE http_requests_total counter\n"
        f'http_requests_total{{handler="/book",method="GET",status="2xx"}} {n * 8}\n'
        f'http_requests_total{{handler="/book",method="GET",status="5xx"}} {n * 2}\n'
        "# TYPE pms_calls_total counter\n"
        f"pms_calls_total {n}\n"
        "# TYPE pms_errors_total counter\n"
        f"pms_errors_total {n}\n"
    )


def app_idle(n: int) -> str:
    """Up and scraped, but no request arrives: a second replica that serves nothing."""
    return app_good(0)


def node(idle: float, available: float, filesystem: bool = True, shrink: float = 0.0):
    def exposition(n: int) -> str:
        text = (
            "# TYPE node_cpu_seconds_total counter\n"
            f'node_cpu_seconds_total{{cpu="0",mode="idle"}} {n * idle}\n'
            f'node_cpu_seconds_total{{cpu="0",mode="user"}} {n * (1 - idle)}\n'
            f"node_memory_MemAvailable_bytes {available * 1e10}\n"
            "node_memory_MemTotal_bytes 1e10\n"
        )
        if filesystem:
            labels = 'device="/dev/vda1",fstype="ext4",mountpoint="/var/lib/postgresql"'
            text += (
                f"node_filesystem_avail_bytes{{{labels}}} {4e10 - n * shrink}\n"
                f"node_filesystem_size_bytes{{{labels}}} 1e11\n"
            )
        return text

    return exposition


def redis(aof_ok: bool, clients: int, hit_share: int, used: float) -> Exposition:
    def exposition(n: int) -> str:
        return (
            "redis_aof_enabled 1\n"
            f"redis_aof_last_write_status {int(aof_ok)}\n"
            "redis_rdb_last_bgsave_status 1\n"
            # idle for three days, nothing changed since: nothing to save (fine)
            f"redis_rdb_last_save_timestamp_seconds {time.time() - 3 * 86400:.0f}\n"
            "redis_rdb_changes_since_last_save 0\n"
            f"redis_connected_clients {clients}\n"
            "redis_config_maxclients 10000\n"
            f"redis_keyspace_hits_total {n * hit_share}\n"
            f"redis_keyspace_misses_total {n * (10 - hit_share)}\n"
            f"redis_memory_used_bytes {used * 2e9}\n"
            "redis_memory_max_bytes 2e9\n"
        )

    return exposition


def lb(active: int) -> Exposition:
    return lambda n: f'haproxy_backend_active_servers{{proxy="api"}} {active}\n'


JOBS: dict[str, list[Exposition | str]] = {
    "app-good": [app_good, app_good],
    "app-bad": [app_bad, DOWN],
    "app-one-serving": [app_good, app_idle],
    "node-good": [node(idle=0.9, available=0.6)],
    "node-bad": [node(idle=0.05, available=0.05, filesystem=False)],
    "node-shrinking": [node(idle=0.9, available=0.6, shrink=1e8)],
    "redis-good": [redis(aof_ok=True, clients=10, hit_share=8, used=0.5)],
    "redis-bad": [redis(aof_ok=False, clients=9000, hit_share=1, used=0.95)],
    "lb-good": [lb(2)],
    "lb-bad": [lb(1)],
}

_APP_RULES = [
    alert("ServiceDown", "up == 0"),
    alert("HighErrorRate", 'sum(rate(http_requests_total{status=~"5.."}[5m])) > 1'),
    alert(
        "ApiLatencyHigh",
        "histogram_quantile(0.95, sum by (le) "
        "(rate(http_request_duration_seconds_bucket[5m]))) > 1",
    ),
    *(alert(f"AppRule{i}", f"vector({i}) > 100") for i in range(7)),
]
GOOD_RULES = {
    "groups": [
        {"name": "agente-api", "rules": _APP_RULES},
        # this exporter's own mixin: neither counted nor judged as the application's
        {"name": "readiness-exporter", "rules": [alert("ReadinessNoGo", "vector(0) > 1", False)]},
    ]
}
BAD_RULES = {
    "groups": [
        # ten healthy rules, all the exporter's own: not the application's detection
        {
            "name": "readiness-exporter",
            "rules": [alert(f"Readiness{i}", "vector(0) > 1") for i in range(10)],
        },
        {
            "name": "agente-api",
            "rules": [
                # loaded, but fails at every evaluation (health: err)
                alert("ServiceDown", "up + on() up == 0"),
                # healthy, no runbook; no latency rule at all
                alert(
                    "HighErrorRate",
                    'sum(rate(http_requests_total{status=~"5.."}[5m])) > 1',
                    runbook=False,
                ),
                # a runbook_url that links nothing
                alert("PmsDown", "vector(0) > 1", runbook="TODO"),
            ],
        },
    ]
}
# Only this exporter's own rules: the application has no alert, so no runbook to link.
OWN_RULES_ONLY = {"groups": [GOOD_RULES["groups"][1]]}
