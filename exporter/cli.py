"""Command line: serve (default), ``check`` for CI gates, ``validate`` for configs.

Exit codes of ``check``: 0 GO, 3 GO WITH CAUTION, 1 NO-GO, 2 config or usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import difflib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from probes.fields import parse_duration

from . import build, config, logs
from .errors import UsageError, UserError
from .launch import Level, when
from .render import FORMATS, table
from .scoring import Decision
from .snapshot import Snapshot
from .store import DB_NAME, DEFAULT_RETENTION, StartState, Store, default_storage_path
from .terminal import COLOR_MODES, Progress, use_color

EXIT_CODES = {Decision.GO: 0, Decision.GO_WITH_CAUTION: 3, Decision.NO_GO: 1}
EXIT_CONFIG = 2


def _common(parser: argparse.ArgumentParser, log_level: str = "info") -> None:
    parser.add_argument(
        "--config.file",
        dest="config_file",
        default="config.yaml",
        help="checklist config file (default: %(default)s)",
    )
    parser.add_argument(
        "--log.level",
        dest="log_level",
        default=log_level,
        choices=logs.LEVELS,
        help="only log lines at this level or above (default: %(default)s)",
    )
    parser.add_argument(
        "--log.format",
        dest="log_format",
        default="logfmt",
        choices=logs.FORMATS,
        help="log line format, as Prometheus writes it (default: %(default)s)",
    )
    _version(parser)


class _Version(argparse.Action):
    """``--version``: printed as is (argparse's own version action rewraps the lines)."""

    def __call__(self, parser: argparse.ArgumentParser, *_args: object) -> None:
        print(build().line())
        parser.exit()


def _version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--version",
        action=_Version,
        nargs=0,
        help="show the version, git revision and Python version, and exit",
    )


def _retention(value: str) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError:
        seconds = 0.0
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be a duration such as 400d (got {value!r})")
    return seconds


def _storage(parser: argparse.ArgumentParser, retention: bool = False) -> None:
    parser.add_argument(
        "--storage.path",
        dest="storage_path",
        default=None,
        metavar="DIR",
        help="the folder of the exporter's store, readiness.db (default: data/ beside the "
        "config file; created on first start)",
    )
    if retention:
        parser.add_argument(
            "--storage.retention",
            dest="storage_retention",
            type=_retention,
            default=DEFAULT_RETENTION,
            metavar="DURATION",
            help="how long status changes, records and the audit log are kept; the latest of "
            "each kind per item or role is always kept (default: 400d)",
        )


def storage_path(args: argparse.Namespace) -> Path:
    """``--storage.path``, or ``data/`` beside the config file."""
    if args.storage_path:
        return Path(args.storage_path)
    return default_storage_path(Path(args.config_file))


def serve_parser() -> argparse.ArgumentParser:
    from .daemon import DEFAULT_LISTEN
    from .metrics import ITEM_FAMILIES
    from .web import flags as web_flags

    parser = argparse.ArgumentParser(
        prog="readiness-exporter",
        description="Probe every checklist item on its interval and export status, scores and "
        "the Go/No-Go decision on /metrics. Other commands: check, validate, import, attest, "
        "accept-risk, revoke-risk, sign, revoke-signoff, decide, remediate (readiness-exporter "
        "COMMAND --help).",
    )
    _common(parser)
    parser.add_argument(
        "--web.listen-address",
        dest="listen",
        default=DEFAULT_LISTEN,
        help="address to listen on, HOST:PORT or :PORT (default: %(default)s)",
    )
    parser.add_argument(
        "--web.config.file",
        dest="web_config",
        default="",
        help="TLS and basic auth, exporter-toolkit format (docs/security.md)",
    )
    parser.add_argument(
        "--metrics.item-families",
        dest="item_families",
        default=",".join(f.key for f in ITEM_FAMILIES),
        metavar="LIST",
        help="per-item families /metrics serves, comma-separated (default: all: %(default)s)",
    )
    _storage(parser, retention=True)
    web_flags.add(parser)
    web_flags.add_write_api(parser)
    return parser


def serve(args: argparse.Namespace) -> int:
    from aiohttp import web  # noqa: F401 - fail early if the server library is missing

    from .daemon import Daemon, split_listen_address
    from .metrics import select_families
    from .web import urls as web_urls
    from .web import webconfig
    from .web.api import WritePolicy
    from .web.app import build_app

    try:
        urls = web_urls.parse(
            args.external_url, args.route_prefix, split_listen_address(args.listen)[1]
        )
        item_families = select_families(args.item_families.split(","))
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    web_config = webconfig.load(args.web_config) if args.web_config else None
    tls = web_config.server_tls() if web_config else None
    users = set(web_config.users) if web_config else set()
    if args.write_users is not None and not args.write_users <= users:
        print(
            f"--web.write-users: {', '.join(sorted(args.write_users - users))} not in "
            "basic_auth_users of --web.config.file",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    policy = WritePolicy(args.enable_write_api, args.write_users)

    async def main() -> None:
        daemon = Daemon(
            args.config_file,
            external_url=urls.external,
            storage_path=storage_path(args),
            retention=args.storage_retention,
        )
        daemon.exposition.select(item_families)
        app = build_app(daemon, urls, policy)
        if web_config is not None:
            web_config.protect(app)
        await daemon.serve(args.listen, app, tls, args.max_connections)

    try:
        asyncio.run(main())
    except OSError as exc:
        print(f"cannot listen on {args.listen}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def check_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="readiness-exporter check",
        description="Run every probe once, print the checklist and exit with the decision: "
        "0 GO, 3 GO WITH CAUTION, 1 NO-GO, 2 config error.",
    )
    _common(parser, log_level="warn")
    parser.add_argument(
        "--format",
        default="table",
        choices=tuple(FORMATS),
        help="output format (default: %(default)s)",
    )
    parser.add_argument(
        "--item",
        action="append",
        default=[],
        metavar="ID",
        help="check only this item (repeatable); scores cover the items checked",
    )
    parser.add_argument(
        "--owner",
        action="append",
        default=[],
        metavar="OWNER",
        help="check only the items of this owner (repeatable; item, category or default "
        "owner as the config resolves it); scores cover the items checked",
    )
    _storage(parser)
    parser.add_argument(
        "--color",
        default="auto",
        choices=COLOR_MODES,
        help="colour the table: auto (when standard output is a terminal and NO_COLOR is "
        "unset), always or never (default: %(default)s)",
    )
    return parser


def only_items(checklist: config.Checklist, ids: Sequence[str]) -> config.Checklist:
    """The checklist cut down to ``ids``; raises ConfigError naming unknown IDs."""
    known = {i.id for i in checklist.items}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise config.ConfigError(
            [f"unknown item {', '.join(unknown)}: not in {checklist.path.name}"]
        )
    wanted = set(ids)
    categories = tuple(
        dataclasses.replace(c, items=tuple(i for i in c.items if i.id in wanted))
        for c in checklist.categories
        if any(i.id in wanted for i in c.items)
    )
    whole = checklist.whole and wanted >= known  # a cut signs nothing (Checklist.whole)
    return dataclasses.replace(checklist, categories=categories, whole=whole)


def owned_by(checklist: config.Checklist, owners: Sequence[str]) -> config.Checklist:
    """The checklist cut down to the items of ``owners``; raises ConfigError when none has one."""
    known = {i.owner for i in checklist.items if i.owner}
    unknown = [o for o in owners if o not in known]
    if unknown:
        names = ", ".join(sorted(known)) or "none: set owner: on items, categories or defaults"
        raise config.ConfigError(
            [f"no item of owner {', '.join(unknown)} in {checklist.path.name} (owners: {names})"]
        )
    return only_items(checklist, [i.id for i in checklist.items if i.owner in owners])


def remembered(args: argparse.Namespace, checklist: config.Checklist) -> StartState | None:
    """What the store remembers (people's records above all), when there is a store: the one
    ``--storage.path`` names (it must exist), or one at the default place."""
    path = storage_path(args)
    if not (path / DB_NAME).exists():
        if args.storage_path:
            raise UsageError(f"--storage.path: no store in {path} ({DB_NAME} does not exist)")
        return None
    with Store.open(path, clean=False) as store:
        return store.load([i.id for i in checklist.items])


def check(args: argparse.Namespace) -> int:
    from .engine import Engine

    checklist = config.load(args.config_file)
    if args.item:
        checklist = only_items(checklist, args.item)
    if args.owner:
        checklist = owned_by(checklist, args.owner)
    memory = remembered(args, checklist)

    # A person at a terminal sees the count of items done and which ones it waits for.
    progress = (
        Progress(sys.stderr, (i.id for i in checklist.items)) if sys.stderr.isatty() else None
    )

    async def run() -> Snapshot:
        engine = Engine(checklist, memory=memory)
        try:
            if progress is None:
                return await engine.run_round()
            shown = asyncio.ensure_future(progress.show())
            try:
                return await engine.run_round(done=progress.done)
            finally:
                shown.cancel()
        finally:
            await engine.stop()

    snap = asyncio.run(run())
    if progress is not None:
        progress.finish(snap)
    if args.format == "table":
        text = table.render(snap, color=use_color(args.color, sys.stdout, os.environ))
    else:
        text = FORMATS[args.format](snap)
    sys.stdout.write(text)
    return EXIT_CODES[snap.scores.decision]


def validate_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="readiness-exporter validate",
        description="Check the config and exit: 0 when valid, 2 with every error listed. "
        "Also lists the items that are not configured and the variables they need.",
    )
    _common(parser, log_level="warn")
    return parser


def validate(args: argparse.Namespace) -> int:
    checklist = config.load(args.config_file)
    items = checklist.items
    launch_items = checklist.launch_items
    categories = {i.category for i in launch_items}
    tasks = len(items) - len(launch_items)
    print(
        f"{checklist.path.name}: valid: {len(launch_items)} items "
        f"in {len(categories)} categories"
        + (f", and {tasks} post-launch task{'s' if tasks != 1 else ''}" if tasks else "")
    )
    waiting = [i for i in items if i.applicable and i.missing]
    if waiting:
        print(
            f"{len(waiting)} item{'s are' if len(waiting) != 1 else ' is'} not configured "
            "(PENDING until these variables are set):"
        )
        for item in waiting:
            print(f"  {item.id}: {', '.join(item.missing)}")
        needed = sorted({v for i in waiting for v in i.missing})
        print(f"variables needed: {', '.join(needed)}")
    return 0


def import_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="readiness-exporter import",
        description="Read a checklist written as Markdown tables and print a config whose items "
        "are attested by people (readiness-exporter import CHECKLIST.md > config.yaml). "
        "Inconsistencies in the document are warnings on stderr.",
    )
    parser.add_argument("checklist", metavar="CHECKLIST.md", help="the Markdown checklist")
    parser.add_argument(
        "--log.level", dest="log_level", default="warn", choices=logs.LEVELS, help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--log.format",
        dest="log_format",
        default="logfmt",
        choices=logs.FORMATS,
        help=argparse.SUPPRESS,
    )
    _version(parser)
    return parser


def import_checklist(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .importer import import_file

    try:
        text = import_file(Path(args.checklist), lambda w: print(f"warning: {w}", file=sys.stderr))
    except OSError as exc:
        print(f"{args.checklist}: cannot read ({exc.strerror or exc})", file=sys.stderr)
        return EXIT_CONFIG
    sys.stdout.write(text)
    return 0


def _process_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """A command that records something people decide, in the store (exporter/process.py)."""
    parser = argparse.ArgumentParser(prog=f"readiness-exporter {prog}", description=description)
    _common(parser, log_level="warn")
    _storage(parser)
    return parser


def _by(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--by", required=True, metavar="NAME", help=what)


def attest_parser() -> argparse.ArgumentParser:
    parser = _process_parser(
        "attest",
        "Record a person's attestation for an item whose probe is an attestation: in the "
        "store (default; a running exporter shows it within a few seconds), or with --file in "
        "the evidence file its probe reads (for attestations reviewed in git). Whichever was "
        "signed last counts.",
    )
    parser.add_argument("item", metavar="ITEM", help="the item's ID, e.g. S-001")
    parser.add_argument("--status", required=True, help="pass, partial, fail, na or pending")
    _by(parser, "who validated the item")
    parser.add_argument(
        "--evidence",
        action="append",
        default=[],
        metavar="TEXT",
        help="what was checked: a sentence or a link (repeatable)",
    )
    parser.add_argument("--notes", default="", help="anything else worth knowing")
    parser.add_argument(
        "--expires",
        metavar="DURATION",
        help="how long the attestation holds, e.g. 90d (default: no expiry "
        "beyond the probe's max_age)",
    )
    parser.add_argument(
        "--file",
        action="store_true",
        help="write the item's evidence file (atomically) instead of recording in the store",
    )
    return parser


def attest(args: argparse.Namespace) -> int:
    from . import process
    from .attest import attest as write_file

    checklist = config.load(args.config_file)
    if args.file:
        try:
            path, doc = write_file(
                checklist, args.item, args.status, args.by, args.evidence, args.notes, args.expires
            )
        except OSError as exc:
            print(
                f"{args.item}: cannot write its evidence file ({exc.strerror or exc})",
                file=sys.stderr,
            )
            return 1
        until = f", expires {doc['expires']}" if "expires" in doc else ""
        print(f"{args.item}: {doc['status']} attested by {doc['validated_by']} in {path}{until}")
        return 0

    def write(store: Store, now: float) -> str:
        a = process.attest(
            store,
            checklist,
            args.item,
            args.status,
            args.by,
            None,
            args.evidence,
            args.notes,
            args.expires,
            now,
        )
        until = f", expires {when(a.expires_at)}" if a.expires_at else ""
        return f"{a.item}: {a.status.value} attested by {a.by}, recorded in {store.path}{until}"

    return _record(args, write)


def accept_risk_parser() -> argparse.ArgumentParser:
    parser = _process_parser(
        "accept-risk",
        "Record the decision to launch with an item's gap (P020's Risk Assessment) until a "
        "date. It changes no status or score; the item's regression alerts are held while it "
        "is in force, and its expiry is an alert of its own.",
    )
    parser.add_argument("item", metavar="ITEM", help="the item's ID")
    _by(parser, "who accepts the risk")
    for name, what in (("impact", "launching with this gap"), ("probability", "it happening")):
        parser.add_argument(
            f"--{name}",
            required=True,
            choices=[level.value for level in Level],
            help=f"how bad {what} is" if name == "impact" else f"how likely {what} is",
        )
    parser.add_argument("--mitigation", required=True, help="what reduces the risk meanwhile")
    parser.add_argument(
        "--expires",
        required=True,
        metavar="DURATION|DATE",
        help="until when: a duration from now (30d) or a date-time (2027-01-31, UTC)",
    )
    parser.add_argument("--notes", default="", help="anything else worth knowing")
    return parser


def accept_risk(args: argparse.Namespace) -> int:
    from . import process

    checklist = config.load(args.config_file)

    def write(store: Store, now: float) -> str:
        a = process.accept_risk(
            store,
            checklist,
            args.item,
            args.by,
            None,
            args.impact,
            args.probability,
            args.mitigation,
            args.expires,
            args.notes,
            now,
        )
        return (
            f"{a.item}: risk accepted by {a.by} until {when(a.expires_at)} (impact "
            f"{a.impact.value.upper()}, probability {a.probability.value.upper()})"
        )

    return _record(args, write)


def revoke_risk_parser() -> argparse.ArgumentParser:
    parser = _process_parser(
        "revoke-risk", "Revoke the risk accepted for an item: its regression alerts apply again."
    )
    parser.add_argument("item", metavar="ITEM", help="the item's ID")
    _by(parser, "who revokes it")
    return parser


def revoke_risk(args: argparse.Namespace) -> int:
    from . import process

    checklist = config.load(args.config_file)

    def write(store: Store, now: float) -> str:
        a = process.revoke_risk(store, checklist, args.item, args.by, None, now)
        return f"{a.item}: the risk accepted by {a.by} is revoked by {a.revoked_by}"

    return _record(args, write)


def sign_parser() -> argparse.ArgumentParser:
    parser = _process_parser(
        "sign",
        "Sign off for a role of the Sign-Off Sheet. The signature is bound to the checklist's "
        "state now (the decision, the scores and every item's status, as the exporter last "
        "recorded them in the store): it stops counting when the decision changes or an item "
        "that passed stops passing.",
    )
    parser.add_argument("role", metavar="ROLE", help='a role of signoff:, e.g. "Security Lead"')
    _by(parser, "who signs")
    parser.add_argument("--notes", default="", help="conditions, caveats")
    return parser


def sign(args: argparse.Namespace) -> int:
    from . import process

    checklist = config.load(args.config_file)

    def write(store: Store, now: float) -> str:
        state = process.stored_state(store, checklist)
        _warn(state.warning(now))
        s = process.sign(store, checklist, args.role, args.by, None, args.notes, state.stamp, now)
        return f"{s.role}: signed by {s.by} for {state.describe()}"

    return _record(args, write)


def revoke_signoff_parser() -> argparse.ArgumentParser:
    parser = _process_parser(
        "revoke-signoff",
        "Revoke a role's signature on the Sign-Off Sheet: it stops counting at once (sign again "
        "to give a new one).",
    )
    parser.add_argument("role", metavar="ROLE", help='a role of signoff:, e.g. "Security Lead"')
    _by(parser, "who revokes it")
    return parser


def revoke_signoff(args: argparse.Namespace) -> int:
    from . import process

    checklist = config.load(args.config_file)

    def write(store: Store, now: float) -> str:
        s = process.revoke_signoff(store, checklist, args.role, args.by, None, now)
        return f"{s.role}: the signature of {s.by} is revoked by {s.revoked_by}"

    return _record(args, write)


def decide_parser() -> argparse.ArgumentParser:
    parser = _process_parser(
        "decide",
        "Record the Go/No-Go decision, beside the decision the checklist computes now, and "
        "the launch time (which starts the post-launch phases).",
    )
    parser.add_argument("decision", metavar="DECISION", help="go, go_with_caution or no_go")
    _by(parser, "the decision maker")
    parser.add_argument(
        "--launch",
        metavar="DATETIME",
        help="the launch date and time (2026-12-01T14:00Z, UTC unless it says otherwise) or now",
    )
    parser.add_argument("--notes", default="", help="anything else worth knowing")
    return parser


def decide(args: argparse.Namespace) -> int:
    from . import process

    checklist = config.load(args.config_file)

    def write(store: Store, now: float) -> str:
        state = process.stored_state(store, checklist)
        _warn(state.warning(now))
        d = process.decide(
            store,
            args.decision,
            args.by,
            None,
            state.scores.decision,
            args.launch,
            args.notes,
            now,
        )
        launch = f", launch {when(d.launch_at)}" if d.launch_at is not None else ""
        return (
            f"decision {d.decision.label} recorded by {d.by} (computed now: "
            f"{state.describe()}){launch}"
        )

    return _record(args, write)


def remediate_parser() -> argparse.ArgumentParser:
    parser = _process_parser(
        "remediate",
        "Record an item's remediation plan (P020: document every FAIL item with one): a "
        "ticket link or a sentence. It replaces the config's remediation:.",
    )
    parser.add_argument("item", metavar="ITEM", help="the item's ID")
    plan = parser.add_mutually_exclusive_group(required=True)
    plan.add_argument("--link", metavar="URL", help="the ticket or plan")
    plan.add_argument("--text", metavar="TEXT", help="the plan in a sentence")
    plan.add_argument("--clear", action="store_true", help="the item has no plan any more")
    _by(parser, "who records it")
    return parser


def remediate(args: argparse.Namespace) -> int:
    from . import process

    checklist = config.load(args.config_file)
    text = "" if args.clear else (args.link or args.text or "")

    def write(store: Store, now: float) -> str:
        r = process.remediate(store, checklist, args.item, text, args.by, None, now)
        if not r.text:
            return f"{r.item}: remediation cleared by {r.by}"
        return f"{r.item}: remediation {r.text} recorded by {r.by}"

    return _record(args, write)


def _warn(text: str | None) -> None:
    if text:
        print(f"warning: {text}", file=sys.stderr)


def _record(args: argparse.Namespace, write: Callable[[Store, float], str]) -> int:
    """Open the store (leaving the retention to the exporter), write, say what was written."""
    import time

    from .launch import RecordError

    with Store.open(storage_path(args), clean=False) as store:
        try:
            said = write(store, time.time())
        except RecordError as exc:
            print(f"readiness-exporter {args.command}: {exc}", file=sys.stderr)
            return EXIT_CONFIG
    print(said)
    return 0


COMMANDS: dict[
    str, tuple[Callable[[], argparse.ArgumentParser], Callable[[argparse.Namespace], int]]
] = {
    "check": (check_parser, check),
    "validate": (validate_parser, validate),
    "import": (import_parser, import_checklist),
    "attest": (attest_parser, attest),
    "accept-risk": (accept_risk_parser, accept_risk),
    "revoke-risk": (revoke_risk_parser, revoke_risk),
    "sign": (sign_parser, sign),
    "revoke-signoff": (revoke_signoff_parser, revoke_signoff),
    "decide": (decide_parser, decide),
    "remediate": (remediate_parser, remediate),
}


def unknown_command(word: str) -> str:
    """What to say about a first argument that is neither a flag nor a command."""
    close = difflib.get_close_matches(word, COMMANDS, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return (
        f"readiness-exporter: unknown command {word!r}{hint}; commands: "
        f"{', '.join(COMMANDS)}, or none to serve"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        parser, run = COMMANDS[argv[0]]
        argv = argv[1:]
    elif argv and not argv[0].startswith("-"):
        print(unknown_command(argv[0]), file=sys.stderr)
        return EXIT_CONFIG
    else:
        parser, run = serve_parser, serve
    args = parser().parse_args(argv)
    args.command = parser().prog.removeprefix("readiness-exporter").strip() or "serve"
    logs.setup(args.log_level, args.log_format)
    try:
        return run(args)
    except UserError as exc:  # the user's to fix: the text says what and where
        print(exc, file=sys.stderr)
        return EXIT_CONFIG


if __name__ == "__main__":
    sys.exit(main())
