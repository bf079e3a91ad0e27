"""Where the exporter is reached: ``--web.external-url`` and ``--web.route-prefix``, as Prometheus
has them, and every path the exporter serves, written once.

- The external URL is the address people and dashboards use (behind a reverse proxy, the
  proxy's: ``https://ops.example/readiness/``). Links on the board start with its path, and a
  state-changing request from a browser on that origin is accepted (``Origin`` check). Default:
  ``http://<hostname>:<port>/``.
- The route prefix is where the exporter serves its endpoints. Default: the external URL's
  path, for a proxy that passes the path on; ``/`` for a proxy that strips it. With a prefix,
  ``/`` redirects to it.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

# Every path, relative to the route prefix; ``{id}`` is an item ID.
BOARD = "/"
ITEM = "/items/{id}"
PROBE_NOW = "/items/{id}/probe"
STATUS_API = "/api/v1/status"
ITEM_API = "/api/v1/items/{id}"
# People's records (exporter/web/api.py): POST only.
ATTESTATION_API = "/api/v1/items/{id}/attestation"
RISK_API = "/api/v1/items/{id}/risk-acceptance"
REVOKE_RISK_API = "/api/v1/items/{id}/risk-acceptance/revoke"
REMEDIATION_API = "/api/v1/items/{id}/remediation"
SIGNOFF_API = "/api/v1/signoffs/{role}"
REVOKE_SIGNOFF_API = "/api/v1/signoffs/{role}/revoke"
DECISION_API = "/api/v1/decision"
STATIC = "/static"
METRICS = "/metrics"
HEALTHY = "/-/healthy"
READY = "/-/ready"
RELOAD = "/-/reload"


@dataclass(frozen=True)
class Urls:
    external: str  # absolute, ends with "/": https://ops.example/readiness/
    route_prefix: str = "/"  # "/" or "/readiness"

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the external URL (what a browser's ``Origin`` says)."""
        parts = urlsplit(self.external)
        return f"{parts.scheme}://{parts.netloc}"

    def route(self, path: str) -> str:
        """Where the exporter serves ``path`` (a router pattern)."""
        return self.route_prefix.rstrip("/") + path

    def link(self, path: str, item_id: str = "") -> str:
        """The absolute path a page links to for ``path`` (with ``item_id`` filled in)."""
        base = urlsplit(self.external).path.rstrip("/")
        return base + path.replace("{id}", quote(item_id, safe=""))


def default_external_url(listen_port: int) -> str:
    """``http://<hostname>:<port>/``, as Prometheus derives it (no DNS lookup)."""
    return f"http://{socket.gethostname()}:{listen_port}/"


def parse(external_url: str, route_prefix: str | None, listen_port: int) -> Urls:
    """The flags' values as ``Urls``; raises ValueError naming the flag and what was expected."""
    external = external_url or default_external_url(listen_port)
    parts = urlsplit(external)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"--web.external-url must be an absolute http:// or https:// URL (got {external!r})"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"--web.external-url must not have a query or fragment (got {external!r})")
    path = "/" + parts.path.strip("/")
    external = f"{parts.scheme}://{parts.netloc}{path.rstrip('/')}/"
    prefix = path if route_prefix is None else route_prefix
    if not prefix.startswith("/") or any(c in prefix for c in "?#{}"):
        raise ValueError(
            f"--web.route-prefix must be a path starting with / (got {route_prefix!r})"
        )
    return Urls(external, "/" + prefix.strip("/"))
