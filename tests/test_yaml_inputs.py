"""Every YAML the exporter reads goes through one loader: duplicate keys, bad tags and files that
are not files are located errors, never a silent change of meaning, a traceback or a hang.

Beside each document that must be refused is the same document without the fault, which loads.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from support.procs import ROOT, http_get, start_exporter, wait_until

from exporter import config
from exporter.config import ConfigError
from exporter.web import webconfig
from probes import safeyaml
from probes.file import Spec as FileSpec
from probes.file import check_path as judge_file
from probes.result import Status

FIREWALL = """\
checklist:
  name: Firewall
categories:
  - id: network
    title: Network
    items:
      - id: N-001
        title: Database port closed to the internet
        priority: critical
        probe:
          tcp:
            expect: closed
            target: 127.0.0.1:5432
            expect: open
"""


def test_the_duplicate_key_that_turned_closed_into_open_is_refused(write_config):
    path = write_config(FIREWALL)
    with pytest.raises(ConfigError) as exc:
        config.load(path, {})
    assert exc.value.errors == [
        f'{path}: line 14, column 13: duplicate key "expect" (first at line 12)'
    ]
    fine = write_config(FIREWALL.replace("            expect: open\n", ""))
    assert config.load(fine, {}).items[0].spec.expect == "closed"


def test_a_critical_item_made_na_by_a_second_key_is_refused(write_config):
    text = textwrap.dedent("""\
        categories:
          - id: c
            title: C
            items:
              - {id: C-1, title: Backups, priority: critical, applicable: true,
                 probe: {file: {path: /etc/hostname}}, applicable: false}
        """)
    with pytest.raises(
        ConfigError, match=r'line 6, column 48: duplicate key "applicable" \(first at line 5\)'
    ):
        config.load(write_config(text), {})
    fine = write_config(text.replace(", applicable: false", ""))
    assert config.load(fine, {}).items[0].applicable is True


def test_validate_exits_2_on_a_duplicate_key(write_config):
    path = write_config(FIREWALL)
    out = validate(path)
    assert (out.returncode, out.stderr) == (
        2,
        f'{path}: line 14, column 13: duplicate key "expect" (first at line 12)\n',
    )


@pytest.mark.parametrize(
    "first, second",
    [("1", "0x1"), ("true", "1"), ("null", "~"), ('"a"', "a"), ("1.0", "1"), ("07", "7")],
)
def test_keys_that_python_would_hold_as_one_are_duplicates(first, second):
    with pytest.raises(safeyaml.DocumentError, match=r"^line 2, column 1: duplicate key"):
        safeyaml.load(f"{first}: x\n{second}: y\n")


def test_merge_keys_may_be_overridden_that_is_their_purpose():
    doc = safeyaml.load("base: &b {interval: 1m, timeout: 5s}\nitem: {<<: *b, timeout: 9s}\n")
    assert doc["item"] == {"interval": "1m", "timeout": "9s"}


def test_web_config_duplicate_key_is_refused(tmp_path):
    path = tmp_path / "web.yml"
    hashed = "$2y$10$" + "a" * 53
    path.write_text(f"basic_auth_users:\n  alice: '{hashed}'\n  alice: '{hashed}'\n")
    with pytest.raises(ConfigError) as exc:
        webconfig.load(path)
    assert exc.value.errors == [
        f'{path}: line 3, column 3: duplicate key "alice" (first at line 2)'
    ]


def test_file_probe_does_not_pass_a_document_whose_key_was_given_twice(tmp_path):
    path = tmp_path / "feature-flags.yaml"
    spec = (
        config.parse(
            {
                "categories": [
                    {
                        "id": "c",
                        "items": [
                            {
                                "id": "F-1",
                                "title": "Debug off",
                                "priority": "high",
                                "probe": {
                                    "file": {
                                        "path": str(path),
                                        "document": "yaml",
                                        "assert": [{"path": "debug", "op": "==", "value": False}],
                                    }
                                },
                            }
                        ],
                    }
                ]
            },
            tmp_path / "config.yaml",
            {},
        )
        .items[0]
        .spec
    )
    assert isinstance(spec, FileSpec)
    path.write_text("debug: true\nlog: info\ndebug: false\n")
    result = judge_file(spec)
    assert (result.status, result.summary) == (
        Status.FAIL,
        'feature-flags.yaml at line 3, column 1: duplicate key "debug" (first at line 1)',
    )
    path.write_text("log: info\ndebug: false\n")
    assert judge_file(spec).status is Status.PASS


# -- tags whose value does not fit ------------------------------------------------------------

TAGS = ["null", "bool", "int", "float", "binary", "timestamp", "str", "seq", "map", "set"]
TAGS += ["omap", "pairs", "merge", "python/object:os.system", "foo"]


@pytest.mark.parametrize(
    "value, message",
    [
        ("!!timestamp x", r'line 1, column 19: invalid YAML: cannot read "x" as !!timestamp$'),
        ("!!bool maybe", r'line 1, column 19: invalid YAML: cannot read "maybe" as !!bool$'),
        ('!!int ""', r'line 1, column 19: invalid YAML: cannot read "" as !!int$'),
        ("!!float x1", r'cannot read "x1" as !!float: could not convert string to float'),
        ("!!binary é", r"line 1, column 19: invalid YAML: failed to convert base64 data"),
    ],
)
def test_a_value_its_tag_cannot_hold_is_a_located_error_and_exit_2(write_config, value, message):
    path = write_config(f"checklist: {{name: {value}}}\ncategories: []\n")
    out = validate(path)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith(f"{path}: line 1, column 19: "), out.stderr
    assert "Traceback" not in out.stderr
    import re

    assert re.search(message, out.stderr.strip()), out.stderr


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(
    tag=st.sampled_from(TAGS),
    value=st.one_of(
        st.text(max_size=12),
        st.sampled_from(["", "0b", "0x", "0o9", "1:2:3", "-", ".", "2026-02-30", "[1]", "{a: 1}"]),
        st.sampled_from(["9" * 5000, "2026-01-01T25:00:00", "1e999", "[[a]]", "{[a]: 1}"]),
    ),
)
def test_any_tag_and_value_give_a_document_or_a_located_error(tag, value):
    text = f"x: !!{tag} {value}\n"
    try:
        safeyaml.load(text)
    except safeyaml.DocumentError as exc:
        assert exc.problem.startswith(("invalid YAML: ", "duplicate key ")), exc


def test_a_control_character_is_located_by_character_not_by_byte():
    with pytest.raises(safeyaml.DocumentError) as exc:
        safeyaml.load("titre: Sécurité\nété: \x01\n")
    assert str(exc.value) == (
        "line 2, column 6: invalid YAML: unacceptable character #x0001: "
        "control characters are not allowed"
    )


def test_the_collector_is_switched_back_on_after_a_load_that_fails():
    assert gc.isenabled()
    with pytest.raises(safeyaml.DocumentError):
        safeyaml.load("a: !!bool maybe\n")
    assert gc.isenabled()


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.dates()
    | st.sampled_from(["yes", "0x1F", "1:30", "~", "2026-01-01", "<<", "=", "!x", "*a"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=6) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, derandomize=True, database=None, deadline=None)
@given(doc=values, shared=values)
def test_documents_read_as_pyyaml_reads_them(doc, shared):
    """Built here rather than by PyYAML's constructor: the same document, aliases included."""
    text = yaml.safe_dump({"doc": doc, "one": shared, "two": shared, "three": [shared]})
    assert safeyaml.load(text) == yaml.load(text, Loader=yaml.SafeLoader)


@pytest.mark.parametrize(
    "text",
    [
        "base: &b {a: 1, b: [x]}\nitem: {<<: *b, b: 2}\nmore: {<<: [*b, {c: 3}], a: 0}\n",
        "s: !!set {a, b}\no: !!omap [{a: 1}, {b: 2}]\np: !!pairs [{a: 1}, {a: 2}]\n",
        "n: [1, 0x1F, 1_000, 1:30, .inf, yes, ~, 2026-01-01 10:00:00+02:00, !!binary aGk=]\n",
        "q: {? a : 1, b: !!str 2, !!int '3': c}\n",
    ],
)
def test_merges_sets_and_typed_values_read_as_pyyaml_reads_them(text):
    assert safeyaml.load(text) == yaml.load(text, Loader=yaml.SafeLoader)


def _through_the_graph(text: str, monkeypatch: pytest.MonkeyPatch) -> object:
    """``safeyaml.load`` as it reads what its event stream hands over to the node graph."""

    class Handover:
        def __init__(self, text: str):
            pass

        def document(self) -> object:
            raise safeyaml._Composed

    with monkeypatch.context() as patch:
        patch.setattr(safeyaml, "_Stream", Handover)
        return _outcome(safeyaml.load, text)


def _outcome(load, text: str) -> object:
    try:
        return ("document", load(text))
    except safeyaml.DocumentError as exc:
        return ("refused", str(exc))


_LAUGHS = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 5)]
)  # a4 stands for 111,111 values


@pytest.mark.parametrize(
    "text",
    [
        "",
        "---\n",
        "a: &x 1\nb: &x 2\nc: *x\n",
        "--- 1\n--- 2\n",
        "a: &a [*a]\n",
        "a: " + "[" * 150 + "]" * 150 + "\n",
        "a: " + "[" * 100 + "]" * 100 + "\n",
        "a: &a x\nb: *b\n",
        "a: 1\nb: {c: 1, c: 2}\n",
        "1: a\ntrue: b\n",
        "? [a]\n: 1\n",
        "x: !!foo 1\n",
        "a: <<\n",
        "a: [&x [1, 2], *x, *x]\n",
        _LAUGHS + "\nc: [" + ", ".join(["*a4"] * 7) + "]\n",  # under 1,000,000 values
        _LAUGHS + "\nc: [" + ", ".join(["*a4"] * 8) + "]\n",  # over
    ],
)
def test_the_event_stream_reads_and_refuses_as_the_node_graph_does(text, monkeypatch):
    """Built from libyaml's events (bench/memory.py: 50 MB less at 10,000 items) with the same
    checks, counted instead of walked: the same document, or the same error at the same place."""
    assert _outcome(safeyaml.load, text) == _through_the_graph(text, monkeypatch)


def test_where_the_stream_differs_it_names_the_alias_or_its_anchor():
    """The graph names whichever node of a cycle or of an aliased collection its walk found at
    level 101; the stream names the anchor of a cycle and the alias that goes too deep."""
    with pytest.raises(safeyaml.DocumentError) as exc:
        safeyaml.load("a: &a {b: [*a]}\n")
    assert str(exc.value) == "line 1, column 4: invalid YAML: an alias refers to its own anchor"
    assert safeyaml.load("a: &a {b: [1]}\nc: [*a]\n")["c"] == [{"b": [1]}]
    text = "a: &a [1]\nb: " + "[" * 99 + "*a" + "]" * 99 + "\n"
    with pytest.raises(safeyaml.DocumentError) as exc:
        safeyaml.load(text)
    assert str(exc.value) == "line 2, column 103: invalid YAML: nested deeper than 100 levels"
    node = safeyaml.load("a: &a [1]\nb: " + "[" * 98 + "*a" + "]" * 98 + "\n")["b"]
    for _ in range(98):
        node = node[0]
    assert node == [1]


def test_the_shipped_config_reads_as_pyyaml_reads_it_and_aliases_stay_shared():
    text = (ROOT / "config.yaml").read_text()
    assert safeyaml.load(text) == yaml.load(text, Loader=yaml.SafeLoader)
    doc = safeyaml.load("a: &p {http: {url: x}}\nb: *p\nc: [*p, *p]\n")
    assert doc["a"] is doc["b"] is doc["c"][0] is doc["c"][1]


# -- config files that are not regular files --------------------------------------------------


def validate(path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exporter", "validate", "--config.file", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_a_fifo_as_config_is_refused_at_once(tmp_path):
    path = tmp_path / "config.yaml"
    os.mkfifo(path)
    out = validate(path)  # opening a FIFO to read would wait for a writer for ever
    assert (out.returncode, out.stderr) == (2, f"{path}: is a FIFO, expected a regular file\n")


def test_a_directory_as_config_is_refused(tmp_path):
    out = validate(tmp_path)
    assert (out.returncode, out.stderr) == (
        2,
        f"{tmp_path}: is a directory, expected a regular file\n",
    )


def test_a_config_replaced_by_a_fifo_neither_wedges_reload_nor_shutdown(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(
        "categories: [{id: c, title: C, items: [{id: C-1, title: T, priority: low,"
        " probe: {file: {path: /etc/hostname}}}]}]\n"
    )
    proc, base = start_exporter(path, tmp_path / "exporter.log")
    try:
        path.unlink()
        os.mkfifo(path)
        proc.proc.send_signal(signal.SIGHUP)
        wait_until(
            lambda: (
                b"readiness_exporter_config_last_reload_successful 0.0"
                in http_get(f"{base}/metrics")[1]
            ),
            20,
            "the failed reload reported",
        )
        assert http_get(f"{base}/-/healthy")[0] == 200
        assert "is a FIFO, expected a regular file" in proc.log()
    finally:
        code = proc.stop()  # SIGTERM; SIGKILL (code -9) if it does not end in 10 s
    assert code == 0, proc.log()
