"""Run one item of the shipped config.yaml, as shipped, with its variables pointed at fixtures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.procs import ROOT

from exporter.config import parse, read_yaml
from exporter.engine import Engine
from probes.composite import written_children
from probes.result import Result, Status

CONFIG = ROOT / "config.yaml"


@cache
def _items() -> dict[str, dict[str, Any]]:
    doc = read_yaml(CONFIG)
    return {item["id"]: item for category in doc["categories"] for item in category["items"]}


def shipped_item(item_id: str) -> dict[str, Any]:
    """The item as config.yaml writes it (its ``probe:`` unexpanded)."""
    return dict(_items()[item_id])


def kinds(probe: Mapping[str, Any]) -> list[str]:
    """The kinds of every probe in a probe mapping, all/any children included."""
    ((kind, body),) = probe.items()
    if kind in ("all", "any"):
        return [k for child in written_children(body) for k in kinds(child)]
    return [kind]


def on_loopback(probe: Any) -> Any:
    """``probe`` with ``local_ok: true`` on every tcp probe that wants a port closed: a lab whose
    "outside" is a loopback port (as written, the probe cannot judge from this machine)."""
    if isinstance(probe, dict):
        if isinstance(probe.get("tcp"), dict) and probe["tcp"].get("expect") == "closed":
            return {"tcp": {**probe["tcp"], "local_ok": True}}
        return {k: on_loopback(v) for k, v in probe.items()}
    if isinstance(probe, list):
        return [on_loopback(v) for v in probe]
    return probe


async def run_shipped(
    item_id: str,
    env: Mapping[str, str],
    base_dir: Path,
    timeout: str | None = None,
    lab: bool = False,
) -> Result:
    """The result of one engine run of the shipped item ``item_id``.

    ``env`` holds the variables the fixture sets (nothing comes from the test's environment, so
    defaults apply); relative paths (attestations) resolve against ``base_dir``. Fails when the
    item still waits for a variable: a trap must run the probe. ``lab`` runs the item as a lab
    would, its closed ports judged on loopback (``on_loopback``).
    """
    item = shipped_item(item_id)
    if lab:
        item["probe"] = on_loopback(item["probe"])
    if timeout is not None:
        item["timeout"] = timeout
        item["interval"] = "1h"
    doc = {"categories": [{"id": "traps", "title": "Traps", "items": [item]}]}
    checklist = parse(doc, base_dir / "config.yaml", env)
    (loaded,) = checklist.items
    assert not loaded.missing, f"{item_id} still needs {', '.join(loaded.missing)}"
    engine = Engine(checklist)
    try:
        state = await engine.run_item(item_id)
    finally:
        await engine.resources.aclose()
    assert state.result is not None
    return state.result


async def run_shipped_together(
    item_ids: list[str], env: Mapping[str, str], base_dir: Path
) -> dict[str, Result]:
    """One engine run of each of the shipped items, loaded as one checklist: what one item's
    output shows is masked with every item's credentials, as in the served config."""
    items = [shipped_item(i) for i in item_ids]
    doc = {"categories": [{"id": "traps", "title": "Traps", "items": items}]}
    checklist = parse(doc, base_dir / "config.yaml", env)
    waiting = {i.id: i.missing for i in checklist.items if i.missing}
    assert not waiting, f"items still need variables: {waiting}"
    engine = Engine(checklist)
    try:
        states = {i: await engine.run_item(i) for i in item_ids}
    finally:
        await engine.resources.aclose()
    return {i: s.result for i, s in states.items() if s.result is not None}


def _attestation_files(probe: Mapping[str, Any]) -> list[str]:
    ((kind, body),) = probe.items()
    if kind in ("all", "any"):
        return [f for child in written_children(body) for f in _attestation_files(child)]
    return [body["file"]] if kind == "attestation" else []


def sign(base_dir: Path, item_id: str, status: str = "pass") -> Path:
    """A fresh attestation for ``item_id``, where the shipped item looks for it."""
    (relative,) = _attestation_files(shipped_item(item_id)["probe"])
    path = base_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    doc = {"item": item_id, "status": status, "validated_by": "Jane Doe", "date": now.isoformat()}
    path.write_text(yaml.safe_dump({**doc, "evidence": ["trap fixture"]}))
    return path


def passes(result: Result) -> bool:
    return result.status is Status.PASS


def coming(option: str) -> pytest.MarkDecorator:
    """A trap the shipped item cannot pass until ``option`` lands (strict: remove it then)."""
    return pytest.mark.xfail(strict=True, reason=f"waits for {option}")
