"""Whether an address is this machine's own: the vantage point a firewall item cannot judge from.

A port that "must be closed to the internet" says something only when it is tried from outside:
from the host itself (loopback, or one of its own addresses) the firewall is not in the path,
and a database listening on 127.0.0.1 reads as open on the "public" address (trial S-015).

How this machine's addresses are found: by asking the kernel about the one address at hand,
never by listing interfaces. ``bind()`` to an address (port 0, nothing is listened on or sent)
succeeds exactly when the address belongs to this machine; POSIX names the failure
``EADDRNOTAVAIL``, "the specified address is not available from the local machine". It needs no
external tool (``ip``), no parsing of ``/proc`` files whose format differs for IPv4 and IPv6,
no dependency (psutil), and it sees addresses added after the exporter started, secondary and
IPv6 ones, which ``getaddrinfo(gethostname())`` (only what ``/etc/hosts`` or DNS says) misses.

One Linux setting defeats it: ``net.ipv4.ip_nonlocal_bind`` (``net.ipv6.ip_nonlocal_bind``)
lets a program bind any address. Where it is on, the kernel's route to the address is asked
instead: a UDP socket ``connect()`` (which sends nothing) to one of this machine's addresses is
routed through the ``local`` table, whose source address is the address itself.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from pathlib import Path
from typing import Any

NONLOCAL_BIND: dict[int, Path] = {
    socket.AF_INET: Path("/proc/sys/net/ipv4/ip_nonlocal_bind"),
    socket.AF_INET6: Path("/proc/sys/net/ipv6/ip_nonlocal_bind"),
}


def _nonlocal_bind(family: int) -> bool:
    path = NONLOCAL_BIND.get(family)
    try:
        return path is not None and path.read_text().strip() not in ("", "0")
    except OSError:
        return False  # not Linux: bind() answers as POSIX says


def _can_bind(family: int, address: Any) -> bool:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((address[0], 0, *address[2:]))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                return False
            raise
    return True


def _routes_to_itself(family: int, address: Any) -> bool:
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((address[0], 9, *address[2:]))
        return bool(sock.getsockname()[0] == address[0])


def is_this_machine(family: int, address: Any) -> bool:
    """Whether ``address`` (a socket address as ``getaddrinfo`` gives it) is this machine.

    Raises the ``OSError`` met when the kernel could not be asked (no descriptor left): the
    caller cannot judge then, and says so.
    """
    ip = ipaddress.ip_address(address[0].partition("%")[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    if ip.is_loopback or ip.is_unspecified:  # 0.0.0.0 and :: connect to this machine too
        return True
    if _nonlocal_bind(family):
        return _routes_to_itself(family, address)
    return _can_bind(family, address)
