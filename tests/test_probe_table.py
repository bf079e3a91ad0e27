"""Table probe on Markdown files under tmp_path: columns by header, rows by first cell."""

from __future__ import annotations

from support.probing import config_error, run

from probes.result import Status
from probes.table import longest


def test_a_cell_is_judged_by_its_longest_duration():
    assert longest("15 min") == 900
    assert longest("RTO 1 hour") == 3600
    assert longest("**4h** (goal: 30 minutes)") == 4 * 3600
    assert longest("1.5 h") == 5400
    assert longest("TBD") is None
    assert longest("v2 API") is None


async def test_the_exact_header_wins_and_a_missing_row_or_column_fails(tmp_path):
    (tmp_path / "plan.md").write_text(
        "| Tier | RTO (actual, last drill) | RTO |\n| - | - | - |\n| Tier 1 | 3 h | 1 h |\n"
    )
    probe = {"table": {"path": "plan.md", "column": "RTO", "at_most": {"Tier 1": "1h"}}}
    result = await run(probe, tmp_path)
    assert result.status is Status.PASS, result.summary
    assert result.summary == "plan.md: Tier 1 RTO 1 h (line 3), at most 1h"
    probe["table"]["at_most"] = {"Tier 2": "4h"}
    result = await run(probe, tmp_path)
    assert result.status is Status.FAIL
    assert result.summary == "plan.md: no Tier 2 row in a table with a column RTO"
    probe["table"] |= {"column": "MTTR", "at_most": {"Tier 1": "1h"}}
    result = await run(probe, tmp_path)
    assert (
        result.status is Status.FAIL
        and "no table has a column MTTR (tables read: 1)" in result.summary
    )


async def test_a_missing_file_fails(tmp_path):
    probe = {"table": {"path": "none.md", "column": "RTO", "at_most": {"Tier 1": "1h"}}}
    result = await run(probe, tmp_path)
    assert result.status is Status.FAIL and "does not exist" in result.summary


def test_bad_bounds_are_located_errors(tmp_path):
    error = config_error(
        {"table": {"path": "p.md", "column": "RTO", "at_most": {"Tier 1": "soon"}}}, tmp_path
    )
    assert "table.at_most.Tier 1" in error and "duration" in error, error
    error = config_error({"table": {"path": "p.md", "column": "RTO"}}, tmp_path)
    assert "table.at_most" in error, error
