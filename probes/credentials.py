"""Credentials a probe sends in its Authorization header: a bearer token or basic auth.

Both come from ``${VAR}`` or a ``*_file`` through ``Fields.secret``, so they print as
``<secret>`` everywhere; the header is built only at send time. Used by the http and promql kinds.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from .fields import Fields, Secret


@dataclass(frozen=True)
class Auth:
    bearer_token: Secret | None = None
    username: str | None = None
    password: Secret | None = None

    def header(self) -> dict[str, str]:
        """The Authorization header, with the secret revealed (only for sending)."""
        if self.bearer_token is not None:
            return {"Authorization": f"Bearer {self.bearer_token.reveal()}"}
        if self.username is not None:
            password = self.password.reveal() if self.password is not None else ""
            pair = base64.b64encode(f"{self.username}:{password}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        return {}


def parse_auth(f: Fields) -> Auth | None:
    """``bearer_token[_file]`` or ``basic_auth: {username, password[_file]}``, not both."""
    if (f.has("bearer_token") or f.has("bearer_token_file")) and f.has("basic_auth"):
        f.problem("bearer_token", "and basic_auth are both set: give only one")
    token = f.optional_secret("bearer_token")
    basic = f.sub("basic_auth")
    if basic is not None:
        return Auth(username=basic.text("username"), password=basic.optional_secret("password"))
    return Auth(bearer_token=token) if token is not None else None
