"""The config's ``tls: {ca_file: ...}``: a private CA every TLS client of the probes trusts.

Real servers on loopback with certificates from a private CA made by trustme: an https item and
a tls item that name no CA of their own PASS with the global one, FAIL with a clear "not
trusted" without it, and an item's own ca_file still wins.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web

from exporter.config import ConfigError, parse
from exporter.engine import Engine
from probes.result import Result, Status


@pytest.fixture(scope="module")
def private_ca() -> trustme.CA:
    return trustme.CA(organization_name="Private CA of the tests")


@asynccontextmanager
async def https_server(ca: trustme.CA) -> AsyncIterator[str]:
    """An https server on loopback whose certificate the private CA signed: host:port."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(ctx)

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def _doc(target: str, tls: dict[str, Any] | None, own_ca: str | None = None) -> dict[str, Any]:
    own = {"ca_file": own_ca} if own_ca else {}
    items = [
        {
            "id": "S-011",
            "title": "HTTPS answers",
            "priority": "critical",
            "probe": {"http": {"url": f"https://{target}/health", **own}},
        },
        {
            "id": "S-012",
            "title": "Valid certificate",
            "priority": "critical",
            "probe": {"tls": {"target": target, "judge": "certificate", **own}},
        },
    ]
    doc: dict[str, Any] = {"categories": [{"id": "sec", "title": "Security", "items": items}]}
    if tls is not None:
        doc["tls"] = tls
    return doc


async def _results(doc: dict[str, Any], base: Path, env: dict[str, str]) -> dict[str, Result]:
    engine = Engine(parse(doc, base / "config.yaml", env))
    try:
        states = {i: await engine.run_item(i) for i in ("S-011", "S-012")}
    finally:
        await engine.resources.aclose()
    return {i: s.result for i, s in states.items() if s.result is not None}


async def test_items_trust_the_configs_private_ca(private_ca, tmp_path):
    private_ca.cert_pem.write_to_path(str(tmp_path / "private-ca.pem"))
    async with https_server(private_ca) as target:
        trusted = await _results(_doc(target, {"ca_file": "private-ca.pem"}), tmp_path, {})
        from_variable = await _results(
            _doc(target, {"ca_file": "${TLS_CA_FILE:-}"}),
            tmp_path,
            {"TLS_CA_FILE": str(tmp_path / "private-ca.pem")},
        )
        without = await _results(_doc(target, {"ca_file": "${TLS_CA_FILE:-}"}), tmp_path, {})
    for results in (trusted, from_variable):
        assert {i: r.status for i, r in results.items()} == {
            "S-011": Status.PASS,
            "S-012": Status.PASS,
        }, {i: r.summary for i, r in results.items()}
    for item_id, result in without.items():
        assert result.status is Status.FAIL, (item_id, result.summary)
        assert "certificate not trusted" in result.summary, (item_id, result.summary)


async def test_an_items_own_ca_file_wins(private_ca, tmp_path):
    """An item that names its own CA trusts that one, not the config's."""
    other = trustme.CA(organization_name="Another CA")
    private_ca.cert_pem.write_to_path(str(tmp_path / "private-ca.pem"))
    other.cert_pem.write_to_path(str(tmp_path / "other-ca.pem"))
    async with https_server(private_ca) as target:
        results = await _results(
            _doc(target, {"ca_file": "private-ca.pem"}, own_ca="other-ca.pem"), tmp_path, {}
        )
    assert all(r.status is Status.FAIL for r in results.values()), results
    assert "certificate not trusted" in results["S-011"].summary


@pytest.mark.parametrize(
    ("tls", "message"),
    [
        ({"ca_file": "missing.pem"}, "config.yaml: tls: ca_file "),
        ({"ca": "x.pem"}, "config.yaml: tls: ca is not a known field (known: ca_file)"),
        ("x.pem", 'config.yaml: tls: must be a mapping with ca_file (got "x.pem")'),
    ],
)
def test_a_bad_tls_setting_is_located(tmp_path, tls, message):
    with pytest.raises(ConfigError) as info:
        parse(_doc("127.0.0.1:1", tls), tmp_path / "config.yaml", {})
    assert len(info.value.errors) == 1 and info.value.errors[0].startswith(message), info.value


async def test_a_reload_changes_which_ca_is_trusted(private_ca, tmp_path):
    """The engine keeps its resources across reloads; the trusted CA follows the config."""
    private_ca.cert_pem.write_to_path(str(tmp_path / "private-ca.pem"))
    async with https_server(private_ca) as target:
        engine = Engine(parse(_doc(target, None), tmp_path / "config.yaml", {}))
        try:
            before = (await engine.run_item("S-011")).result
            engine.reload(
                parse(_doc(target, {"ca_file": "private-ca.pem"}), tmp_path / "config.yaml", {})
            )
            after = (await engine.run_item("S-011")).result
        finally:
            await engine.resources.aclose()
    assert before is not None and "certificate not trusted" in before.summary, before
    assert after is not None and after.status is Status.PASS, after.summary
