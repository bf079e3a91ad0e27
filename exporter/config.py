"""The checklist config: read ``config.yaml``, expand ``${VAR}``, validate everything at once.

Every mistake becomes one line that names the file, the place and the item, e.g.
``config.yaml: categories[0].items[3] (S-011): http.expect_status must be a list of integers
(got "200")``. ``parse`` reads the document section by section (checklist, decision, defaults,
engine, categories and their items, each item's probe) into one ``Problems`` collector and
raises ``ConfigError`` with every line it holds, so nothing is half-applied.
"""

from __future__ import annotations

import functools
import os
import pickle
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from probes import safeyaml
from probes.fields import Unresolved, format_duration, parse_duration
from probes.kind import Probe, Registry
from probes.pool import DEFAULT_PER_DSN
from probes.problems import Problems, show
from probes.reading import NotRegularFile, read_capped
from probes.registry import KINDS

from . import item_ids
from .errors import ConfigError as ConfigError  # callers catch config.ConfigError
from .launch import (
    DEFAULT_ROLES,
    POST_LAUNCH_PHASES,
    Phase,
    RecordError,
    parse_instant,
    resolve_owner,
    resolve_role,
    role_key,
)
from .redact import NOTHING, Redactor, secrets_in_spec, sensitive_variables

PRIORITIES = ("critical", "high", "medium", "low")
DEFAULT_INTERVAL = 60.0
DEFAULT_TIMEOUT = 10.0
DEFAULT_CONCURRENCY = 64
DEFAULT_SQL_CONNECTIONS = DEFAULT_PER_DSN  # connections per database DSN, shared by its items
MAX_CONFIG_BYTES = 8 * 1024 * 1024
_NO_INTERVALS: Mapping[Phase, float] = MappingProxyType({})
_VAR = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\})")
TOP_KEYS = (
    "checklist",
    "decision",
    "defaults",
    "engine",
    "tls",
    "signoff",
    "launch",
    "categories",
)
DEFAULTS_KEYS = ("interval", "timeout", "owner")
CATEGORY_KEYS = ("id", "title", "owner", "intervals", "items")
ITEM_KEYS = (
    "id",
    "title",
    "priority",
    "interval",
    "timeout",
    "intervals",
    "applicable",
    "owner",
    "phase",
    "remediation",
    "notes",
    "probe",
)


@dataclass(frozen=True)
class Thresholds:
    """Total score needed for GO and for GO WITH CAUTION (critical score must be 1)."""

    go: float = 0.95
    caution: float = 0.90


@dataclass(frozen=True, slots=True)  # slots: 10,000s of items
class Item:
    id: str
    title: str
    category: str
    priority: str
    interval: float
    timeout: float
    applicable: bool
    notes: str
    kind: str
    spec: Any  # the kind's Spec; None while variables are missing, or without a probe
    # The probe mapping as written (${VAR} unexpanded: safe to show), pickled: only the item
    # page reads it (``raw_probe``), and as objects it held 3 MB at 10,000 items.
    probe_as_written: bytes
    missing: tuple[str, ...] = ()  # unset variables: the item is PENDING, not probed
    owner: str = ""  # its own, else its category's, else defaults.owner; "" when none
    # The interval by launch phase where it differs from ``interval`` (its category's, then its
    # own ``intervals:``); exporter/launch.py's interval_at picks the one in force.
    intervals: Mapping[Phase, float] = field(default_factory=dict)
    remediation: str = ""  # the config's remediation plan (a person's record replaces it)
    # A post-launch task (P020's "Post-Launch Validation"): due at the end of this phase, and
    # left out of the Go/No-Go scores. None for the checklist's own items.
    phase: Phase | None = None
    # Its probe answers from the Sign-Off Sheet (a ``signoff`` or ``decision`` kind, as the
    # registry's ``sheet_roles`` hook says): counted as given in the state signatures are bound
    # to, and judged again whenever that state or the records change.
    from_sheet: bool = False
    # This item's credentials; what is shown is masked with the checklist's (all items').
    redactor: Redactor = field(default=NOTHING, compare=False, repr=False)

    @property
    def raw_probe(self) -> Mapping[str, Any]:
        """The probe mapping as written; empty for an item without a probe."""
        return pickle.loads(self.probe_as_written) if self.probe_as_written else {}  # noqa: S301 - pickled by config.py itself

    @property
    def probed(self) -> bool:
        """Whether the engine runs this item's probe (applicable and fully configured)."""
        return self.applicable and not self.missing

    @property
    def post_launch(self) -> bool:
        """Whether this is a post-launch task rather than an item of the launch decision."""
        return self.phase is not None

    def schedule_key(self) -> tuple[Any, ...]:
        """What must stay equal across a reload for the item to keep its last result."""
        return (
            self.kind,
            self.spec,
            self.interval,
            self.timeout,
            tuple(sorted(self.intervals.items())),
            self.applicable,
            self.missing,
            self.phase,
        )


@dataclass(frozen=True)
class Category:
    id: str
    title: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Checklist:
    name: str
    categories: tuple[Category, ...]
    thresholds: Thresholds = field(default_factory=Thresholds)
    concurrency: int = DEFAULT_CONCURRENCY
    path: Path = Path("config.yaml")
    # Masks every item's credentials in whatever is shown, since one item's output may show
    # another's (a command). A field, so a checklist cut down to some items keeps it whole.
    redactor: Redactor = field(default=NOTHING, compare=False, repr=False)
    sql_connections_per_dsn: int = DEFAULT_SQL_CONNECTIONS
    roles: tuple[str, ...] = DEFAULT_ROLES  # signoff: the roles of the Sign-Off Sheet
    launch_at: float | None = None  # launch: (a recorded decision's launch time wins)
    # tls.ca_file: the CAs every https/tls/alerting/promql probe trusts unless it names its own
    ca_file: Path | None = None
    # False for a checklist cut down to some items (check --item, --owner): the state a
    # signature is bound to is the whole checklist's, so the sheet's items cannot judge.
    whole: bool = True

    @functools.cached_property
    def items(self) -> tuple[Item, ...]:
        """Every item, in config order (asked at every snapshot and render: built once)."""
        return tuple(i for c in self.categories for i in c.items)

    @property
    def launch_items(self) -> tuple[Item, ...]:
        """The items of the launch decision: every item but the post-launch tasks."""
        return tuple(i for i in self.items if not i.post_launch)

    @functools.cached_property
    def task_ids(self) -> frozenset[str]:
        """The IDs of the post-launch tasks (asked at every snapshot: computed once)."""
        return frozenset(i.id for i in self.items if i.post_launch)

    @functools.cached_property
    def sheet_ids(self) -> frozenset[str]:
        """The IDs of the items that answer from the Sign-Off Sheet (signoff, decision)."""
        return frozenset(i.id for i in self.items if i.from_sheet)

    @functools.cached_property
    def _by_id(self) -> dict[str, Item]:
        return {i.id: i for i in self.items}

    def item(self, item_id: str) -> Item | None:
        """The item with this ID (a dict lookup: outputs ask it for each blocker)."""
        return self._by_id.get(item_id)


def expand(value: Any, env: Mapping[str, str]) -> Any:
    """``value`` with ``${VAR}`` and ``${VAR:-default}`` expanded in every string.

    A string that needs an unset variable becomes ``Unresolved`` (naming it), which only the
    probe settings' reader (``probes.fields``) ever looks at. ``$$`` stands for a literal ``$``.
    """
    if isinstance(value, str):
        unset: list[str] = []

        def substitute(m: re.Match[str]) -> str:
            if m.group(0) == "$$":
                return "$"
            name, default = m.group(1), m.group(2)
            if name in env and env[name] != "":
                return env[name]
            if default is not None:
                return default
            unset.append(name)
            return ""

        # A reference ends at a "}", so past the last one only "$$" can match: left to _VAR,
        # every "${A:-" after it would be read to the end of the text, quadratic in their number.
        cut = value.rfind("}") + 1
        text = _VAR.sub(substitute, value[:cut]) + value[cut:].replace("$$", "$")
        return Unresolved(tuple(unset)) if unset else text
    if isinstance(value, Mapping):
        return {k: expand(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, env) for v in value]
    return value


def read_yaml(path: Path) -> Any:
    """The parsed YAML document at ``path``; raises ConfigError naming the file and line.

    Read like the files probes read (probes/reading.py): regular files only, opened without
    blocking, so a FIFO given as the config cannot wedge a reload or shutdown.
    """
    try:
        data = read_capped(path, MAX_CONFIG_BYTES + 1)
    except NotRegularFile as exc:
        raise ConfigError([f"{path}: {exc.strerror}"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read ({exc.strerror or exc})"]) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError([f"{path}: larger than {MAX_CONFIG_BYTES // 1024 // 1024} MiB"])
    try:
        return safeyaml.load(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text (byte {exc.start})"]) from None
    except safeyaml.DocumentError as exc:
        raise ConfigError([f"{path}: {exc}"]) from None


def load(
    path: str | Path, env: Mapping[str, str] | None = None, kinds: Registry = KINDS
) -> Checklist:
    """Read and validate the checklist at ``path``; raises ConfigError listing every problem."""
    path = Path(path)
    doc = read_yaml(path)
    return parse(doc, path, os.environ if env is None else env, kinds)


def parse(doc: Any, path: Path, env: Mapping[str, str], kinds: Registry = KINDS) -> Checklist:
    """Validate a parsed config document (probes of the ``kinds`` given); raises ConfigError."""
    if not isinstance(doc, Mapping):
        raise ConfigError(
            [f"{path.name}: must be a mapping with checklist and categories (got {show(doc)})"]
        )
    problems = Problems(path.name)
    _known_keys(problems, doc, TOP_KEYS)
    name = _checklist_name(problems.at("checklist"), doc.get("checklist") or {})
    thresholds = _thresholds(problems.at("decision"), doc.get("decision") or {})
    interval, timeout, owner = _defaults(problems.at("defaults"), doc.get("defaults") or {})
    concurrency, sql_connections = _engine(problems.at("engine"), doc.get("engine") or {})
    roles = _roles(problems, doc.get("signoff"))
    launch_at = _launch(problems, doc.get("launch"))
    ca_file = _tls(problems.at("tls"), doc.get("tls"), path.parent, env)
    items = _ItemReader(interval, timeout, owner, path.parent, env, kinds, roles)
    categories = _categories(problems, doc.get("categories"), items)
    if problems:
        raise ConfigError(problems.lines)
    redactor = Redactor.union(i.redactor for c in categories for i in c.items)
    return Checklist(
        name,
        categories,
        thresholds,
        concurrency,
        path,
        redactor,
        sql_connections_per_dsn=sql_connections,
        roles=roles,
        launch_at=launch_at,
        ca_file=ca_file,
    )


def _known_keys(problems: Problems, raw: Mapping[Any, Any], known: tuple[str, ...]) -> None:
    for key in raw:
        if key not in known:
            problems.add(f"{key} is not a known field (known: {', '.join(known)})")


# The shortest interval and timeout accepted: a probe every millisecond spends the exporter's
# CPU on scheduling and hammers its target, and a timeout of a few milliseconds leaves a probe
# nothing once the engine's margin for recording the result is taken (probes/context.py).
# Production checklists probe every minute or hour; tests and benchmarks need 100ms.
SHORTEST = {"interval": 0.1, "timeout": 0.1, "intervals": 0.1}


def _duration(problems: Problems, key: str, value: Any, default: float) -> float:
    if value is None:
        return default
    try:
        seconds = parse_duration(value)
    except ValueError:
        problems.add(f"{key} must be a duration such as 30s, 5m or 1h (got {show(value)})")
        return default
    shortest = SHORTEST[key.rpartition(".")[0] or key]  # intervals.first_48h: an interval
    if seconds < shortest:
        problems.add(f"{key} must be at least {format_duration(shortest)} (got {show(value)})")
        return default
    return seconds


def _ratio(problems: Problems, key: str, value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        problems.add(f"{key} must be a ratio between 0 and 1 (got {show(value)})")
        return default
    return float(value)


# -- the sections, in the order a config writes them -------------------------------------------


def _checklist_name(problems: Problems, raw: Any) -> str:
    name = "Production readiness"
    if not isinstance(raw, Mapping):
        problems.add(f"must be a mapping with a name (got {show(raw)})")
        return name
    _known_keys(problems, raw, ("name",))
    return str(raw.get("name") or name)


def _thresholds(problems: Problems, raw: Any) -> Thresholds:
    default = Thresholds()
    if not isinstance(raw, Mapping):
        problems.add(f"must be a mapping with go and caution (got {show(raw)})")
        return default
    _known_keys(problems, raw, ("go", "caution"))
    thresholds = Thresholds(
        _ratio(problems, "go", raw.get("go"), default.go),
        _ratio(problems, "caution", raw.get("caution"), default.caution),
    )
    if thresholds.caution > thresholds.go:
        problems.add(f"caution ({thresholds.caution:g}) must not be above go ({thresholds.go:g})")
    return thresholds


def _defaults(problems: Problems, raw: Any) -> tuple[float, float, str]:
    """The interval, timeout and owner of items that set none."""
    if not isinstance(raw, Mapping):
        problems.add(f"must be a mapping with interval, timeout and owner (got {show(raw)})")
        return DEFAULT_INTERVAL, DEFAULT_TIMEOUT, ""
    _known_keys(problems, raw, DEFAULTS_KEYS)
    return (
        _duration(problems, "interval", raw.get("interval"), DEFAULT_INTERVAL),
        _duration(problems, "timeout", raw.get("timeout"), DEFAULT_TIMEOUT),
        _owner(problems, raw.get("owner")),
    )


def _owner(problems: Problems, value: Any) -> str:
    """An ``owner:``: a team or a person, as a non-empty string ("" when not given)."""
    if value is None:
        return ""
    if not isinstance(value, str) or not value.strip():
        problems.add(
            f"owner must be a non-empty string naming a team or person (got {show(value)})"
        )
        return ""
    return " ".join(value.split())


def _roles(problems: Problems, raw: Any) -> tuple[str, ...]:
    """``signoff:``: the roles of the Sign-Off Sheet (P020's five when not given)."""
    if raw is None:
        return DEFAULT_ROLES
    here = problems.at("signoff")
    if not isinstance(raw, list) or not raw:
        here.add(f'must be a list of roles such as "Engineering Lead" (got {show(raw)})')
        return DEFAULT_ROLES
    roles: list[str] = []
    seen: dict[str, int] = {}
    for n, role in enumerate(raw):
        if not isinstance(role, str) or not role.strip():
            here.add(f"[{n}] must be a role's name (got {show(role)})")
            continue
        first = seen.setdefault(role_key(role), n)
        if first != n:
            here.add(f"[{n}] {show(role)} is the same role as [{first}]")
            continue
        roles.append(" ".join(role.split()))
    return tuple(roles) or DEFAULT_ROLES


def _launch(problems: Problems, raw: Any) -> float | None:
    """``launch:``: the planned launch time (a decision recorded with --launch replaces it)."""
    if raw is None:
        return None
    try:
        return parse_instant(raw)
    except ValueError:
        problems.at("launch").add(
            f"must be a date-time in UTC such as 2026-12-01T14:00:00Z (got {show(raw)})"
        )
        return None


def _tls(problems: Problems, raw: Any, base: Path, env: Mapping[str, str]) -> Path | None:
    """``tls: {ca_file: ...}``: a private CA every TLS client of the probes trusts (a variable
    that is unset or empty means none: the system's CAs)."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.add(f"must be a mapping with ca_file (got {show(raw)})")
        return None
    _known_keys(problems, raw, ("ca_file",))
    value = expand(raw.get("ca_file"), env)
    if value is None or isinstance(value, Unresolved) or value == "":
        return None
    if not isinstance(value, str):
        problems.add(f"ca_file must be a path (got {show(value)})")
        return None
    ca_file = base / value
    try:
        ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        problems.add(f"ca_file {ca_file}: not a readable PEM file of CA certificates ({reason})")
        return None
    return ca_file


def _intervals(problems: Problems, raw: Any) -> dict[Phase, float]:
    """``intervals:``: the interval in some launch phases (``{first_48h: 1h}``)."""
    if raw is None:
        return {}
    names = ", ".join(p.value for p in Phase)
    if not isinstance(raw, Mapping):
        problems.add(f"intervals must be a mapping of launch phases ({names}) to durations")
        return {}
    found: dict[Phase, float] = {}
    for key, value in raw.items():
        try:
            phase = Phase(key)
        except ValueError:
            problems.add(f"intervals: {show(key)} is not a launch phase (known: {names})")
            continue
        if value is None:
            problems.add(f"intervals.{key} must be a duration such as 15m or 1h (got null)")
            continue
        seconds = _duration(problems, f"intervals.{key}", value, 0.0)
        if seconds:
            found[phase] = seconds
    return found


def _engine(problems: Problems, raw: Any) -> tuple[int, int]:
    """Probe runs in flight at once, and connections each sql DSN may have open at once."""
    if not isinstance(raw, Mapping):
        problems.add(f"must be a mapping (got {show(raw)})")
        return DEFAULT_CONCURRENCY, DEFAULT_SQL_CONNECTIONS
    _known_keys(problems, raw, ("concurrency", "sql_connections_per_dsn"))
    return (
        _whole(problems, raw, "concurrency", DEFAULT_CONCURRENCY),
        _whole(problems, raw, "sql_connections_per_dsn", DEFAULT_SQL_CONNECTIONS),
    )


def _whole(problems: Problems, raw: Mapping[str, Any], key: str, default: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        problems.add(f"{key} must be a whole number of at least 1 (got {show(value)})")
        return default
    return value


def _categories(problems: Problems, raw: Any, items: _ItemReader) -> tuple[Category, ...]:
    if not isinstance(raw, list) or not raw:
        problems.at("categories").add(f"must be a list of categories with items (got {show(raw)})")
        return ()
    categories = []
    seen: set[str] = set()
    for ci, raw_category in enumerate(raw):
        where = f"categories[{ci}]"
        here = problems.at(where)
        if not isinstance(raw_category, Mapping):
            here.add(f"must be a mapping with id, title and items (got {show(raw_category)})")
            continue
        _known_keys(here, raw_category, CATEGORY_KEYS)
        cat_id = raw_category.get("id")
        if not isinstance(cat_id, str) or not cat_id:
            here.add(f"id must be a non-empty string (got {show(cat_id)})")
            cat_id = f"#{ci}"
        elif cat_id in seen:
            here.add(f"id {show(cat_id)} is used by another category")
        seen.add(cat_id)
        named = problems.at(f"{where} ({cat_id})")
        raw_items = raw_category.get("items")
        if not isinstance(raw_items, list):
            named.add(f"items must be a list (got {show(raw_items)})")
            raw_items = []
        shared = _Shared(
            _owner(named, raw_category.get("owner")),
            _intervals(named, raw_category.get("intervals")),
        )
        found = (
            items.read(problems, f"{where}.items[{ii}]", raw_item, cat_id, shared)
            for ii, raw_item in enumerate(raw_items)
        )
        title = str(raw_category.get("title") or cat_id)
        categories.append(Category(cat_id, title, tuple(i for i in found if i is not None)))
    return tuple(categories)


@dataclass(frozen=True)
class _Shared:
    """What a category gives its items: an owner and intervals by phase."""

    owner: str = ""
    intervals: Mapping[Phase, float] = field(default_factory=dict)


@dataclass
class _ItemReader:
    """Reads items with what they share: the defaults, the config's folder, the environment
    and the probe kinds an item may name."""

    interval: float
    timeout: float
    owner: str
    base_dir: Path
    env: Mapping[str, str]
    kinds: Registry
    roles: tuple[str, ...] = DEFAULT_ROLES  # signoff: the roles sheet items may name
    seen: dict[str, str] = field(default_factory=dict)  # item ID -> where it was first used
    signed_by: dict[str, str] = field(default_factory=dict)  # role key -> the item reading it

    def read(
        self,
        problems: Problems,
        where: str,
        raw: Any,
        category: str,
        shared: _Shared = _Shared(),
    ) -> Item | None:
        """The item at ``where``, or None when it has problems (each recorded)."""
        if not isinstance(raw, Mapping):
            problems.at(where).add(
                f"must be a mapping with id, title, priority and probe (got {show(raw)})"
            )
            return None
        item_id = raw.get("id")
        if not isinstance(item_id, str) or not item_id.strip():
            problems.at(where).add(f"id must be a non-empty string (got {show(item_id)})")
            return None
        if not item_ids.is_valid(item_id):
            problems.at(where).add(f"id must be {item_ids.RULE} characters (got {show(item_id)})")
            return None
        raw_probe = raw.get("probe")
        sensitive = sensitive_variables(raw_probe, self.env, _VAR) if raw_probe else []
        # Most items hold no credential: they share NOTHING (10,000 empty redactors were 4 MB).
        redactor = Redactor(sensitive) if sensitive else NOTHING
        # Every line about the item masks its credentials: a wrong value may quote one.
        here = problems.at(f"{where} ({item_id})", redactor.text)
        before = len(problems)
        first = self.seen.setdefault(item_id, where)
        if first != where:
            here.add(f"id {item_id} is already used at {first}")
        _known_keys(here, raw, ITEM_KEYS)
        title = raw.get("title")
        if not isinstance(title, str) or not title.strip():
            here.add(f"title must be a non-empty string (got {show(title)})")
            title = ""
        priority = str(raw.get("priority", "")).lower()
        if priority not in PRIORITIES:
            here.add(
                f"priority must be one of {', '.join(PRIORITIES)} (got {show(raw.get('priority'))})"
            )
        interval = _duration(here, "interval", raw.get("interval"), self.interval)
        timeout = _duration(here, "timeout", raw.get("timeout"), self.timeout)
        if timeout > interval:
            here.add(
                f"timeout ({raw.get('timeout') or show(timeout)}) must not be longer "
                f"than interval ({raw.get('interval') or show(interval)})"
            )
        # Most items have none: they share one empty mapping (10,000 empty dicts were 0.6 MB).
        intervals = {**shared.intervals, **_intervals(here, raw.get("intervals"))} or _NO_INTERVALS
        for in_phase, seconds in intervals.items():
            if seconds < timeout:
                here.add(
                    f"intervals.{in_phase.value} ({format_duration(seconds)}) must not be "
                    f"shorter than timeout ({format_duration(timeout)})"
                )
        owner = resolve_owner(_owner(here, raw.get("owner")), shared.owner, self.owner) or ""
        phase = _task_phase(here, raw.get("phase"))
        remediation = raw.get("remediation")
        if remediation is not None and not isinstance(remediation, str):
            here.add(f"remediation must be a ticket URL or a sentence (got {show(remediation)})")
            remediation = None
        applicable, waiting = _applicable(here, raw.get("applicable", True), self.env)
        probe = None
        if raw_probe is None:
            if applicable:
                here.add("probe is required (or set applicable: false)")
        else:
            probe = self._probe(here, raw_probe)
        from_sheet = probe is not None and self._sheet(here, item_id, probe, phase)
        if len(problems) > before:
            return None
        if probe is not None:
            values, files = secrets_in_spec(probe.spec, self.env)
            if values or files:
                redactor = Redactor([*redactor.values, *values], files)
        return Item(
            id=item_id,
            title=title.strip(),
            category=category,
            priority=priority,
            interval=interval,
            timeout=timeout,
            applicable=applicable,
            notes=str(raw.get("notes") or ""),
            kind=probe.kind if probe is not None else "",
            spec=probe.spec if probe is not None else None,
            probe_as_written=pickle.dumps(raw_probe, pickle.HIGHEST_PROTOCOL) if raw_probe else b"",
            missing=(*waiting, *(probe.waiting if probe is not None else ())),
            redactor=redactor,
            owner=owner,
            intervals=intervals,
            remediation=(remediation or "").strip(),
            phase=phase,
            from_sheet=from_sheet,
        )

    def _sheet(self, problems: Problems, item_id: str, probe: Probe, phase: Phase | None) -> bool:
        """Whether the item answers from the Sign-Off Sheet; checks the roles it reads are
        ``signoff:`` roles, each read by one item only."""
        roles_of = self.kinds[probe.kind].sheet_roles
        if roles_of is None:
            return False
        if phase is not None:
            problems.add(
                f"a post-launch task cannot answer from the Sign-Off Sheet ({probe.kind}): "
                "signatures and the decision are the launch decision's"
            )
        for role in roles_of(probe.spec) if probe.spec is not None else ():
            try:
                named = resolve_role(role, self.roles)
            except RecordError:
                problems.add(
                    f"{probe.kind}.role {show(role)} is not a role of signoff: "
                    f"({', '.join(self.roles)})"
                )
                continue
            first = self.signed_by.setdefault(role_key(named), item_id)
            if first != item_id:
                problems.add(f"{probe.kind}.role {show(named)} is already read by item {first}")
        return True

    def _probe(self, problems: Problems, raw_probe: Any) -> Probe | None:
        try:
            return self.kinds.read_probe(expand(raw_probe, self.env), self.base_dir, problems)
        except Exception as exc:  # noqa: BLE001 - a kind's checks tripping on an odd value
            problems.add(f"probe could not be read ({type(exc).__name__}: {exc})")
            return None


# The words ``applicable: ${HAS_CDN:-true}`` may expand to, as YAML 1.1 reads booleans.
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


def _applicable(
    problems: Problems, raw: Any, env: Mapping[str, str]
) -> tuple[bool, tuple[str, ...]]:
    """``applicable:`` true or false, or a variable that says which (so a component a team does
    not have is N/A by a value, not an item edit); with the variables it waits for when unset
    (the item is then PENDING, as for any unset variable)."""
    if isinstance(raw, bool):
        return raw, ()
    value = expand(raw, env) if isinstance(raw, str) else raw
    if isinstance(value, Unresolved):
        return True, value.names
    if isinstance(value, str) and value.strip().lower() in (*TRUE_WORDS, *FALSE_WORDS):
        return value.strip().lower() in TRUE_WORDS, ()
    came = f" from {raw}" if isinstance(raw, str) and raw != value else ""
    problems.add(
        f"applicable must be true or false, or a variable holding one of "
        f"{', '.join(TRUE_WORDS + FALSE_WORDS)} (got {show(value)}{came})"
    )
    return True, ()


def _task_phase(problems: Problems, raw: Any) -> Phase | None:
    """``phase:``: the post-launch phase a task belongs to (due at the phase's end)."""
    if raw is None:
        return None
    by_name = {p.value: p for p in POST_LAUNCH_PHASES}
    if raw not in by_name:
        problems.add(f"phase must be one of {', '.join(by_name)} (got {show(raw)})")
        return None
    return by_name[raw]
