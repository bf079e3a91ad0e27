"""``POST /api/v1/...``: what people record, over HTTP, for an exporter in a container or a
cluster whose config and store are out of reach. The same checks as the command line
(exporter/process.py), the same store, audited with the authenticated user beside the name
given.

- ``/api/v1/items/<ID>/attestation``: status, by, evidence (a list), notes, expires
- ``/api/v1/items/<ID>/risk-acceptance``: by, impact, probability, mitigation, expires, notes
- ``/api/v1/items/<ID>/risk-acceptance/revoke``: by
- ``/api/v1/items/<ID>/remediation``: by, link or text (empty clears)
- ``/api/v1/signoffs/<role>``: by, notes
- ``/api/v1/signoffs/<role>/revoke``: by
- ``/api/v1/decision``: decision, by, launch, notes

Each body is a JSON object with the command line's fields.

Answers: 201 with the record; 400 naming the field that is wrong; 403 when this client may not
write; 404 for an unknown item or role; 415 for a body that is not JSON; 503 while the exporter
is still on its first round (signatures and decisions are stamped with the live state) or when
the store cannot be written.

Who may write (docs/security.md):

- with ``basic_auth_users`` in the web config, an authenticated user (those of
  ``--web.write-users`` when given); the user is recorded beside ``by``;
- without them, nobody, unless ``--web.enable-write-api`` is given: then clients connecting
  from a loopback address (127.0.0.1, ::1), recorded without a user. A reverse proxy on the
  same host is such a client: put authentication in front of it, or use basic auth.

State-changing requests from another site are refused by the app's Origin check, and a body
must be ``application/json``, which a cross-site form cannot send without the browser asking.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from .. import process
from ..daemon import daemon_of
from ..formatting import rfc3339
from ..launch import (
    Attestation,
    DecisionRecord,
    RecordError,
    Remediation,
    RiskAcceptance,
    SignOff,
)
from ..render import json as json_doc
from ..store import Store, StoreError
from . import urls as paths
from .urls import Urls
from .webconfig import AUTH_USER

T = TypeVar("T")


@dataclass(frozen=True)
class WritePolicy:
    """Who may record through the API (``--web.enable-write-api``, ``--web.write-users``)."""

    loopback: bool = False  # without basic-auth users: unauthenticated clients on loopback
    users: frozenset[str] | None = None  # authenticated users allowed; None: every one


WRITE_POLICY = web.AppKey("write_policy", WritePolicy)


def add_routes(app: web.Application, urls: Urls, policy: WritePolicy) -> None:
    app[WRITE_POLICY] = policy
    app.router.add_post(urls.route(paths.ATTESTATION_API), attestation)
    app.router.add_post(urls.route(paths.RISK_API), risk_acceptance)
    app.router.add_post(urls.route(paths.REVOKE_RISK_API), revoke_risk)
    app.router.add_post(urls.route(paths.REMEDIATION_API), remediation)
    app.router.add_post(urls.route(paths.SIGNOFF_API), signoff)
    app.router.add_post(urls.route(paths.REVOKE_SIGNOFF_API), revoke_signoff)
    app.router.add_post(urls.route(paths.DECISION_API), decision)


# --- who, and what they sent --------------------------------------------------------------


def writer(request: web.Request) -> str | None:
    """The authenticated user allowed to write, None for an allowed loopback client; raises
    403 otherwise."""
    policy = request.app[WRITE_POLICY]
    user: str | None = request.get(AUTH_USER)
    if user is not None:
        if policy.users is not None and user not in policy.users:
            raise _error(web.HTTPForbidden, f"user {user} may not record (--web.write-users)")
        return user
    if policy.loopback and _loopback(request.remote):
        return None
    raise _error(
        web.HTTPForbidden,
        "recording needs an authenticated user: set basic_auth_users in --web.config.file "
        "(docs/security.md), or use the command line on the store; --web.enable-write-api "
        "lets clients on this host write without one",
    )


def _loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


async def _body(request: web.Request) -> Mapping[str, Any]:
    if request.content_type != "application/json":
        raise _error(
            web.HTTPUnsupportedMediaType,
            f"the body must be JSON (Content-Type: application/json, got {request.content_type})",
        )
    try:
        body = json.loads(await request.text())
    except ValueError as exc:
        raise _error(web.HTTPBadRequest, f"the body is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise _error(web.HTTPBadRequest, "the body must be a JSON object")
    return body


def _text(body: Mapping[str, Any], name: str, required: bool = False) -> str:
    value = body.get(name)
    if value is None:
        if required:
            raise RecordError(f"{name} is required")
        return ""
    if not isinstance(value, str):
        raise RecordError(f"{name} must be a string")
    return value


def _texts(body: Mapping[str, Any], name: str) -> list[str]:
    value = body.get(name) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RecordError(f"{name} must be a list of strings")
    return value


def _error(kind: type[web.HTTPException], text: str) -> web.HTTPException:
    return kind(
        text=json.dumps({"error": text}),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def _record(request: web.Request, write: Callable[[Store], T]) -> T:
    """Run ``write`` on the daemon's store; its errors as HTTP answers."""
    try:
        return await daemon_of(request).record(write)
    except process.NotFound as exc:
        raise _error(web.HTTPNotFound, str(exc)) from None
    except RecordError as exc:
        raise _error(web.HTTPBadRequest, str(exc)) from None
    except StoreError as exc:
        raise _error(web.HTTPServiceUnavailable, str(exc)) from None


def _created(doc: Mapping[str, Any]) -> web.Response:
    return web.Response(
        status=201,
        text=json_doc.dumps(doc),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _live(request: web.Request) -> None:
    """Signatures and decisions need the live state: not the PENDING of the first round."""
    snap = daemon_of(request).snapshot()
    if not snap.ready:
        probed = [s for s in snap.states.values() if s.item.probed]
        done = sum(s.checked_at is not None for s in probed)
        raise _error(
            web.HTTPServiceUnavailable,
            f"the exporter is still on its first round ({done} of {len(probed)} items probed): "
            "try again once /-/ready answers 200",
        )


# --- the records --------------------------------------------------------------------------


async def attestation(request: web.Request) -> web.Response:
    user = writer(request)
    body = await _body(request)
    item = request.match_info["id"]
    checklist, now = daemon_of(request).checklist, time.time()

    def write(store: Store) -> Attestation:
        return process.attest(
            store,
            checklist,
            item,
            _text(body, "status", True),
            _text(body, "by", True),
            user,
            _texts(body, "evidence"),
            _text(body, "notes"),
            _text(body, "expires") or None,
            now,
        )

    return _created(attestation_json(await _record(request, write)))


async def risk_acceptance(request: web.Request) -> web.Response:
    user = writer(request)
    body = await _body(request)
    item = request.match_info["id"]
    checklist, now = daemon_of(request).checklist, time.time()

    def write(store: Store) -> RiskAcceptance:
        return process.accept_risk(
            store,
            checklist,
            item,
            _text(body, "by", True),
            user,
            _text(body, "impact", True),
            _text(body, "probability", True),
            _text(body, "mitigation", True),
            _text(body, "expires", True),
            _text(body, "notes"),
            now,
        )

    return _created(acceptance_json(await _record(request, write)))


async def revoke_risk(request: web.Request) -> web.Response:
    user = writer(request)
    body = await _body(request)
    item = request.match_info["id"]
    checklist, now = daemon_of(request).checklist, time.time()

    def write(store: Store) -> RiskAcceptance:
        return process.revoke_risk(store, checklist, item, _text(body, "by", True), user, now)

    return _created(acceptance_json(await _record(request, write)))


async def remediation(request: web.Request) -> web.Response:
    user = writer(request)
    body = await _body(request)
    item = request.match_info["id"]
    checklist, now = daemon_of(request).checklist, time.time()

    def write(store: Store) -> Remediation:
        if "link" in body and "text" in body:
            raise RecordError("give link or text, not both")
        text = _text(body, "link") or _text(body, "text")
        return process.remediate(store, checklist, item, text, _text(body, "by", True), user, now)

    return _created(remediation_json(await _record(request, write)))


async def signoff(request: web.Request) -> web.Response:
    user = writer(request)
    body = await _body(request)
    _live(request)
    role = request.match_info["role"]
    daemon = daemon_of(request)
    checklist, stamp, now = daemon.checklist, daemon.snapshot().launch.stamp, time.time()

    def write(store: Store) -> SignOff:
        return process.sign(
            store,
            checklist,
            role,
            _text(body, "by", True),
            user,
            _text(body, "notes"),
            stamp,
            now,
        )

    return _created(signoff_json(await _record(request, write)))


async def revoke_signoff(request: web.Request) -> web.Response:
    user = writer(request)
    body = await _body(request)
    role = request.match_info["role"]
    checklist, now = daemon_of(request).checklist, time.time()

    def write(store: Store) -> SignOff:
        return process.revoke_signoff(store, checklist, role, _text(body, "by", True), user, now)

    return _created(signoff_json(await _record(request, write)))


async def decision(request: web.Request) -> web.Response:
    user = writer(request)
    body = await _body(request)
    _live(request)
    # The decision computed now, the sheet's own items counted as given (as for a signature).
    computed, now = daemon_of(request).snapshot().launch.stamp.decision, time.time()

    def write(store: Store) -> DecisionRecord:
        return process.decide(
            store,
            _text(body, "decision", True),
            _text(body, "by", True),
            user,
            computed,
            _text(body, "launch") or None,
            _text(body, "notes"),
            now,
        )

    return _created(decision_json(await _record(request, write)))


# --- the records as JSON ------------------------------------------------------------------


def attestation_json(a: Attestation) -> dict[str, Any]:
    return {
        "item": a.item,
        "status": a.status.value,
        "by": a.by,
        "user": a.user,
        "signed_at": rfc3339(a.signed_at),
        "evidence": list(a.evidence),
        "notes": a.notes,
        "expires_at": rfc3339(a.expires_at),
    }


def acceptance_json(a: RiskAcceptance) -> dict[str, Any]:
    return {
        "item": a.item,
        "by": a.by,
        "user": a.user,
        "impact": a.impact.value,
        "probability": a.probability.value,
        "mitigation": a.mitigation,
        "notes": a.notes,
        "recorded_at": rfc3339(a.recorded_at),
        "expires_at": rfc3339(a.expires_at),
        "revoked_at": rfc3339(a.revoked_at),
        "revoked_by": a.revoked_by,
        "revoked_user": a.revoked_user,
    }


def remediation_json(r: Remediation) -> dict[str, Any]:
    return {"item": r.item, "remediation": r.text, "by": r.by, "user": r.user, "at": rfc3339(r.at)}


def signoff_json(s: SignOff) -> dict[str, Any]:
    return {
        "role": s.role,
        "by": s.by,
        "user": s.user,
        "at": rfc3339(s.at),
        "notes": s.notes,
        "given_for": {
            "decision": s.stamp.decision.value,
            "total_score": None if s.stamp.total is None else float(s.stamp.total),
            "critical_score": None if s.stamp.critical is None else float(s.stamp.critical),
            "digest": s.stamp.digest,
            "gaps": sorted(s.stamp.gaps),
        },
        "revoked_at": rfc3339(s.revoked_at),
        "revoked_by": s.revoked_by,
        "revoked_user": s.revoked_user,
    }


def decision_json(d: DecisionRecord) -> dict[str, Any]:
    return {
        "decision": d.decision.value,
        "computed": d.computed.value,
        "by": d.by,
        "user": d.user,
        "at": rfc3339(d.at),
        "launch_at": rfc3339(d.launch_at),
        "notes": d.notes,
    }
