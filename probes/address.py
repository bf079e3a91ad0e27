"""Network addresses in probe settings: ``host:port`` targets and DNS resolvers, parsed once.

The tcp, tls and dns kinds read their address when the config is loaded and keep the parsed
``HostPort``; a probe run never splits text again.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .problems import SpecError

DNS_PORT = 53


@dataclass(frozen=True)
class HostPort:
    host: str  # a name or an IP address; IPv6 without brackets
    port: int

    def __str__(self) -> str:
        """As a person writes it: ``db.example:5432``, ``[::1]:53``."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def _port(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else None


def parse_target(value: object, where: str) -> HostPort:
    """``host:port`` (IPv6 as ``[::1]:443``); raises SpecError naming ``where``."""
    host, sep, port_text = str(value).rpartition(":")
    port = _port(port_text)
    if not sep or not host or port is None:
        raise SpecError(where, f'must be host:port (got "{value}")')
    return HostPort(host.strip("[]"), port)


def parse_resolver(value: object, where: str) -> HostPort:
    """An IP address with an optional port (53): ``10.0.0.2``, ``127.0.0.1:5353``, ``[::1]:53``."""
    text = str(value)
    host, port_text = text, str(DNS_PORT)
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":") or port_text
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise SpecError(
            where,
            f"must be an IP address with an optional port, such as 10.0.0.2 "
            f'or 127.0.0.1:5353 (got "{value}")',
        ) from None
    port = _port(port_text)
    if port is None:
        raise SpecError(where, f'has an invalid port (got "{value}")')
    return HostPort(host, port)


_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


def parse_server_name(value: object, where: str) -> str:
    """A host name (or IP address) a server answers to; empty means "the target's host".

    Empty is allowed so a config can write ``server_name: ${APP_SERVER_NAME:-}``: the name
    when the variable is set, the host connected to when it is not.
    """
    text = str(value).strip()
    if not text:
        return ""
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    labels = text.removesuffix(".").split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise SpecError(where, f'must be a host name such as app.example.com (got "{value}")')
    return text.removesuffix(".").lower()
