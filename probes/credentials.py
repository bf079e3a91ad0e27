"""Credentials a probe sends in its Authorization header: a bearer token or basic auth.

Both come from ``${VAR}`` or a ``*_file`` through ``Fields.secret``, so they print as
``<secret>`` everywhere; the header is built only at send time. Used by the http and promql kinds.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from .fields import Fields, Secret, Unresolved


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
    token = f.secret("bearer_token", None)
    raw_basic = f.any("basic_auth", None)
    if token is not None and raw_basic is not None:
        raise f.error("bearer_token", "and basic_auth are both set: give only one")
    if raw_basic is not None:
        basic = Fields(raw_basic, f.name("basic_auth"), f.base_dir)
        auth = Auth(username=basic.str("username"), password=basic.secret("password", None))
        basic.done()
        if isinstance(auth.username, Unresolved) or isinstance(auth.password, Unresolved):
            return None  # unset variables: the item is PENDING and never probed
        return auth
    if token is None or isinstance(token, Unresolved):
        return None
    return Auth(bearer_token=token)
