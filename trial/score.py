"""Score a `readiness-exporter check --format json` run against trial/expected.yaml.

    score.py CHECK_JSON EXPECTED_YAML         a Markdown table of every item, then the counts
    score.py --scan SECRETS_ENV FILE...       count the secret values of SECRETS_ENV in FILEs
    score.py --daemon CHECK_JSON METRICS_TXT  items whose status the daemon's /metrics gives
                                              differently from the check

Expected statuses are pass, partial, fail, na, pending, and error: "cannot judge from here",
which the exporter shows as a FAIL with its probe-error flag set.
"""

from __future__ import annotations

import json
import sys
import urllib.parse
from collections import Counter
from pathlib import Path

import yaml

EXPECTATIONS = {"pass", "partial", "fail", "na", "pending", "error"}
PIECE = 12  # a secret's substring this long found anywhere counts as a leak


def got_label(item: dict[str, object]) -> str:
    """The exporter's verdict in the expectations' words (a probe error is "error")."""
    status = str(item["status"])
    if status == "fail" and item.get("error"):
        return "error"
    return status


def verdict(expected: str, got: str) -> str:
    """How a got status compares with the expected one, in the counts' words."""
    if got == expected:
        return "correct"
    if got == "pass":
        return "should be N/A" if expected == "na" else "false PASS"
    if expected == "na" and got in ("fail", "partial", "error"):
        return "should be N/A"
    if got == "error":
        return "probe error"
    if got == "fail" and expected in ("pass", "partial", "pending"):
        return "false FAIL"
    return "other"


def cell(text: str, limit: int = 220) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def score(check_path: Path, expected_path: Path) -> int:
    report = json.loads(check_path.read_text())
    expected: dict[str, dict[str, str]] = yaml.safe_load(expected_path.read_text())
    items = {str(item["id"]): item for item in report["items"]}
    problems = [f"{i}: not in expected.yaml" for i in items if i not in expected]
    problems += [f"{i}: in expected.yaml, not in the check" for i in expected if i not in items]
    problems += [
        f"{i}: expect {e.get('expect')!r} is not one of {sorted(EXPECTATIONS)}"
        for i, e in expected.items()
        if e.get("expect") not in EXPECTATIONS
    ]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2

    counts: Counter[str] = Counter()
    print("| item | expected | got | correct? | summary |")
    print("| --- | --- | --- | --- | --- |")
    for item_id, item in items.items():
        want = expected[item_id]["expect"]
        got = got_label(item)
        result = verdict(want, got)
        counts[result] += 1
        if got in ("pass", "partial", "fail", "error"):
            counts["judged"] += 1
            counts["judged " + result] += 1
        counts["got " + got] += 1
        mark = "yes" if result == "correct" else f"**no: {result}**"
        print(f"| {item_id} | {want} | {got} | {mark} | {cell(str(item.get('summary') or ''))} |")
    print()
    print(
        f"- items: {len(items)} (checklist {sum(1 for i in items if not i.startswith('PL-'))}"
        f" + post-launch {sum(1 for i in items if i.startswith('PL-'))})"
    )
    print(f"- judged (PASS, PARTIAL, FAIL incl. probe errors): {counts['judged']}")
    print(f"- correct among judged: {counts['judged correct']}")
    print(f"- false PASS: {counts['false PASS']}")
    print(f"- false FAIL: {counts['false FAIL']}")
    print(f"- should have been N/A: {counts['should be N/A']}")
    print(f"- other wrong (PARTIAL for FAIL, ...): {counts['other']}")
    expected_errors = sum(
        1 for i, e in expected.items() if e["expect"] == "error" and got_label(items[i]) == "error"
    )
    print(f"- probe errors (cannot judge): {counts['got error']} ({expected_errors} expected)")
    print(f"- unexpected probe errors: {counts['probe error']}")
    print(f"- N/A: {counts['got na']}")
    print(f"- PENDING: {counts['got pending']}")
    print(f"- correct overall (all {len(items)} items): {counts['correct']}")
    return 0


def scan(secrets_env: Path, files: list[Path]) -> int:
    """Count, per file, where a secret value (whole, URL-encoded or a piece) appears."""
    values = {}
    for line in secrets_env.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and value:
            values[name.strip()] = value.strip()
    total = 0
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        for name, value in values.items():
            forms = {value, urllib.parse.quote(value, safe="")}
            forms |= {value[i : i + PIECE] for i in range(len(value) - PIECE + 1)}
            if any(form in text for form in forms):
                total += 1
                print(f"LEAK: {name} in {path}")  # never the value
    print(f"secrets scanned: {len(values)} values in {len(files)} files; found: {total}")
    return 1 if total else 0


def daemon(check_path: Path, metrics_path: Path) -> int:
    """List the items whose status in the daemon's /metrics differs from the check's."""
    checked = {str(i["id"]): str(i["status"]) for i in json.loads(check_path.read_text())["items"]}
    served: dict[str, str] = {}
    for line in metrics_path.read_text().splitlines():
        if line.startswith("readiness_item_status{") and line.endswith(" 1.0"):
            labels = dict(
                part.split("=", 1)
                for part in line[line.index("{") + 1 : line.index("}")].split(",")
            )
            served[labels["item"].strip('"')] = labels["status"].strip('"')
    differ = [
        f"{i}: check {checked[i]}, daemon {served.get(i)}"
        for i in checked
        if served.get(i) != checked[i]
    ]
    print(f"daemon items: {len(served)}; differing from the check: {len(differ)}")
    for line in differ:
        print(f"- {line}")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "--daemon":
        return daemon(Path(argv[1]), Path(argv[2]))
    if len(argv) >= 3 and argv[0] == "--scan":
        return scan(Path(argv[1]), [Path(a) for a in argv[2:]])
    if len(argv) == 2:
        return score(Path(argv[0]), Path(argv[1]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
