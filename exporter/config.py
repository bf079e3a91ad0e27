"""The checklist config: read ``config.yaml``, expand ``${VAR}``, validate everything at once.

Every mistake becomes one line that names the file, the place and the item, e.g.
``config.yaml: categories[0].items[3] (S-011): http.expect_status must be a list of integers
(got "200")``; ``load`` raises ``ConfigError`` with all of them, so nothing is half-applied.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from probes import safeyaml
from probes.fields import SpecError, Unresolved, parse_duration, show
from probes.reading import NotRegularFile, read_capped
from probes.registry import parse_probe

from . import item_ids
from .redact import NOTHING, Redactor, secrets_in_spec, sensitive_variables

PRIORITIES = ("critical", "high", "medium", "low")
DEFAULT_INTERVAL = 60.0
DEFAULT_TIMEOUT = 10.0
DEFAULT_CONCURRENCY = 64
MAX_CONFIG_BYTES = 8 * 1024 * 1024
_VAR = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\})")


class ConfigError(Exception):
    """Raised when a config cannot be used; ``errors`` holds one located line per problem."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Thresholds:
    """Total score needed for GO and for GO WITH CAUTION (critical score must be 1)."""

    go: float = 0.95
    caution: float = 0.90


@dataclass(frozen=True)
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
    spec: Any
    raw_probe: Mapping[str, Any]  # as written, ${VAR} unexpanded: safe to show
    missing: tuple[str, ...] = ()  # unset variables: the item is PENDING, not probed
    # Masks this item's credentials in whatever is shown of it (summaries, logs, errors).
    redactor: Redactor = field(default=NOTHING, compare=False, repr=False)

    @property
    def probed(self) -> bool:
        """Whether the engine runs this item's probe (applicable and fully configured)."""
        return self.applicable and not self.missing

    def schedule_key(self) -> tuple[Any, ...]:
        """What must stay equal across a reload for the item to keep its last result."""
        return (self.kind, self.spec, self.interval, self.timeout, self.applicable, self.missing)


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

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(i for c in self.categories for i in c.items)

    def item(self, item_id: str) -> Item | None:
        return next((i for i in self.items if i.id == item_id), None)


def expand(value: Any, env: Mapping[str, str], missing: list[str]) -> Any:
    """``value`` with ``${VAR}`` and ``${VAR:-default}`` expanded in every string.

    A string that needs an unset variable becomes ``Unresolved`` and the name goes to ``missing``.
    ``$$`` stands for a literal ``$``.
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

        text = _VAR.sub(substitute, value)
        if unset:
            missing.extend(n for n in unset if n not in missing)
            return Unresolved(tuple(unset))
        return text
    if isinstance(value, Mapping):
        return {k: expand(v, env, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, env, missing) for v in value]
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


def load(path: str | Path, env: Mapping[str, str] | None = None) -> Checklist:
    """Read and validate the checklist at ``path``; raises ConfigError listing every problem."""
    path = Path(path)
    doc = read_yaml(path)
    return parse(doc, path, os.environ if env is None else env)


class _Errors:
    def __init__(self, path: Path):
        self.path = path
        self.lines: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.lines.append(
            f"{self.path.name}: {where}: {message}" if where else f"{self.path.name}: {message}"
        )


def _keys(errors: _Errors, where: str, raw: Mapping[str, Any], known: tuple[str, ...]) -> None:
    for key in raw:
        if key not in known:
            errors.add(where, f"{key} is not a known field (known: {', '.join(known)})")


def _duration(errors: _Errors, where: str, key: str, value: Any, default: float) -> float:
    if value is None:
        return default
    try:
        seconds = parse_duration(value)
    except ValueError:
        errors.add(where, f"{key} must be a duration such as 30s, 5m or 1h (got {show(value)})")
        return default
    if seconds <= 0:
        errors.add(where, f"{key} must be longer than 0s (got {show(value)})")
        return default
    return seconds


def _ratio(errors: _Errors, key: str, value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        errors.add("decision", f"{key} must be a ratio between 0 and 1 (got {show(value)})")
        return default
    return float(value)


def parse(doc: Any, path: Path, env: Mapping[str, str]) -> Checklist:
    """Validate a parsed config document; raises ConfigError with every problem found."""
    errors = _Errors(path)
    if not isinstance(doc, Mapping):
        raise ConfigError(
            [f"{path.name}: must be a mapping with checklist and categories (got {show(doc)})"]
        )
    _keys(errors, "", doc, ("checklist", "decision", "defaults", "engine", "categories"))

    checklist = doc.get("checklist") or {}
    name = "Production readiness"
    if not isinstance(checklist, Mapping):
        errors.add("checklist", f"must be a mapping with a name (got {show(checklist)})")
    else:
        _keys(errors, "checklist", checklist, ("name",))
        name = str(checklist.get("name") or name)

    decision = doc.get("decision") or {}
    thresholds = Thresholds()
    if not isinstance(decision, Mapping):
        errors.add("decision", f"must be a mapping with go and caution (got {show(decision)})")
    else:
        _keys(errors, "decision", decision, ("go", "caution"))
        thresholds = Thresholds(
            _ratio(errors, "go", decision.get("go"), 0.95),
            _ratio(errors, "caution", decision.get("caution"), 0.90),
        )
        if thresholds.caution > thresholds.go:
            errors.add(
                "decision",
                f"caution ({thresholds.caution:g}) must not be above go ({thresholds.go:g})",
            )

    defaults = doc.get("defaults") or {}
    interval, timeout = DEFAULT_INTERVAL, DEFAULT_TIMEOUT
    if not isinstance(defaults, Mapping):
        errors.add(
            "defaults", f"must be a mapping with interval and timeout (got {show(defaults)})"
        )
    else:
        _keys(errors, "defaults", defaults, ("interval", "timeout"))
        interval = _duration(errors, "defaults", "interval", defaults.get("interval"), interval)
        timeout = _duration(errors, "defaults", "timeout", defaults.get("timeout"), timeout)

    engine = doc.get("engine") or {}
    concurrency = DEFAULT_CONCURRENCY
    if not isinstance(engine, Mapping):
        errors.add("engine", f"must be a mapping (got {show(engine)})")
    else:
        _keys(errors, "engine", engine, ("concurrency",))
        value = engine.get("concurrency", concurrency)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            errors.add(
                "engine", f"concurrency must be a whole number of at least 1 (got {show(value)})"
            )
        else:
            concurrency = value

    raw_categories = doc.get("categories")
    categories: list[Category] = []
    if not isinstance(raw_categories, list) or not raw_categories:
        errors.add(
            "categories", f"must be a list of categories with items (got {show(raw_categories)})"
        )
        raw_categories = []
    seen_items: dict[str, str] = {}
    seen_categories: set[str] = set()
    for ci, raw_cat in enumerate(raw_categories):
        where = f"categories[{ci}]"
        if not isinstance(raw_cat, Mapping):
            errors.add(where, f"must be a mapping with id, title and items (got {show(raw_cat)})")
            continue
        _keys(errors, where, raw_cat, ("id", "title", "items"))
        cat_id = raw_cat.get("id")
        if not isinstance(cat_id, str) or not cat_id:
            errors.add(where, f"id must be a non-empty string (got {show(cat_id)})")
            cat_id = f"#{ci}"
        elif cat_id in seen_categories:
            errors.add(where, f"id {show(cat_id)} is used by another category")
        seen_categories.add(cat_id)
        where = f"{where} ({cat_id})"
        raw_items = raw_cat.get("items")
        if not isinstance(raw_items, list):
            errors.add(where, f"items must be a list (got {show(raw_items)})")
            raw_items = []
        items = []
        for ii, raw_item in enumerate(raw_items):
            item = _item(
                errors,
                f"categories[{ci}].items[{ii}]",
                raw_item,
                cat_id,
                interval,
                timeout,
                path.parent,
                env,
                seen_items,
            )
            if item is not None:
                items.append(item)
        categories.append(Category(cat_id, str(raw_cat.get("title") or cat_id), tuple(items)))

    if errors.lines:
        raise ConfigError(errors.lines)
    return Checklist(name, tuple(categories), thresholds, concurrency, path)


def _item(
    errors: _Errors,
    where: str,
    raw: Any,
    category: str,
    interval: float,
    timeout: float,
    base_dir: Path,
    env: Mapping[str, str],
    seen: dict[str, str],
) -> Item | None:
    if not isinstance(raw, Mapping):
        errors.add(where, f"must be a mapping with id, title, priority and probe (got {show(raw)})")
        return None
    item_id = raw.get("id")
    if not isinstance(item_id, str) or not item_id.strip():
        errors.add(where, f"id must be a non-empty string (got {show(item_id)})")
        return None
    if not item_ids.is_valid(item_id):
        errors.add(where, f"id must be {item_ids.RULE} characters (got {show(item_id)})")
        return None
    before = len(errors.lines)
    first = seen.get(item_id)
    where = f"{where} ({item_id})"
    if first is not None:
        errors.add(where, f"id {item_id} is already used at {first}")
    else:
        seen[item_id] = where.split(" ")[0]
    _keys(
        errors,
        where,
        raw,
        ("id", "title", "priority", "interval", "timeout", "applicable", "notes", "probe"),
    )
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        errors.add(where, f"title must be a non-empty string (got {show(title)})")
    priority = str(raw.get("priority", "")).lower()
    if priority not in PRIORITIES:
        errors.add(
            where,
            f"priority must be one of {', '.join(PRIORITIES)} (got {show(raw.get('priority'))})",
        )
    item_interval = _duration(errors, where, "interval", raw.get("interval"), interval)
    item_timeout = _duration(errors, where, "timeout", raw.get("timeout"), timeout)
    if item_timeout > item_interval:
        errors.add(
            where,
            f"timeout ({raw.get('timeout') or show(item_timeout)}) must not be longer "
            f"than interval ({raw.get('interval') or show(item_interval)})",
        )
    applicable = raw.get("applicable", True)
    if not isinstance(applicable, bool):
        errors.add(where, f"applicable must be true or false (got {show(applicable)})")
        applicable = True
    raw_probe = raw.get("probe")
    kind, spec, missing = "", None, []
    redactor = NOTHING
    if raw_probe is None:
        if applicable:
            errors.add(where, "probe is required (or set applicable: false)")
    else:
        expanded = expand(raw_probe, env, missing)
        redactor = Redactor(sensitive_variables(raw_probe, env, _VAR))
        try:
            kind, spec = parse_probe(expanded, "", base_dir)
        except SpecError as exc:
            errors.add(where, redactor.text(f"probe {exc}" if not exc.field else str(exc)))
        except Exception as exc:  # noqa: BLE001 - a kind's checks tripping on an odd value
            if missing:
                # A value that needs an unset variable cannot be checked yet: the item waits,
                # PENDING, like any other item that is not configured.
                kind = next(iter(raw_probe)) if isinstance(raw_probe, Mapping) else ""
            else:
                errors.add(
                    where, redactor.text(f"probe could not be read ({type(exc).__name__}: {exc})")
                )
        else:
            values, files = secrets_in_spec(spec)
            redactor = Redactor([*redactor.values, *values], files)
    if len(errors.lines) > before:
        return None
    return Item(
        id=item_id,
        title=title.strip(),
        category=category,
        priority=priority,
        interval=item_interval,
        timeout=item_timeout,
        applicable=applicable,
        notes=str(raw.get("notes") or ""),
        kind=kind,
        spec=spec,
        raw_probe=raw_probe or {},
        missing=tuple(missing),
        redactor=redactor,
    )
