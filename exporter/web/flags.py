"""The serve command's flags for the HTTP side (the rest of the command line is in cli.py)."""

from __future__ import annotations

import argparse

from .server import MAX_CONNECTIONS, MIN_CONNECTIONS


def _connections(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(
            f"must be a whole number, 0 for the default (got {value!r})"
        )
    return int(value)


def add(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--web.external-url",
        dest="external_url",
        default="",
        metavar="URL",
        help="the URL people and dashboards reach the exporter at, e.g. behind a reverse proxy "
        "(default: http://<hostname>:<port>/); links on the board start with its path",
    )
    parser.add_argument(
        "--web.route-prefix",
        dest="route_prefix",
        default=None,
        metavar="PATH",
        help="the path the endpoints are served under (default: the external URL's path)",
    )
    parser.add_argument(
        "--web.max-connections",
        dest="max_connections",
        type=_connections,
        default=0,
        metavar="N",
        help="most HTTP connections open at once; at the cap the one idle longest is closed "
        "(default 0: what fits in half the soft RLIMIT_NOFILE with a batch of accepts, "
        f"{MIN_CONNECTIONS} to {MAX_CONNECTIONS}; the other half is left to probes)",
    )


def users(value: str) -> frozenset[str]:
    names = frozenset(u.strip() for u in value.split(",") if u.strip())
    if not names:
        raise argparse.ArgumentTypeError("must name at least one user of basic_auth_users")
    return names


def add_write_api(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--web.enable-write-api",
        dest="enable_write_api",
        action="store_true",
        help="without basic_auth_users in --web.config.file, let clients on loopback "
        "(127.0.0.1, ::1) record attestations, risks, sign-offs, decisions and remediation "
        "through POST /api/v1/... without a user (default: refused; with basic_auth_users, "
        "authenticated users may record)",
    )
    parser.add_argument(
        "--web.write-users",
        dest="write_users",
        type=users,
        default=None,
        metavar="USER,...",
        help="the users of basic_auth_users who may record through POST /api/v1/... "
        "(default: every one)",
    )
