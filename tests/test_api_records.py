"""``POST /api/v1/...``: people's records over HTTP, on a real store. Who may write (basic-auth
users, loopback with --web.enable-write-api, nobody otherwise), the Origin check, JSON only, the
answers for every mistake, and the authenticated user recorded beside the name given."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import bcrypt
import pytest
from support.servers import serve_app

from exporter.daemon import Daemon
from exporter.store import Store
from exporter.web.api import WritePolicy
from exporter.web.app import build_app
from exporter.web.webconfig import WebConfig

CONFIG = """
checklist: {name: API test}
categories:
  - id: sec
    items:
      - {id: A-1, title: present, priority: critical, probe: {file: {path: config.yaml}}}
      - {id: A-2, title: signed, priority: high, probe: {attestation: {file: att/A-2.yaml}}}
"""
PASSWORD = "s3cret-Pa55word"


def basic(user: str, password: str = PASSWORD) -> str:
    """An Authorization header's value."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return f"Basic {token}"


@contextlib.asynccontextmanager
async def serving(
    path: Path, policy: WritePolicy, users: tuple[str, ...] = ()
) -> AsyncIterator[tuple[Daemon, str]]:
    daemon = Daemon(path, env={})
    app = build_app(daemon, write_policy=policy)
    if users:
        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4))
        WebConfig(path, users=dict.fromkeys(users, hashed)).protect(app)
    async with serve_app(app) as base:
        try:
            yield daemon, base
        finally:
            await daemon.engine.stop()
            daemon.close()


async def post(
    base: str, path: str, body: object, auth: str | None = None, **headers: str
) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        data = body if isinstance(body, str) else json.dumps(body)
        headers["Content-Type"] = headers.pop("content_type", "application/json")
        if auth is not None:
            headers["Authorization"] = auth
        async with session.post(base + path, data=data, headers=headers) as resp:
            text = await resp.text()
            return resp.status, json.loads(text) if text.startswith("{") else {"text": text}


@pytest.fixture
def config_path(write_config):
    return write_config(CONFIG)


async def test_an_authenticated_user_records_and_is_recorded_beside_the_name(config_path):
    async with serving(config_path, WritePolicy(), users=("alice", "prometheus")) as (daemon, base):
        await daemon.engine.run_round()
        status, doc = await post(
            base,
            "/api/v1/items/A-1/risk-acceptance",
            {
                "by": "Alice Smith",
                "impact": "high",
                "probability": "low",
                "mitigation": "WAF rule in front",
                "expires": "30d",
            },
            basic("alice"),
        )
        assert status == 201, doc
        assert (doc["by"], doc["user"], doc["impact"]) == ("Alice Smith", "alice", "high")
        # The exporter shows it at once: the metric the alert rules read.
        snap = daemon.snapshot()
        assert snap.states["A-1"].records.risk is not None
        assert snap.states["A-1"].records.risk.accepted == 1

        status, doc = await post(
            base, "/api/v1/signoffs/security%20lead", {"by": "Sue"}, basic("alice")
        )
        assert status == 201, doc
        assert doc["role"] == "Security Lead" and doc["user"] == "alice"
        assert doc["given_for"]["decision"] == daemon.snapshot().scores.decision.value
        assert daemon.snapshot().launch.signatures[2].counts
        status, doc = await post(
            base, "/api/v1/signoffs/Security%20Lead/revoke", {"by": "Sue"}, basic("alice")
        )
        assert status == 201, doc
        assert (doc["revoked_by"], doc["revoked_user"]) == ("Sue", "alice")
        assert not daemon.snapshot().launch.signatures[2].counts
        status, doc = await post(
            base, "/api/v1/signoffs/Security%20Lead/revoke", {"by": "Sue"}, basic("alice")
        )
        assert (status, doc["error"]) == (400, "Security Lead has no signature to revoke"), doc

        status, doc = await post(
            base,
            "/api/v1/items/A-2/attestation",
            {"status": "pass", "by": "Jane Doe", "evidence": ["drill log"]},
            basic("alice"),
        )
        assert status == 201, doc
        await daemon.engine.run_round(["A-2"])
        assert daemon.snapshot().states["A-2"].result.evidence["source"] == "store"

        status, doc = await post(
            base,
            "/api/v1/decision",
            {"decision": "go", "by": "Carla", "launch": "2026-12-01T14:00:00Z"},
            basic("alice"),
        )
        assert status == 201, doc
        assert (doc["decision"], doc["computed"], doc["launch_at"]) == (
            "go",
            "go",  # PASS
            "2026-12-01T14:00:00Z",
        )
        status, doc = await post(
            base,
            "/api/v1/items/A-1/remediation",
            {"by": "Bob", "link": "https://tickets.example/OPS-1"},
            basic("alice"),
        )
        assert status == 201 and doc["remediation"] == "https://tickets.example/OPS-1"
        status, doc = await post(
            base, "/api/v1/items/A-1/risk-acceptance/revoke", {"by": "Alice"}, basic("alice")
        )
        assert status == 201 and doc["revoked_user"] == "alice"
    with Store.open(config_path.parent / "data") as store:
        audited = [(e.action, e.by, e.user) for e in store.audit_log() if e.user]
    assert audited == [
        ("accept_risk", "Alice Smith", "alice"),
        ("sign", "Sue", "alice"),
        ("revoke_signoff", "Sue", "alice"),
        ("attest", "Jane Doe", "alice"),
        ("decide", "Carla", "alice"),
        ("remediate", "Bob", "alice"),
        ("revoke_risk", "Alice", "alice"),
    ]


async def test_write_users_limits_who_may_record(config_path):
    policy = WritePolicy(users=frozenset({"alice"}))
    async with serving(config_path, policy, users=("alice", "prometheus")) as (_, base):
        body = {"by": "P", "link": "x"}
        status, doc = await post(base, "/api/v1/items/A-1/remediation", body, basic("prometheus"))
        assert status == 403 and "may not record" in doc["error"]
        status, _ = await post(base, "/api/v1/items/A-1/remediation", body)
        assert status == 401  # no credentials at all


async def test_without_users_nobody_writes_unless_loopback_is_allowed(config_path):
    body = {"by": "Bob", "text": "fix nginx"}
    async with serving(config_path, WritePolicy()) as (_, base):
        status, doc = await post(base, "/api/v1/items/A-1/remediation", body)
        assert status == 403
        assert "needs an authenticated user" in doc["error"]
    async with serving(config_path, WritePolicy(loopback=True)) as (_, base):
        status, doc = await post(base, "/api/v1/items/A-1/remediation", body)
        assert status == 201 and doc["user"] is None


async def test_mistakes_get_the_answer_that_says_what_is_wrong(config_path):
    async with serving(config_path, WritePolicy(loopback=True)) as (daemon, base):
        risk = {
            "by": "S",
            "impact": "huge",
            "probability": "low",
            "mitigation": "m",
            "expires": "1d",
        }
        cases = [
            ("/api/v1/items/NOPE/remediation", {"by": "B", "text": "t"}, 404, "unknown item NOPE"),
            ("/api/v1/signoffs/Janitor", {"by": "B"}, 503, "first round"),
            ("/api/v1/items/A-1/risk-acceptance", risk, 400, "impact must be one of"),
            ("/api/v1/items/A-1/remediation", {"text": "t"}, 400, "by is required"),
            ("/api/v1/items/A-1/remediation", {"by": 5, "text": "t"}, 400, "by must be a string"),
            ("/api/v1/items/A-1/remediation", "[1]", 400, "must be a JSON object"),
            ("/api/v1/items/A-1/remediation", "{", 400, "not valid JSON"),
            ("/api/v1/items/A-1/attestation", {"status": "pass", "by": "J"}, 400, "no attestation"),
            ("/api/v1/items/A-1/risk-acceptance/revoke", {"by": "B"}, 400, "no risk acceptance"),
        ]
        for path, body, code, text in cases:
            status, doc = await post(base, path, body)
            assert (status, text in doc.get("error", "")) == (code, True), (path, doc)
        await daemon.engine.run_round()
        status, doc = await post(base, "/api/v1/signoffs/Janitor", {"by": "B"})
        assert status == 404 and "the sign-off roles are" in doc["error"]
        status, doc = await post(
            base, "/api/v1/items/A-1/remediation", "by=B", content_type="text/plain"
        )
        assert status == 415


async def test_a_post_from_another_site_is_refused_before_anything_is_recorded(config_path):
    async with serving(config_path, WritePolicy(loopback=True)) as (_, base):
        status, doc = await post(
            base,
            "/api/v1/items/A-1/remediation",
            {"by": "Mallory", "text": "nothing to fix"},
            Origin="https://evil.example",
        )
        assert status == 403 and "from another site" in doc["text"]
    with Store.open(config_path.parent / "data") as store:
        assert store.people().remediations == {}
