"""Run one probe the way the daemon does: through the config loader and the engine.

A probe under test is written as the ``probe:`` mapping of a one-item config, loaded by
``exporter.config`` (so bad configs give the exact line a user sees) and run by
``Engine.run_item`` (so the engine's timeout and error handling apply, not a test's copy).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from exporter.config import Checklist, ConfigError, parse
from exporter.engine import Engine
from probes.result import Result

ITEM = "T-001"


def checklist(
    probe: Mapping[str, Any],
    base_dir: Path,
    timeout: str = "5s",
    env: Mapping[str, str] | None = None,
) -> Checklist:
    """A one-item checklist (item T-001) holding ``probe``; raises ConfigError."""
    doc = {
        "categories": [
            {
                "id": "test",
                "title": "Test",
                "items": [
                    {
                        "id": ITEM,
                        "title": "Probe under test",
                        "priority": "critical",
                        "timeout": timeout,
                        "interval": "1h",
                        "probe": dict(probe),
                    }
                ],
            }
        ]
    }
    return parse(doc, base_dir / "config.yaml", env or {})


def config_error(
    probe: Mapping[str, Any], base_dir: Path, env: Mapping[str, str] | None = None
) -> str:
    """The single error line the loader gives for ``probe``."""
    with pytest.raises(ConfigError) as info:
        checklist(probe, base_dir, env=env)
    assert len(info.value.errors) == 1, info.value.errors
    return info.value.errors[0]


async def run(
    probe: Mapping[str, Any],
    base_dir: Path,
    timeout: str = "5s",
    env: Mapping[str, str] | None = None,
) -> Result:
    """The result of one engine run of ``probe`` with the given item timeout."""
    engine = Engine(checklist(probe, base_dir, timeout, env))
    try:
        state = await engine.run_item(ITEM)
    finally:
        await engine.resources.aclose()
    assert state.checked_at is not None, "the item was not probed (unset variables?)"
    return state.result
