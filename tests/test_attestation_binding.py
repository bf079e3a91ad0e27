"""Evidence is bound to its item: a copy or a link of another item's PASS, or a signature dated
in the future, is a FAIL that says why; the item's own, honest file beside it is a PASS."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import yaml
from support.cli import run_cli

from probes.attestation import Spec, judge
from probes.result import Status

NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC).timestamp()


def sign(path: Path, item: str | None, date: object = "2026-10-30", **more: object) -> Path:
    doc = {"item": item, "status": "pass", "validated_by": "Jane Doe", "date": date, **more}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({k: v for k, v in doc.items() if v is not None}))
    return path


def verdict(path: Path, item: str, now: float = NOW) -> tuple[Status, str]:
    result = judge(Spec(path), item, now)
    return result.status, result.summary


def test_a_copy_of_another_items_pass_is_a_fail(tmp_path):
    own = sign(tmp_path / "S-001.yaml", "S-001")
    assert verdict(own, "S-001")[0] is Status.PASS
    copy = tmp_path / "S-002.yaml"
    shutil.copy(own, copy)
    assert verdict(copy, "S-002") == (
        Status.FAIL,
        "S-002.yaml is evidence for S-001, expected S-002 (copied from another item?)",
    )


def test_a_file_that_names_no_item_is_a_fail_that_says_how_to_fix_it(tmp_path):
    path = sign(tmp_path / "S-001.yaml", None)
    assert verdict(path, "S-001") == (
        Status.FAIL,
        "S-001.yaml does not name its item: add item: S-001 (see attestations/README.md)",
    )


def test_a_symbolic_link_is_refused_even_to_the_right_evidence(tmp_path):
    own = sign(tmp_path / "S-001.yaml", "S-001")
    for name, target in (("S-002.yaml", own), ("S-001-link.yaml", own)):
        (tmp_path / name).symlink_to(target)
    for name, item in (("S-002.yaml", "S-002"), ("S-001-link.yaml", "S-001")):
        assert verdict(tmp_path / name, item) == (
            Status.FAIL,
            f"{name} is a symbolic link: evidence must be the item's own file",
        )


def test_a_kubernetes_configmap_volume_is_read_through_its_links(tmp_path):
    """Kubernetes mounts each key as NAME -> ..data/NAME, ..data -> ..<timestamp>/."""
    volume = tmp_path / "attestations"
    version = volume / "..2026_11_01_12_00_00.123"
    sign(version / "S-001.yaml", "S-001")
    (volume / "..data").symlink_to(version.name)
    (volume / "S-001.yaml").symlink_to("..data/S-001.yaml")
    assert verdict(volume / "S-001.yaml", "S-001")[0] is Status.PASS
    # A link of that shape to another item's evidence is still that item's evidence.
    shutil.copy(version / "S-001.yaml", version / "S-002.yaml")
    (volume / "S-002.yaml").symlink_to("..data/S-002.yaml")
    assert verdict(volume / "S-002.yaml", "S-002")[1].startswith(
        "S-002.yaml is evidence for S-001, expected S-002"
    )
    # A key removed from the ConfigMap: its link dangles until Kubernetes removes it.
    (volume / "S-003.yaml").symlink_to("..data/S-003.yaml")
    assert verdict(volume / "S-003.yaml", "S-003") == (
        Status.PENDING,
        "not attested yet: S-003.yaml does not exist",
    )


@pytest.mark.parametrize(
    "date, status",
    [
        ("2099-01-01", Status.FAIL),  # got past max_age before
        ("2026-11-03", Status.FAIL),  # a day that has begun nowhere yet
        ("2026-11-02", Status.PASS),  # already 2 November at UTC+14 (12:00 UTC is 02:00 there)
        ("2026-11-01", Status.PASS),
        ("2026-11-01T12:06:00+00:00", Status.FAIL),  # ahead of our clock by more than drift
        ("2026-11-01T12:04:00+00:00", Status.PASS),
        ("2026-11-01T20:00:00+09:00", Status.PASS),  # 11:00 UTC
        (dt.datetime(2026, 11, 1, 13, 0), Status.FAIL),  # YAML timestamp without zone: UTC
    ],
)
def test_a_signature_dated_in_the_future_is_refused(tmp_path, date, status):
    path = sign(tmp_path / "S-001.yaml", "S-001", date)
    got, summary = verdict(path, "S-001")
    assert got is status, summary
    if status is Status.FAIL:
        assert summary.startswith("signed in the future (signed by Jane Doe on "), summary


def test_a_future_date_does_not_outlast_max_age(tmp_path):
    path = sign(tmp_path / "S-001.yaml", "S-001", "2099-01-01")
    result = judge(Spec(path, max_age=90 * 86400), "S-001", NOW)
    assert (result.status, result.summary) == (
        Status.FAIL,
        "signed in the future (signed by Jane Doe on 2099-01-01)",
    )


def test_the_engine_binds_each_items_evidence_to_its_id(tmp_path):
    """Through ``check``: the item's ID reaches the probe from the engine, not from the file."""
    (tmp_path / "config.yaml").write_text(
        "categories:\n- id: s\n  title: S\n  items:\n"
        + "".join(
            f"  - {{id: {i}, title: {i}, priority: critical,"
            f" probe: {{attestation: {{file: {i}.yaml}}}}}}\n"
            for i in ("S-001", "S-002")
        )
    )
    today = dt.datetime.now(dt.UTC).date()
    sign(tmp_path / "S-001.yaml", "S-001", today)
    shutil.copy(tmp_path / "S-001.yaml", tmp_path / "S-002.yaml")
    config = str(tmp_path / "config.yaml")
    out = run_cli("check", "--format", "json", "--config.file", config)
    items = {i["id"]: i for i in json.loads(out.stdout)["items"]}
    assert items["S-001"]["status"] == "pass"
    assert (items["S-002"]["status"], items["S-002"]["summary"]) == (
        "fail",
        "S-002.yaml is evidence for S-001, expected S-002 (copied from another item?)",
    )
