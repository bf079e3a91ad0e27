"""deploy/compose: the compose file parsed and validated, and every config it mounts checked by
the tool that will read it (promtool, amtool), with paths mapped back through the mounts."""

from __future__ import annotations

import glob
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from compose_spec import PyCompose
from support.procs import ROOT, require

from exporter.daemon import DEFAULT_PORT

COMPOSE_DIR = ROOT / "deploy/compose"
COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def bind_mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> host path of a service's bind mounts (named volumes left out)."""
    out = {}
    for spec in service.get("volumes", []):
        source, target = spec.split(":")[:2]
        if source.startswith((".", "/")):
            out[target] = (COMPOSE_DIR / source).resolve()
    return out


def on_host(service: dict[str, Any], container_path: str) -> Path:
    """Where a path inside the service's container comes from on the host (longest mount wins)."""
    path = PurePosixPath(container_path)
    for target, source in sorted(bind_mounts(service).items(), key=lambda m: -len(m[0])):
        if path == PurePosixPath(target) or PurePosixPath(target) in path.parents:
            return source / path.relative_to(target)
    raise AssertionError(f"{container_path} is not mounted into the container")


def config_variables(config: Path) -> tuple[set[str], set[str]]:
    """The environment variables a checklist reads: (without a default, with ``${VAR:-default}``).

    The env probe's ``name`` counts as required: it reads the exporter's own environment.
    """
    text = config.read_text()
    required = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", text))
    optional = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):-", text)) - required

    def env_names(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("env"), dict) and "name" in node["env"]:
                yield node["env"]["name"]
            for value in node.values():
                yield from env_names(value)
        elif isinstance(node, list):
            for value in node:
                yield from env_names(value)

    return required | set(env_names(yaml.safe_load(text))), optional


def test_compose_file_is_valid_compose_spec():
    parsed = PyCompose.from_yaml(COMPOSE_FILE.read_text())  # raises ValueError naming line and key
    assert sorted(parsed.service_names()) == ["alertmanager", "exporter", "grafana", "prometheus"]


def test_every_mount_source_exists(compose):
    missing = [
        f"{name}: {source.relative_to(ROOT)}"
        for name, service in compose["services"].items()
        for source in bind_mounts(service).values()
        if not source.exists()
    ]
    assert not missing, f"compose.yaml mounts files that do not exist: {missing}"
    named = {
        v.split(":")[0]
        for s in compose["services"].values()
        for v in s.get("volumes", [])
        if not v.startswith((".", "/"))
    }
    assert named <= set(compose.get("volumes", {})), (
        "named volumes must be declared at the top level"
    )


def test_exporter_gets_the_image_layout_and_every_variable(compose):
    exporter = compose["services"]["exporter"]
    assert exporter["build"]["context"] == "../.."
    assert on_host(exporter, "/etc/readiness-exporter/config.yaml") == ROOT / "config.yaml"
    assert on_host(exporter, "/etc/readiness-exporter/attestations").is_dir()
    # The store, data/ beside the config, in a named volume.
    assert "readiness-data:/etc/readiness-exporter/data" in exporter["volumes"]
    assert "readiness-data" in compose["volumes"]
    assert exporter["ports"] == [f"{DEFAULT_PORT}:{DEFAULT_PORT}"]
    required, optional = config_variables(ROOT / "config.yaml")
    passed = set(exporter["environment"])
    assert not required - passed, (
        f"variables of config.yaml the exporter does not get: {required - passed}"
    )
    assert not passed - required - optional, (
        f"variables config.yaml does not use: {passed - required - optional}"
    )
    assert exporter["read_only"] is True and exporter["cap_drop"] == ["ALL"]


def test_prometheus_config_passes_promtool_with_the_mounted_rules(compose, tmp_path):
    promtool = require("promtool")
    prometheus = compose["services"]["prometheus"]
    config_arg = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    config = yaml.safe_load(on_host(prometheus, config_arg.split("=", 1)[1]).read_text())
    # promtool resolves rule_files on this machine: point the globs where the mounts come from.
    rule_globs = [str(on_host(prometheus, g)) for g in config["rule_files"]]
    for pattern in rule_globs:
        assert glob.glob(pattern), f"rule_files {pattern}: matches no rule file"
    config["rule_files"] = rule_globs
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    run = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    rules = [f for pattern in rule_globs for f in glob.glob(pattern)]
    run = subprocess.run([promtool, "check", "rules", *rules], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_prometheus_scrapes_the_exporter_with_target_labels(compose):
    prometheus = compose["services"]["prometheus"]
    config = yaml.safe_load(on_host(prometheus, "/etc/prometheus/prometheus.yml").read_text())
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "readiness"]
    (static,) = job["static_configs"]
    assert static["targets"] == [f"exporter:{DEFAULT_PORT}"]
    assert set(static["labels"]) == {"service", "environment"}
    am_targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert am_targets == ["alertmanager:9093"] and "alertmanager" in compose["services"]


def test_alertmanager_config_passes_amtool(compose):
    amtool = require("amtool")
    alertmanager = compose["services"]["alertmanager"]
    config_arg = next(a for a in alertmanager["command"] if a.startswith("--config.file="))
    config = on_host(alertmanager, config_arg.split("=", 1)[1])
    run = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_grafana_is_provisioned_with_the_datasource_and_dashboards(compose):
    grafana = compose["services"]["grafana"]
    sources = yaml.safe_load(
        on_host(grafana, "/etc/grafana/provisioning/datasources/prometheus.yaml").read_text()
    )
    (source,) = sources["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load(
        on_host(grafana, "/etc/grafana/provisioning/dashboards/readiness.yaml").read_text()
    )
    (provider,) = providers["providers"]
    folder = on_host(grafana, provider["options"]["path"])
    dashboards = sorted(folder.glob("*.json"))
    assert dashboards, f"{folder.relative_to(ROOT)}: no dashboard JSON for the provider"
    for path in dashboards:
        assert json.loads(path.read_text())["uid"], f"{path.name}: dashboard without uid"
