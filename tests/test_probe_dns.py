"""DNS probe against a small authoritative UDP responder on loopback, built with dnspython."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import dns.message
import dns.rcode
import dns.rrset
import pytest
from support.probing import config_error, run

from probes.result import Status

ZONE = {
    ("app.test.", "A"): ["127.0.0.10", "127.0.0.11"],
    ("app.test.", "AAAA"): ["::1"],
    ("www.test.", "CNAME"): ["app.test."],
    ("test.", "MX"): ["10 mail.test."],
    ("test.", "TXT"): ['"v=spf1 -all"'],
}


class Responder(asyncio.DatagramProtocol):
    """Answers from ZONE; unknown names get NXDOMAIN, known names of another type no answer."""

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name, rdtype = question.name.to_text(), dns.rdatatype.to_text(question.rdtype)
        values = ZONE.get((name, rdtype))
        if values:
            response.answer.append(dns.rrset.from_text_list(name, 300, "IN", rdtype, values))
        elif not any(n == name for n, _ in ZONE):
            response.set_rcode(dns.rcode.NXDOMAIN)
        self.transport.sendto(response.to_wire(), addr)


@asynccontextmanager
async def responder() -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(Responder, local_addr=("127.0.0.1", 0))
    try:
        yield f"127.0.0.1:{transport.get_extra_info('sockname')[1]}"
    finally:
        transport.close()


import dns.flags  # noqa: E402 - used by Responder


@pytest.mark.parametrize(
    "name, rdtype, expect",
    [
        ("app.test", "A", ["127.0.0.10", "127.0.0.11"]),
        ("app.test", "AAAA", ["::1"]),
        ("www.test", "CNAME", ["app.test"]),
        ("test", "MX", ["mail.test"]),
        ("test", "MX", ["10 mail.test."]),
        ("test", "TXT", ["v=spf1 -all"]),
    ],
)
async def test_expected_values_pass(tmp_path, name, rdtype, expect):
    async with responder() as server:
        result = await run(
            {"dns": {"name": name, "type": rdtype, "resolver": server, "expect": expect}}, tmp_path
        )
    assert result.status is Status.PASS, result.summary
    assert result.summary.startswith(f"{name} {rdtype}: ")


async def test_some_expected_values_missing_is_partial(tmp_path):
    async with responder() as server:
        result = await run(
            {
                "dns": {
                    "name": "app.test",
                    "resolver": server,
                    "expect": ["127.0.0.10", "127.0.0.99"],
                }
            },
            tmp_path,
        )
    assert result.status is Status.PARTIAL
    assert result.summary == "app.test A: 127.0.0.10, 127.0.0.11; expected also 127.0.0.99"


async def test_none_expected_is_fail(tmp_path):
    async with responder() as server:
        result = await run(
            {"dns": {"name": "app.test", "resolver": server, "expect": ["10.0.0.1"]}}, tmp_path
        )
    assert result.status is Status.FAIL
    assert result.evidence["missing"] == ["10.0.0.1"]


async def test_unknown_name_fails_with_nxdomain(tmp_path):
    async with responder() as server:
        result = await run({"dns": {"name": "nope.test", "resolver": server}}, tmp_path)
    assert result.status is Status.FAIL
    assert result.summary == "nope.test does not exist (NXDOMAIN), expected A records"


async def test_missing_type_fails(tmp_path):
    async with responder() as server:
        result = await run(
            {"dns": {"name": "www.test", "type": "MX", "resolver": server}}, tmp_path
        )
    assert result.status is Status.FAIL
    assert result.summary == "www.test has no MX records"


@pytest.mark.parametrize(
    "probe, message",
    [
        (
            {"name": "x.test", "type": "SRV"},
            'dns.type must be one of A, AAAA, CNAME, MX, TXT (got "SRV")',
        ),
        (
            {"name": "x.test", "resolver": "dns.google"},
            "dns.resolver must be an IP address with an optional port, such as 10.0.0.2 or "
            '127.0.0.1:5353 (got "dns.google")',
        ),
        ({"type": "A"}, "dns.name is required"),
        (
            {"name": "x.test", "expect": "1.2.3.4"},
            'dns.expect must be a non-empty list of strings (got "1.2.3.4")',
        ),
    ],
)
def test_bad_config_is_located(tmp_path, probe, message):
    assert (
        config_error({"dns": probe}, tmp_path)
        == f"config.yaml: categories[0].items[0] (T-001): {message}"
    )


async def test_without_a_resolver_the_systems_configuration_is_used(tmp_path, monkeypatch):
    # The machine's own resolv.conf names a server off this machine: stand in one naming the
    # loopback responder, read through dnspython's own resolv.conf parser. The stand-in is
    # checked before the probe runs, so no query ever leaves the machine.
    import dns.asyncresolver
    import dns.nameserver
    import dns.resolver

    read = dns.resolver.BaseResolver.read_resolv_conf
    async with responder() as server:
        host, port = server.rsplit(":", 1)
        conf = tmp_path / "resolv.conf"
        conf.write_text(f"# written by the test\nnameserver {host}\noptions timeout:1\n")
        seen = []

        def read_ours(self, f):
            seen.append(str(f))
            read(self, str(conf))
            # resolv.conf has no port, and the responder's is not 53.
            self.nameservers = [dns.nameserver.Do53Nameserver(host, int(port))]

        monkeypatch.setattr(dns.resolver.BaseResolver, "read_resolv_conf", read_ours)
        assert [(n.address, n.port) for n in dns.asyncresolver.Resolver().nameservers] == [
            (host, int(port))
        ]
        result = await run({"dns": {"name": "app.test", "expect": ["127.0.0.10"]}}, tmp_path)
    assert seen == ["/etc/resolv.conf"] * 2  # the stand-in check above, then the probe
    assert result.status is Status.PASS, result.summary
    assert "127.0.0.10" in result.summary
