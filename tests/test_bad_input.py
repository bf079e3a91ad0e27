"""Bad input: random and mutated configs, alias bombs, broken evidence files and reports.

The config loader may answer anything with a ConfigError whose every line names the file (and
a place in it), and nothing else: no other exception, no hang. Hypothesis's per-example
deadline is generous and only there so that a hang fails instead of stalling the suite.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.procs import ROOT

from exporter.config import ConfigError, load
from probes import attestation, report
from probes.fields import parse_duration
from probes.result import Status

SHIPPED = (ROOT / "config.yaml").read_text()
SHIPPED_LINES = SHIPPED.splitlines(keepends=True)
ENV = {"APP_URL": "http://127.0.0.1:1", "APP_REPO": "/nonexistent", "PUBLIC_HOST": "127.0.0.1"}
PROPERTY = settings(
    max_examples=60,
    deadline=10_000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

KEYS = [
    "checklist",
    "name",
    "decision",
    "go",
    "caution",
    "defaults",
    "interval",
    "timeout",
    "engine",
    "concurrency",
    "categories",
    "id",
    "title",
    "items",
    "priority",
    "applicable",
    "notes",
    "probe",
    "http",
    "url",
    "tcp",
    "target",
    "file",
    "path",
    "command",
    "argv",
    "attestation",
    "all",
    "any",
    "expect_status",
    "headers",
    "env",
    "max_age",
    "banner",
    "content_regex",
    "body_regex",
    "stdout_regex",
    "expect",
    "method",
    "cwd",
    "x",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "30s",
            "1h",
            "-5s",
            "0s",
            "critical",
            "high",
            "${APP_URL}/x",
            "${UNSET}",
            "http://127.0.0.1:1/",
            "127.0.0.1:1",
            "[",
            "(?P<",
            "$$",
            "${A:-b}",
            "99999999999999999999d",
            ".nan",
        ]
    ),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=40,
)


def assert_located(path: Path, exc: ConfigError) -> None:
    assert exc.errors, "a ConfigError without a message"
    for line in exc.errors:
        assert line.startswith((f"{path.name}: ", f"{path}: ", f"{path}:")), line


def load_or_error(path: Path) -> None:
    try:
        load(path, ENV)
    except ConfigError as exc:
        assert_located(path, exc)


@PROPERTY
@given(text=st.text(max_size=400))
def test_random_text_gives_only_located_config_errors(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    load_or_error(path)


@PROPERTY
@given(data=st.binary(max_size=300))
def test_random_bytes_give_only_located_config_errors(tmp_path, data):
    path = tmp_path / "config.yaml"
    path.write_bytes(data)
    load_or_error(path)


@PROPERTY
@given(doc=documents)
def test_random_documents_give_only_located_config_errors(tmp_path, doc):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    load_or_error(path)


@PROPERTY
@given(doc=documents, where=st.integers(0, 10_000), key=st.sampled_from(KEYS))
def test_shipped_config_with_a_random_subtree_gives_only_located_errors(tmp_path, doc, where, key):
    """The shipped config with one field of one item replaced by a random value."""
    config = yaml.safe_load(SHIPPED)
    items = [i for c in config["categories"] for i in c["items"]]
    item = items[where % len(items)]
    target = item.get("probe") if key not in item and isinstance(item.get("probe"), dict) else item
    target[key] = doc
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    load_or_error(path)


mutations = st.lists(
    st.tuples(
        st.sampled_from(["delete", "duplicate", "splice", "indent", "cut"]),
        st.integers(0, 100_000),
        st.text(max_size=12),
    ),
    min_size=1,
    max_size=4,
)


@PROPERTY
@given(steps=mutations)
def test_mutated_shipped_config_gives_only_located_errors(tmp_path, steps):
    lines = list(SHIPPED_LINES)
    for op, n, text in steps:
        i = n % len(lines)
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "splice":
            line = lines[i]
            at = n % (len(line) or 1)
            lines[i] = line[:at] + text + line[at + len(text) :]
        elif op == "indent":
            lines[i] = " " * (n % 5) + lines[i]
        else:
            lines = lines[:i]
        if not lines:
            lines = ["\n"]
    path = tmp_path / "config.yaml"
    path.write_text("".join(lines))
    load_or_error(path)


def test_shipped_config_loads():
    assert len(load(ROOT / "config.yaml", ENV).launch_items) == 145


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
categories:
  - id: c
    title: C
    items:
      - {id: X-1, title: Bomb, priority: high, probe: {command: {argv: *i}}}
"""


def test_billion_laughs_is_refused_quickly(tmp_path):
    """In a child process, so that a regression shows as a killed child, not a frozen suite."""
    path = tmp_path / "config.yaml"
    path.write_text(BILLION_LAUGHS)
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "exporter", "validate", "--config.file", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    print(f"\nbillion laughs refused in {time.perf_counter() - started:.2f}s (including start-up)")
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith(f"{path}: line ")
    assert (
        "anchors and aliases expand to more than 1,000,000 values: refusing to expand" in out.stderr
    )


def test_absurdly_many_aliases_are_refused(tmp_path):
    from probes.safeyaml import MAX_NODES

    path = tmp_path / "config.yaml"
    path.write_text("a: &a x\nb: [" + ", ".join(["*a"] * (MAX_NODES + 1)) + "]\n")
    with pytest.raises(ConfigError, match=f"expand to more than {MAX_NODES:,} values"):
        load(path, ENV)


def test_a_generated_config_with_shared_probes_loads(tmp_path):
    """yaml.safe_dump writes a probe mapping shared by many items as anchor and aliases."""
    import yaml

    probe = {"command": {"argv": ["true"]}}
    doc = {
        "categories": [
            {
                "id": "c",
                "items": [
                    {"id": f"C-{n}", "title": "t", "priority": "low", "probe": probe}
                    for n in range(2000)
                ],
            }
        ]
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert path.read_text().count("*id") >= 1999
    assert len(load(path, ENV).items) == 2000


def test_a_few_anchors_are_fine(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("""
defaults: &d {interval: 1h, timeout: 10s}
categories:
  - id: c
    title: C
    items:
      - {id: X-1, title: One, priority: high, probe: &p {file: {path: /etc/hostname}}}
      - {id: X-2, title: Two, priority: high, probe: *p}
""")
    assert [i.id for i in load(path, ENV).items] == ["X-1", "X-2"]


@pytest.mark.parametrize("value", [".nan", ".inf", "-1", "99999999999999999999d"])
def test_durations_must_be_finite_and_schedulable(write_config, value):
    path = write_config(f"""
        categories:
          - id: c
            title: C
            items:
              - {{id: X-1, title: One, priority: high, interval: {value},
                 probe: {{file: {{path: x}}}}}}
    """)
    with pytest.raises(
        ConfigError,
        match=r"config.yaml: categories\[0\].items\[0\] \(X-1\): "
        r"interval must be a duration",
    ):
        load(path, ENV)


def test_parse_duration_caps():
    assert parse_duration("36500d") == 36500 * 86400
    with pytest.raises(ValueError):
        parse_duration("36501d")


# -- attestation files ------------------------------------------------------------------------

GOOD = "item: X-1\nstatus: pass\nvalidated_by: Jane Doe\ndate: 2026-11-01\nevidence: [drill log]\n"
EVIDENCE_BOMB = (
    BILLION_LAUGHS.split("categories:")[0].replace(
        "a: &a", "item: X-1\nstatus: pass\nvalidated_by: J\ndate: 2026-11-01\nnotes: &a"
    )
    + "evidence: *i\n"
)


@pytest.mark.parametrize(
    "content,summary",
    [
        (b"status: [pass\n", r"signed.yaml at line 2, column 1: invalid YAML: did not find"),
        (GOOD.encode()[:40], r"signed.yaml date is required"),  # truncated
        (b"", r"signed.yaml must be a mapping"),
        (b"just a sentence\n", r"signed.yaml must be a mapping"),
        (b"- status: pass\n", r"signed.yaml must be a mapping"),
        (
            b"status: [1]\nvalidated_by: J\ndate: 2026-11-01\n",
            r"status must be one of pass, partial",
        ),
        (b"status: pass\nvalidated_by: J\ndate: {}\n", r"date must be a date such as 2026-11-01"),
        (
            b"status: pass\nvalidated_by: J\ndate: 2026-13-45\n",
            r"signed.yaml at line 3, column 7: invalid YAML: "
            r'cannot read "2026-13-45" as !!timestamp: month must be in 1..12',
        ),
        (
            b"status: pass\nvalidated_by: J\ndate: 2026-11-01\nexpires: soon\n",
            r"expires must be a date",
        ),
        (
            b"status: pass\nvalidated_by: J\ndate: 2026-11-01\nevidence: 5\n",
            r"evidence must be a list",
        ),
        (
            b"status: pass\nvalidated_by: J\ndate: 2026-11-01\nevidence: [[a, b]]\n",
            r"evidence must be a list of strings",
        ),
        (
            b"status: pass\nvalidated_by: J\ndate: 2026-11-01\nsigned: yes\n",
            r"has unknown field 'signed'",
        ),
        (GOOD.encode() + b"notes: caf\xe9\n", r"signed.yaml is not UTF-8 text"),
        (b"\xff\xfe\x00s\x00t", r"signed.yaml is not UTF-8 text"),
        (
            GOOD.encode() + b"notes: " + b"x" * (300 * 1024) + b"\n",
            r"signed.yaml is larger than 256 KiB",
        ),
        (
            EVIDENCE_BOMB.encode(),
            r"signed.yaml at line 1, column 1: invalid YAML: anchors and aliases expand",
        ),
        (
            b"status: pass\nvalidated_by: J\ndate: !!python/object:os.system x\n",
            r"invalid YAML: could not determine a constructor for the tag",
        ),
        (
            GOOD.encode() + b"status: fail\n",
            r'^signed.yaml at line 6, column 1: duplicate key "status" \(first at line 2\)$',
        ),
        (GOOD.encode() + b"expires: !!timestamp soon\n", r'cannot read "soon" as !!timestamp$'),
        (b"item: 7\n" + GOOD.encode()[10:], r'item must be text: quote the ID \(item: "7"\)'),
    ],
)
def test_broken_evidence_file_is_a_clear_fail(tmp_path, content, summary):
    import re

    path = tmp_path / "signed.yaml"
    path.write_bytes(content)
    result = attestation.judge(attestation.Spec(file=path), "X-1")
    assert result.status is Status.FAIL
    assert re.search(summary, result.summary), result.summary


@PROPERTY
@given(data=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_random_evidence_files_never_crash(tmp_path, data):
    path = tmp_path / "signed.yaml"
    path.write_bytes(data)
    result = attestation.judge(attestation.Spec(file=path), "X-1")
    assert result.status in (Status.FAIL, Status.PASS, Status.PARTIAL, Status.PENDING, Status.NA)
    assert result.summary


@PROPERTY
@given(doc=documents)
def test_random_evidence_documents_never_crash(tmp_path, doc):
    path = tmp_path / "signed.yaml"
    base = {"item": "X-1", "status": "pass", "validated_by": "J", "date": dt.date(2026, 11, 1)}
    if isinstance(doc, dict):
        base.update({k: v for k, v in doc.items() if k in attestation.FIELDS})
    path.write_text(yaml.safe_dump(base))
    result = attestation.judge(attestation.Spec(file=path), "X-1")
    assert result.summary


@pytest.mark.parametrize(
    "text,message",
    [
        (
            "defaults: {interval: 2026-13-45}\n",
            r"config.yaml: line 1, column 22: invalid YAML: "
            r'cannot read "2026-13-45" as !!timestamp: month must be in 1..12',
        ),
        (
            "defaults: {interval: !!int abc}\n",
            r'config.yaml: line 1, column 22: invalid YAML: cannot read "abc" as !!int: '
            r"invalid literal",
        ),
        (
            "a: " + "[" * 150 + "]" * 150 + "\n",
            r"config.yaml: line 1, column 103: invalid YAML: nested deeper than 100 levels",
        ),
        (
            # libyaml stops at 1,000 levels, before our limit is measured.
            "a: " + "[" * 5000 + "\n",
            r"config.yaml: line 1, column 1003: invalid YAML: exceeded maximum nesting depth",
        ),
        (
            "a: &a x\nb: *b\n",
            r"config.yaml: line 2, column 4: invalid YAML: found undefined alias \*b$",
        ),
    ],
)
def test_yaml_that_pyyaml_cannot_construct_is_a_located_error(tmp_path, text, message):
    import re

    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load(path, ENV)
    assert re.search(message, exc.value.errors[0]), exc.value.errors


# -- report files -----------------------------------------------------------------------------

TRIVY_KEYS = [
    "SchemaVersion",
    "ArtifactName",
    "Results",
    "Target",
    "Vulnerabilities",
    "VulnerabilityID",
    "PkgName",
    "Severity",
]
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**30), 10**30),
        st.floats(),
        st.text(max_size=12),
        st.sampled_from(["HIGH", "CRITICAL", "low", "CVE-1"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(TRIVY_KEYS), inner, max_size=5)
    ),
    max_leaves=30,
)


def judge_report(tmp_path: Path, fmt: str, content: bytes) -> report.Result:
    path = tmp_path / f"report.{'json' if fmt == 'trivy' else 'xml'}"
    path.write_bytes(content)
    return report.judge(report.Spec(path=path, format=fmt))


@pytest.mark.parametrize(
    "fmt,content,summary",
    [
        (
            "trivy",
            b'{"SchemaVersion": 2, "Results": "oops"}',
            r"^report.json has Results a string, expected an array \(Trivy\)$",
        ),
        (
            "trivy",
            b'{"SchemaVersion": 2, "Results": [1, null]}',
            r"^report.json has Results\[0\] a number, expected an object \(Trivy\)$",
        ),
        (
            "trivy",
            b'{"SchemaVersion": 2, "Results": [{"Vulnerabilities": "x"}]}',
            r"^report.json has Results\[0\].Vulnerabilities a string, expected an array \(Trivy\)$",
        ),
        (
            "trivy",
            b'{"SchemaVersion": 2, "Results": [{"Vulnerabilities": [{}, [5]]}]}',
            r"^report.json has Results\[0\].Vulnerabilities\[1\] an array, "
            r"expected an object \(Trivy\)$",
        ),
        (
            "trivy",
            b'{"SchemaVersion": 2, "Results": [{"Vulnerabi',
            r"^report.json is not valid JSON \(",
        ),
        (
            "trivy",
            b'{"SchemaVersion": 2, "ArtifactName": "\xff\xfe"}',
            r"^report.json is not valid JSON \(",
        ),
        ("trivy", b"[1, 2]", r"^report.json has no SchemaVersion"),
        ("junit", b'<testsuites><testsuite name="a"><testcase', r"^report.xml is not valid XML \("),
        ("junit", b'<testsuite name="\xff\xfe"/>', r"^report.xml is not valid XML \("),
        (
            "cobertura",
            b'<coverage line-rate="abc"/>',
            r"^report.xml has line-rate 'abc', expected a number$",
        ),
        ("cobertura", b"<coverage/>", r"^report.xml has root <coverage> without line-rate"),
    ],
)
def test_broken_report_is_a_clear_fail(tmp_path, fmt, content, summary):
    import re

    result = judge_report(tmp_path, fmt, content)
    assert result.status is Status.FAIL
    assert re.search(summary, result.summary), result.summary


def test_huge_report_is_refused_unread(tmp_path):
    path = tmp_path / "junit.xml"
    with path.open("wb") as fh:  # sparse: costs no disk
        fh.truncate(report.READ_CAP + 1)
    result = report.judge(report.Spec(path=path, format="junit"))
    assert (result.status, result.summary) == (Status.FAIL, "junit.xml is larger than 64 MiB")


@PROPERTY
@given(
    fmt=st.sampled_from(report.FORMATS),
    data=st.binary(max_size=400) | st.text(max_size=400).map(str.encode),
)
def test_random_report_files_never_crash(tmp_path, fmt, data):
    result = judge_report(tmp_path, fmt, data)
    assert result.status in (Status.FAIL, Status.PASS, Status.PARTIAL)
    assert result.summary


@PROPERTY
@given(doc=json_values)
def test_random_trivy_documents_never_crash(tmp_path, doc):
    if isinstance(doc, dict):
        doc.setdefault("SchemaVersion", 2)
    result = judge_report(tmp_path, "trivy", json.dumps(doc).encode())
    assert result.status in (Status.FAIL, Status.PASS)
    assert result.summary
