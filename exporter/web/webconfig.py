"""``--web.config.file``: TLS and basic auth for the endpoints, in exporter-toolkit format.

The file is the one Prometheus, Alertmanager and the official exporters read, so
``promtool check web-config`` validates it::

    tls_server_config:
      cert_file: server.crt
      key_file: server.key
      client_ca_file: clients.crt              # optional: client certificates
      client_auth_type: RequireAndVerifyClientCert
      min_version: TLS12
    basic_auth_users:
      prometheus: $2y$10$...                   # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':')

Every endpoint asks for credentials except ``/-/healthy``, which a liveness check must reach
without a password and which says nothing but "Healthy". Relative paths are taken from the
web config file's folder, as exporter-toolkit does. Mistakes are ConfigErrors naming the file
and the field: ``web.yml: tls_server_config.min_version must be one of TLS10, ... (got "TLS9")``.

The certificate, key and client CA files are read again when they change (``ServerTLS``), so a
rotation (cert-manager, certbot) needs no restart; the rest of the file is read at start.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import structlog
from aiohttp import web

from probes.problems import Problems, show

from ..config import ConfigError, read_yaml

log = structlog.get_logger("readiness.web")

OPEN_ROUTES = frozenset({"healthy"})  # route names reachable without credentials (liveness)
# The user a request authenticated as (set by BasicAuth): what people's records name beside the
# name they give.
AUTH_USER = web.RequestKey("auth_user", str)
REALM = "readiness-exporter"

TLS_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
# exporter-toolkit's client_auth_type values that Python's ssl module can honour. It cannot
# accept a client certificate without verifying it, so RequestClientCert and
# RequireAnyClientCert are refused rather than silently made stricter or looser.
CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
UNSUPPORTED_CLIENT_AUTH = ("RequestClientCert", "RequireAnyClientCert")
TLS_KEYS = (
    "cert_file",
    "key_file",
    "client_ca_file",
    "client_auth_type",
    "min_version",
    "max_version",
)
# exporter-toolkit options this exporter does not implement: refused by name, never ignored.
TLS_UNSUPPORTED = (
    "cert",
    "key",
    "cipher_suites",
    "curve_preferences",
    "prefer_server_cipher_suites",
    "client_allowed_sans",
)
TOP_KEYS = ("tls_server_config", "basic_auth_users", "http_server_config")

# bcrypt on threads of its own: a flood of wrong passwords must not take the threads that
# file and attestation probes run on (asyncio's default executor).
_BCRYPT_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bcrypt")
_CACHE_SIZE = 256
# bcrypt checks waiting or running at once, and per client address. Past either, a login is
# answered 429 at once: a flood of wrong passwords delayed the first correct login by 28 s when
# every check queued. Logins seen correct before skip bcrypt (the cache), so Prometheus keeps
# scraping through a flood; the per-client share keeps one flooding address from taking it all.
MAX_PENDING_CHECKS = 8
MAX_PENDING_PER_CLIENT = 2
TLS_CHECK_INTERVAL = 2.0  # seconds between looks at the TLS files' modification times


@dataclass(frozen=True)
class TLSConfig:
    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None
    client_auth: ssl.VerifyMode = ssl.CERT_NONE
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    max_version: ssl.TLSVersion | None = None


@dataclass(frozen=True)
class WebConfig:
    path: Path
    tls: TLSConfig | None = None
    users: Mapping[str, bytes] = field(default_factory=dict)  # user -> bcrypt hash

    def ssl_context(self) -> ssl.SSLContext | None:
        """The server's TLS context, or None to serve plain HTTP; raises ConfigError."""
        if self.tls is None:
            return None
        t = self.tls
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = t.min_version
        if t.max_version is not None:
            ctx.maximum_version = t.max_version
        name = self.path.name
        # Errors name the field, never its value: a private key pasted where its path belongs
        # would be quoted back in the log.
        files = {"cert_file": t.cert_file, "key_file": t.key_file}
        if t.client_ca_file is not None:
            files["client_ca_file"] = t.client_ca_file
        for key, file in files.items():
            try:
                file.open("rb").close()
            except OSError as exc:
                raise ConfigError(
                    [f"{name}: tls_server_config.{key}: cannot be read ({_why(exc)})"]
                ) from None
        try:
            ctx.load_cert_chain(t.cert_file, t.key_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                [
                    f"{name}: tls_server_config: cert_file and key_file cannot be loaded as a "
                    f"certificate and its private key ({_why(exc)})"
                ]
            ) from None
        if t.client_ca_file is not None:
            try:
                ctx.load_verify_locations(cafile=t.client_ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(
                    [
                        f"{name}: tls_server_config.client_ca_file: cannot be loaded as CA "
                        f"certificates ({_why(exc)})"
                    ]
                ) from None
        ctx.verify_mode = t.client_auth
        return ctx

    def protect(self, app: web.Application) -> None:
        """Add the basic-auth check to ``app`` (before it starts) when users are configured."""
        if self.users:
            app.middlewares.append(BasicAuth(self.users).middleware)

    def server_tls(self) -> ServerTLS | None:
        """TLS for the listener, rebuilt when its files change; None for plain HTTP."""
        return ServerTLS(self) if self.tls is not None else None


class ServerTLS:
    """The TLS context for each new connection, rebuilt when the certificate files change.

    exporter-toolkit reads the certificate at every handshake; here a new connection looks at
    the files' modification times (at most every ``TLS_CHECK_INTERVAL`` seconds) and loads them
    again when they changed. A rotation caught half-written (a key that does not match the
    certificate yet) keeps the previous context, logs a warning once, and is tried again.
    """

    def __init__(self, config: WebConfig, check_every: float = TLS_CHECK_INTERVAL):
        self.config = config
        self.check_every = check_every
        self._stamp = self._files_stamp()
        self._context = self._load()  # raises ConfigError: at start, that is fatal
        self._checked = time.monotonic()
        self._failed_stamp: tuple[object, ...] | None = None

    def _load(self) -> ssl.SSLContext:
        context = self.config.ssl_context()
        assert context is not None  # ServerTLS is only made for a config with TLS
        return context

    def _paths(self) -> tuple[Path | None, ...]:
        t = self.config.tls
        assert t is not None
        return (t.cert_file, t.key_file, t.client_ca_file)

    def _files_stamp(self) -> tuple[object, ...]:
        stamp: list[object] = []
        for path in self._paths():
            try:
                st = path.stat() if path is not None else None
            except OSError:
                st = None
            stamp.append(None if st is None else (st.st_mtime_ns, st.st_size, st.st_ino))
        return tuple(stamp)

    def context(self) -> ssl.SSLContext:
        now = time.monotonic()
        if now - self._checked >= self.check_every:
            self._checked = now
            stamp = self._files_stamp()
            if stamp != self._stamp:
                self._reload(stamp)
        return self._context

    def _reload(self, stamp: tuple[object, ...]) -> None:
        try:
            context = self._load()
        except ConfigError as exc:
            if stamp != self._failed_stamp:
                self._failed_stamp = stamp
                log.warning(
                    "TLS files changed but cannot be loaded; serving the previous certificate",
                    error=exc.errors[0],
                )
            return
        self._context, self._stamp = context, stamp
        log.info("TLS certificate reloaded", files=[str(p) for p in self._paths() if p])


def _why(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)


class TooManyLogins(Exception):
    """Raised when a login cannot be checked now: too many bcrypt checks are waiting."""


def bcrypt_cost(hashed: bytes) -> int:
    """The cost of a bcrypt hash: 10 in ``$2y$10$...``."""
    return int(hashed.split(b"$")[2])


def dummy_hash(users: Mapping[str, bytes]) -> bytes:
    """A hash to check unknown users against, at the cost most configured users have.

    An unknown user then costs what a known one does, so timing does not tell who exists
    (with users of mixed costs, those of a rarer cost stay distinguishable: use one cost).
    """
    costs = [bcrypt_cost(h) for h in users.values()] or [10]
    cost = max(set(costs), key=lambda c: (costs.count(c), c))
    return bcrypt.hashpw(b"no such user", bcrypt.gensalt(cost))


class BasicAuth:
    """Checks ``Authorization: Basic`` against bcrypt hashes; 401 with a challenge otherwise."""

    def __init__(self, users: Mapping[str, bytes]):
        self.users = dict(users)
        self.dummy_hash = dummy_hash(self.users)
        self._pending = 0
        self._pending_by_client: dict[str, int] = {}
        # Correct logins are remembered under a keyed digest, so Prometheus scraping every few
        # seconds costs one bcrypt check per credential, not one per scrape (as exporter-toolkit
        # does). Wrong ones are never cached: each costs a full check.
        self._key = os.urandom(32)
        self._good: dict[bytes, None] = {}

    def _digest(self, user: str, password: bytes) -> bytes:
        return hmac.new(self._key, user.encode() + b"\0" + password, hashlib.sha256).digest()

    async def check(self, header: str | None, client: str = "") -> bool:
        """Whether the header holds a user's right password; raises TooManyLogins."""
        credentials = parse_basic(header)
        if credentials is None:
            return False
        user, password = credentials
        digest = self._digest(user, password)
        if digest in self._good:
            return True
        hashed = self.users.get(user, self.dummy_hash)
        ok = await self._checkpw(password, hashed, client) and user in self.users
        if ok:
            if len(self._good) >= _CACHE_SIZE:
                self._good.pop(next(iter(self._good)))
            self._good[digest] = None
        return ok

    async def _checkpw(self, password: bytes, hashed: bytes, client: str) -> bool:
        mine = self._pending_by_client.get(client, 0)
        if self._pending >= MAX_PENDING_CHECKS or mine >= MAX_PENDING_PER_CLIENT:
            raise TooManyLogins
        self._pending += 1
        self._pending_by_client[client] = mine + 1
        try:
            return await asyncio.get_running_loop().run_in_executor(
                _BCRYPT_POOL, _checkpw, password, hashed
            )
        finally:
            self._pending -= 1
            left = self._pending_by_client.pop(client) - 1
            if left:
                self._pending_by_client[client] = left

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.match_info.route.name in OPEN_ROUTES:
            return await handler(request)
        try:
            ok = await self.check(request.headers.get("Authorization"), request.remote or "")
        except TooManyLogins:
            return web.Response(
                status=429,
                text="Too many logins are being checked; try again in a second\n",
                headers={"Retry-After": "1"},
            )
        if ok:
            credentials = parse_basic(request.headers.get("Authorization"))
            if credentials is not None:
                request[AUTH_USER] = credentials[0]
            return await handler(request)
        return web.Response(
            status=401,
            text="Unauthorized\n",
            headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'},
        )


def _checkpw(password: bytes, hashed: bytes) -> bool:
    try:
        return bcrypt.checkpw(password, hashed)
    except ValueError:
        return False


def parse_basic(header: str | None) -> tuple[str, bytes] | None:
    """(user, password) from an ``Authorization: Basic`` header, or None when it is not one."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = raw.partition(b":")
    if not sep:
        return None
    return user.decode("utf-8", "replace"), password


def load(path: str | Path) -> WebConfig:
    """Read and validate a web config file; raises ConfigError listing every problem."""
    path = Path(path)
    doc = read_yaml(path)  # the config loader's: regular file, size cap, safeyaml, located errors
    return parse(doc if doc is not None else {}, path)


def parse(doc: Any, path: Path) -> WebConfig:
    """Validate a parsed web config document; raises ConfigError with every problem found."""
    if not isinstance(doc, Mapping):
        raise ConfigError(
            [
                f"{path.name}: must be a mapping with tls_server_config and/or "
                # Never the text itself: this may be a key file given as the web config.
                f"basic_auth_users (got {'text' if isinstance(doc, str) else show(doc)})"
            ]
        )
    problems = Problems(path.name)
    for key in doc:
        if key not in TOP_KEYS:
            problems.add(f"{key} is not a known field (known: {', '.join(TOP_KEYS)})")
    if doc.get("http_server_config"):
        # Its options (http2, custom headers) are about Go's server; refused, not ignored.
        problems.add("http_server_config is not supported by readiness-exporter")
    tls = _tls(doc.get("tls_server_config"), path.parent, problems)
    users = _users(doc.get("basic_auth_users"), problems)
    if problems:
        raise ConfigError(problems.lines)
    return WebConfig(path, tls, users)


def _tls(raw: Any, base: Path, problems: Problems) -> TLSConfig | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.add(
            f"tls_server_config must be a mapping with cert_file and key_file (got {show(raw)})"
        )
        return None
    for key in raw:
        if key in TLS_UNSUPPORTED:
            problems.add(f"tls_server_config.{key} is not supported by readiness-exporter")
        elif key not in TLS_KEYS:
            problems.add(
                f"tls_server_config.{key} is not a known field (known: {', '.join(TLS_KEYS)})"
            )

    def path(key: str, required: bool) -> Path | None:
        value = raw.get(key)
        if value is None or value == "":
            if required:
                problems.add(f"tls_server_config.{key} is required")
            return None
        if not isinstance(value, str) or "\n" in value or "-----BEGIN" in value:
            # Never the value: it may be the private key itself, pasted instead of its path.
            problems.add(
                f"tls_server_config.{key} must be the path of a PEM file (value not shown)"
            )
            return None
        return base / Path(value).expanduser()

    def version(key: str, default: ssl.TLSVersion | None) -> ssl.TLSVersion | None:
        value = raw.get(key)
        if value is None or value == "":
            return default
        if value not in TLS_VERSIONS:
            problems.add(
                f"tls_server_config.{key} must be one of {', '.join(TLS_VERSIONS)} "
                f"(got {show(value)})"
            )
            return default
        return TLS_VERSIONS[value]

    cert, key_file = path("cert_file", True), path("key_file", True)
    ca = path("client_ca_file", False)
    auth_name = raw.get("client_auth_type") or (
        "RequireAndVerifyClientCert" if ca else "NoClientCert"
    )
    client_auth = ssl.CERT_NONE
    if auth_name in UNSUPPORTED_CLIENT_AUTH:
        problems.add(
            f"tls_server_config.client_auth_type {auth_name} is not supported: Python's TLS "
            "cannot accept a client certificate it does not verify; use "
            f"{' or '.join(k for k in CLIENT_AUTH if k != 'NoClientCert')}"
        )
    elif auth_name not in CLIENT_AUTH:
        problems.add(
            f"tls_server_config.client_auth_type must be one of {', '.join(CLIENT_AUTH)} "
            f"(got {show(auth_name)})"
        )
    else:
        client_auth = CLIENT_AUTH[auth_name]
        if client_auth is not ssl.CERT_NONE and ca is None:
            problems.add(
                f"tls_server_config.client_ca_file is required with client_auth_type {auth_name}"
            )
    low = version("min_version", ssl.TLSVersion.TLSv1_2)
    high = version("max_version", None)
    if low is not None and high is not None and high < low:
        problems.add("tls_server_config.max_version must not be below min_version")
    if cert is None or key_file is None:
        return None
    return TLSConfig(cert, key_file, ca, client_auth, low or ssl.TLSVersion.TLSv1_2, high)


def _users(raw: Any, problems: Problems) -> dict[str, bytes]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.add(
            f"basic_auth_users must be a mapping of user names to bcrypt hashes (got {show(raw)})"
        )
        return {}
    users: dict[str, bytes] = {}
    for user, hashed in raw.items():
        where = f"basic_auth_users.{user}"
        if not isinstance(user, str) or not user or ":" in user:
            problems.add(f"{where} user names must be non-empty strings without ':'")
            continue
        # Never quote the value: a plain password pasted here by mistake is a credential.
        if (
            not isinstance(hashed, str)
            or not hashed.startswith(("$2a$", "$2b$", "$2y$"))
            or len(hashed) != 60
        ):
            problems.add(
                f"{where} must be a bcrypt hash ($2y$10$... , 60 characters), e.g. from "
                "htpasswd -nBC 10 USER"
            )
            continue
        if not _checks(hashed.encode()):
            problems.add(f"{where} is not a valid bcrypt hash")
            continue
        users[user] = hashed.encode()
    return users


def _checks(hashed: bytes) -> bool:
    try:
        bcrypt.checkpw(b"", hashed)
    except ValueError:
        return False
    return True
