"""A port that must be closed, tried from this machine: no verdict, whatever the port does.

The trial ran the exporter on the database host with ``PUBLIC_HOST=127.0.0.1``: PostgreSQL's
loopback listener read as open on the "public" address (a false FAIL of S-015), and a port
nothing listens on here reads as closed whatever the firewall does for the internet (a PASS
without evidence). Each case runs beside the same probe with ``local_ok: true`` (a lab whose
"outside" is loopback), which judges, so the only difference is where the probe stands.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import AsyncIterator

import pytest
from support.probing import config_error, run
from support.servers import closed_port, silent_tcp

from probes import vantage
from probes.result import Status

WHY = "is this machine; a firewall is judged from outside the network"


def closed(target: str, **extra: object) -> dict:
    return {"tcp": {"target": target, "expect": "closed", **extra}}


def own_address() -> str | None:
    """An address of this machine that is not loopback: the source of its default route."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("203.0.113.1", 9))  # TEST-NET-3: nothing is sent
        except OSError:
            return None
        address = s.getsockname()[0]
    return None if address.startswith("127.") else address


@contextlib.asynccontextmanager
async def listening_everywhere() -> AsyncIterator[int]:
    """A port open on every address of this machine (0.0.0.0), as a database's often is."""
    server = await asyncio.start_server(lambda r, w: w.close(), "0.0.0.0", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_loopback_open_or_closed_cannot_be_judged(tmp_path):
    """The trial's S-015: open here is no false FAIL, and refused here is no PASS."""
    refused = closed_port()
    async with silent_tcp() as listening:
        results = {
            target: await run(closed(target), tmp_path)
            for target in (listening, refused, f"127.0.0.2:{refused.rsplit(':', 1)[1]}")
        }
        # The lab beside it: loopback standing in for the outside is judged both ways.
        lab_open = await run(closed(listening, local_ok=True), tmp_path)
    lab_closed = await run(closed(refused, local_ok=True), tmp_path)
    for target, result in results.items():
        host = target.rsplit(":", 1)[0]
        assert (result.status, result.error) == (Status.FAIL, True), result
        assert result.summary == f"cannot judge: {host} {WHY}"
    assert (lab_open.status, lab_open.error) == (Status.FAIL, False)
    assert lab_open.summary == f"{listening} accepts connections, expected closed"
    assert (lab_closed.status, lab_closed.error) == (Status.PASS, False)


async def test_a_name_for_this_machine_shows_the_address_it_resolved_to(tmp_path):
    port = closed_port().rsplit(":", 1)[1]
    result = await run(closed(f"localhost:{port}"), tmp_path)
    assert (result.status, result.error) == (Status.FAIL, True)
    assert result.summary.startswith("cannot judge: localhost (")
    assert result.summary.endswith(f") {WHY}")


async def test_one_of_this_machines_own_addresses_cannot_be_judged(tmp_path):
    address = own_address()
    if address is None:
        pytest.skip("this machine has no address other than loopback")
    async with listening_everywhere() as port:
        result = await run(closed(f"{address}:{port}"), tmp_path)
        lab = await run(closed(f"{address}:{port}", local_ok=True), tmp_path)
    assert (result.status, result.error) == (Status.FAIL, True)
    assert result.summary == f"cannot judge: {address} {WHY}"
    assert (lab.status, lab.summary) == (
        Status.FAIL,
        f"{address}:{port} accepts connections, expected closed",
    )


async def test_a_port_that_must_be_open_is_judged_here_as_before(tmp_path):
    """Only "closed" is a firewall question: "the API answers" may be asked from anywhere."""
    async with silent_tcp() as listening:
        result = await run({"tcp": {"target": listening}}, tmp_path)
    assert (result.status, result.summary) == (Status.PASS, f"{listening} open")


def sockaddr(host: str) -> tuple[int, tuple]:
    family, _, _, _, address = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)[0]
    return family, address


def test_this_machine_is_asked_of_the_kernel():
    assert vantage.is_this_machine(*sockaddr("127.0.0.1"))
    assert vantage.is_this_machine(*sockaddr("127.3.2.1"))  # all of 127/8 is loopback
    assert vantage.is_this_machine(*sockaddr("0.0.0.0"))  # connects to this machine too
    assert vantage.is_this_machine(socket.AF_INET6, ("::ffff:127.0.0.1", 0, 0, 0))
    # TEST-NET addresses are nobody's here: no interface holds them.
    assert not vantage.is_this_machine(*sockaddr("203.0.113.1"))
    assert not vantage.is_this_machine(*sockaddr("198.51.100.7"))
    address = own_address()
    if address is not None:
        assert vantage.is_this_machine(*sockaddr(address))


def test_where_any_address_may_be_bound_the_route_is_asked(tmp_path, monkeypatch):
    """With ip_nonlocal_bind on, bind() says yes to every address: it cannot be the test."""
    sysctl = tmp_path / "ip_nonlocal_bind"
    sysctl.write_text("1\n")
    monkeypatch.setitem(vantage.NONLOCAL_BIND, socket.AF_INET, sysctl)
    address = own_address()
    if address is None:
        pytest.skip("no route off this machine to ask about")
    assert vantage.is_this_machine(*sockaddr(address))
    assert not vantage.is_this_machine(*sockaddr("203.0.113.1"))


async def test_no_descriptor_left_to_ask_is_a_probe_error(tmp_path, monkeypatch):
    def exhausted(*args: object, **kwargs: object) -> socket.socket:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(vantage.socket, "socket", exhausted)
    target = "198.51.100.7:5432"  # not this machine: only bind() can tell, and it cannot run
    result = await run(closed(target), tmp_path, timeout="1s")
    assert (result.status, result.error) == (Status.FAIL, True)
    assert result.summary.startswith(f"cannot judge {target}: Too many open files")


def test_local_ok_is_for_closed_ports_only(tmp_path):
    assert config_error({"tcp": {"target": "db:5432", "local_ok": True}}, tmp_path) == (
        "config.yaml: categories[0].items[0] (T-001): tcp.local_ok only applies when expect "
        "is closed"
    )


async def test_an_all_whose_only_shortfall_cannot_be_judged_is_no_partial(tmp_path):
    """S-016 from the host: the bastion greets, the SSH port's answer here means nothing."""
    refused = closed_port()
    async with silent_tcp() as bastion:
        result = await run({"all": [closed(refused), {"tcp": {"target": bastion}}]}, tmp_path)
        lab = await run(
            {"all": [closed(refused, local_ok=True), {"tcp": {"target": bastion}}]}, tmp_path
        )
        async with silent_tcp() as ssh:
            # A real shortfall beside it is still a verdict: one passes, one fails.
            partial = await run(
                {
                    "all": [
                        closed(refused),
                        closed(ssh, local_ok=True),
                        {"tcp": {"target": bastion}},
                    ]
                },
                tmp_path,
            )
    assert (result.status, result.error) == (Status.FAIL, True), result
    assert result.summary == f"1 of 2 probes pass; tcp {refused}: cannot judge: 127.0.0.1 {WHY}"
    assert (lab.status, lab.error) == (Status.PASS, False)
    assert (partial.status, partial.error) == (Status.PARTIAL, False)
