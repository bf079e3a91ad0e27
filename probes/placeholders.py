"""Values that are not a production secret: the one list, asked by every kind that judges one.

``env`` (``reject_placeholders``) judges one variable's value; ``file`` (``placeholders: true``)
judges the secret-named settings of a ``.env`` or YAML file. Both call ``is_placeholder``, so
a new spelling is added here once and both see it.

A value is compared whole, without case, quotes or surrounding space: ``changethis`` is a
placeholder, a random token that happens to contain ``secret`` is not. The list holds template
placeholders (``changeme``, ``changethis``, ``your-api-key-here``, ``<secret>``, ``${...}``,
``{{ ... }}``), famous defaults (``password``, ``admin``, ``postgres``, ``guest``, ``12345678``),
secrets named for development or tests (``dev-secret``, ``my_test_secret_key``) and keys that
say they are not for production (Django's ``django-insecure-...``, Stripe's ``sk_test_...``),
keys published as examples (AWS's, FastAPI's JWT tutorial's) and a short run repeated to make
up a length (``secretsecretsecret...``): long, and no stronger than the run.
An empty value is "not set", which is a question of its own (the env kind FAILs it; in a file
an empty optional setting such as ``SMTP_PASSWORD=`` with mail turned off is normal).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

_S = r"[-_ .]?"  # an optional separator: change-me, change_me, change me, changeme
_SECRET_WORD = rf"(secret|password|passwd|passphrase|pass|pwd|token|key|api{_S}key|jwt{_S}secret)"
_NOT_PRODUCTION = (
    r"(dev|development|test|testing|local|staging|example|sample|dummy|fake|mock|default"
    r"|insecure|unsafe)"
)
_ALTERNATIVES = (
    # template placeholders: change it, replace it, fill it in
    rf"(please{_S})?change{_S}(me|this|it)({_S}(now|please|later|in{_S}prod(uction)?))?!*",
    rf"please{_S}change|(replace|set|fill|update){_S}(me|this|it)",
    rf"to{_S}be{_S}(changed|replaced|set|defined|filled)",
    r"your[-_ .].*|<.*>|\$\{.*\}|\{\{.*\}\}|\[.*\]",
    r"placeholder|todo|tbd|fixme|\*+|\.\.\.+|-+|none|null|nil|undefined|unset|empty|n/?a",
    # a secret word alone or dressed up: secret, mysecret, supersecret_key, api-key-here
    rf"((my|the|some|a|super|top){_S})?({_NOT_PRODUCTION}{_S})?{_SECRET_WORD}"
    rf"({_S}(key|here|goes{_S}here|value|\d{{1,3}}))*!*",
    # a secret named for development or tests: dev-secret-123, my_test_secret_key
    rf"[a-z0-9_-]*{_NOT_PRODUCTION}{_S}{_SECRET_WORD}[a-z0-9_-]*",
    # famous defaults, and words that are not secrets
    r"admin|administrator|root|toor|guest|user|postgres|mysql|redis|rabbitmq|minio(admin)?",
    r"letmein|welcome1?|qwerty(uiop)?|passw0rd|p@ssw[o0]rd|monkey|dragon|iloveyou|trustno1",
    r"test|testing|dev|development|demo|example|sample|dummy|fake|mock|temp|tmp|default",
    rf"insecure|notsecret|not{_S}a{_S}secret|foo|bar|foobar|baz|qux|hello|hunter2",
    r"0+|1+|1234(5(6(7(89?)?)?)?)?0?|abc(123|def)?|a+|x+",
    # keys that say they are not for production
    r"django-insecure-.*|(sk|pk|rk)_test_.*",
    # keys published as examples, copied into applications: AWS's documentation keys, and the
    # key of FastAPI's OAuth2/JWT tutorial (64 random-looking hex digits, in thousands of apps)
    r"akiaiosfodnn7example|wjalrxutnfemi/k7mdeng/bpxrficyexamplekey",
    r"09d25e094faa6ca2556c818166b7a9563b93f7099f6f0f4caa6cf63b88e8d3e7",
    # a short run said three times or more: secretsecretsecret..., 0123456789abcdef0123...
    r"(?P<unit>.{1,16}?)(?P=unit){2,}",
)
PLACEHOLDER = re.compile("(?i)^(" + "|".join(_ALTERNATIVES) + ")$")
# Longer values are not placeholders. The list's patterns backtrack, so a value of megabytes
# (a file probe reads up to 4 MiB) would hold a worker thread for hours; 1,024 characters cost
# about a millisecond, and no placeholder, default or test key is that long.
MAX_PLACEHOLDER = 1024

# A setting's name that says its value is a credential: the secret word ends the name
# (SECRET_KEY, SMTP_PASSWORD, STRIPE_API_KEY, db.password), so TOKEN_EXPIRE_MINUTES and
# PASSWORD_MIN_LENGTH are not judged.
SECRET_NAME = re.compile(
    r"(?i)(^|[_.-])(secret|secret_?key|password|passwd|passphrase|pwd|pass|token|"
    r"api_?key|access_?key|private_?key|key|credentials?)$"
)

# KEY=value (dotenv, with an optional ``export``) or key: value (YAML), one per line. The value
# is taken whole and stripped by setting_value: a lazy ``(.*?)[ \t]*$`` is quadratic in a long
# run of spaces.
_ASSIGNMENT = re.compile(
    r"^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*[=:](.*)$", re.MULTILINE
)
# Where a trailing comment starts: "#" after white space (a look-behind, so a long run of white
# space is read once).
_COMMENT = re.compile(r"(?<=\s)#")
_URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:([^@/\s]*)@")


def is_placeholder(value: str) -> bool:
    """Whether a (non-empty) value is a placeholder, a default or a dev/test secret."""
    value = value.strip()
    return 0 < len(value) <= MAX_PLACEHOLDER and PLACEHOLDER.match(value) is not None


def setting_value(raw: str) -> str:
    """A dotenv or YAML value as the application reads it: quotes and a trailing comment off."""
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        end = raw.find(raw[0], 1)
        return raw[1:end] if end > 0 else raw[1:]
    comment = _COMMENT.search(raw)
    return (raw[: comment.start()] if comment else raw).strip()


def url_password(value: str) -> str | None:
    """The password in ``scheme://user:password@host...``, decoded; None without one."""
    match = _URL_PASSWORD.match(value)
    return unquote(match.group(1)) if match else None


def placeholder_settings(text: str) -> list[tuple[int, str]]:
    """(line, name) of each setting of ``text`` that holds a placeholder credential.

    Judged: settings whose name ends with a secret word (``SECRET_KEY``, ``SMTP_PASSWORD``),
    and the password inside any URL value (``DATABASE_URL=postgresql://app:changethis@db/app``).
    Never returns a value: callers show the line and the name only.
    """
    found = []
    for match in _ASSIGNMENT.finditer(text):
        name, value = match.group(1), setting_value(match.group(2))
        password = url_password(value)
        if (SECRET_NAME.search(name) and is_placeholder(value)) or (
            password is not None and is_placeholder(password)
        ):
            found.append((text.count("\n", 0, match.start()) + 1, name))
    return found
