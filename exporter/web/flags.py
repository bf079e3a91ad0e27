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
