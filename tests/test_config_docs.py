"""The docs' variable tables are config.yaml's, and docs/checks.md has a row per probed item.

``scripts/config_docs.py`` writes the tables from the config (the meaning of each variable from
its comment block, defaults and items from the probes); a table edited by hand, or a config
changed without rerunning it, fails here.
"""

from __future__ import annotations

import re
import sys
import textwrap

import pytest
from support.procs import ROOT

from exporter.config import load

sys.path.insert(0, str(ROOT / "scripts"))
import config_docs  # scripts/ is not a package: imported from its folder

CHECKS = ROOT / "docs" / "checks.md"


def test_the_committed_tables_are_what_the_config_says(capsys):
    assert config_docs.main(["--check"]) == 0, capsys.readouterr().err


def config(tmp_path, header: str, probe: str):
    path = tmp_path / "config.yaml"
    path.write_text(
        textwrap.dedent(header)
        + textwrap.dedent(
            f"""\
            categories:
            - id: c
              title: C
              items:
              - id: X-1
                title: x
                priority: low
                probe: {probe}
            """
        )
    )
    return path


@pytest.mark.parametrize(
    "header, probe, message",
    [
        (
            "#   APP_URL: the origin\n",
            '{http: {url: "${APP_URL}${APP_PATH:-/x}"}}',
            "APP_PATH is used by X-1 but not described",
        ),
        (
            "#   APP_URL: the origin\n#   OLD_URL: gone\n",
            '{http: {url: "${APP_URL}"}}',
            "OLD_URL is described but no item reads it",
        ),
        (
            "#   APP_URL: the origin\n#   P: a path\n",
            '{all: [{http: {url: "${APP_URL}${P:-/a}"}}, {http: {url: "${APP_URL}${P:-/b}"}}]}',
            "P has two defaults: `/a` and `/b`",
        ),
    ],
)
def test_a_table_that_could_not_be_true_is_refused(tmp_path, header, probe, message):
    with pytest.raises(config_docs.DocsError, match=re.escape(message)):
        config_docs.variables(config(tmp_path, header, probe))


def test_meanings_defaults_and_readers_come_from_the_config(tmp_path):
    header = """\
        # Variables:
        #   APP_URL: the application's origin,
        #     no path
        #   APP_PATH: a path
        #   JWT_SECRET: read by the env kind
        """
    path = config(
        tmp_path,
        header,
        '{all: [{http: {url: "${APP_URL}${APP_PATH:-/x}"}}, {env: {name: JWT_SECRET}}]}',
    )
    found, per_item = config_docs.variables(path)
    assert list(found) == ["APP_URL", "APP_PATH", "JWT_SECRET"]
    assert found["APP_URL"].meaning == "the application's origin, no path"
    assert found["APP_PATH"].defaults == {"/x"}
    assert per_item == [("X-1", ["APP_URL", "APP_PATH", "JWT_SECRET"])]
    table = config_docs.items_table(per_item, found)
    assert "| X-1 | **`APP_URL`**, `APP_PATH`, **`JWT_SECRET`** |" in table


def test_checks_md_has_a_row_for_every_probed_item_and_no_other():
    items = load(ROOT / "config.yaml", env={}).items
    probed = {i.id for i in items if i.kind != "attestation"}
    audited = set(re.findall(r"^\| ([A-Z]+-\d{3}) \| [^|]*\? \|", CHECKS.read_text(), re.M))
    assert audited == probed


def test_readme_and_probes_md_link_the_audit_table():
    assert "](docs/checks.md)" in (ROOT / "README.md").read_text()
    assert "](checks.md)" in (ROOT / "docs" / "probes.md").read_text()
