"""deploy/kubernetes: the manifests validated offline, their wiring, and the generated copies.

Core kinds are checked by kubernetes-validate against the bundled Kubernetes schemas (strict:
unknown fields are errors). ServiceMonitor and PrometheusRule are CRDs those schemas lack: they
are parsed by the typed models generated from the Prometheus Operator's CRD schemas (types,
required fields, duration patterns), and any field those models do not know is reported too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cloudcoil.models.prometheus_operator import v1 as monitoring_v1
from support.procs import ROOT, require

from exporter.daemon import DEFAULT_PORT

sys.path.insert(0, str(ROOT / "scripts"))
import kubernetes_manifests

KUBE = ROOT / "deploy/kubernetes"
K8S_VERSION = kubernetes_validate.latest_version()
CRD_MODELS = {
    "ServiceMonitor": monitoring_v1.ServiceMonitor,
    "PrometheusRule": monitoring_v1.PrometheusRule,
}
KUSTOMIZATION_FIELDS = {
    "apiVersion",
    "kind",
    "labels",
    "resources",
    "configMapGenerator",
    "namespace",
}


def kustomization() -> dict[str, Any]:
    return yaml.safe_load((KUBE / "kustomization.yaml").read_text())


def build() -> list[dict[str, Any]]:
    """What ``kubectl apply -k`` would send, for kustomize features used here (no name hashes)."""
    kust = kustomization()
    unknown = set(kust) - KUSTOMIZATION_FIELDS
    assert not unknown, f"kustomization.yaml: fields this test does not render: {unknown}"
    docs = []
    for name in kust["resources"]:
        path = (KUBE / name).resolve()
        assert path.parent == KUBE.resolve(), (
            f"kustomization.yaml: {name} is outside deploy/kubernetes"
        )
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for gen in kust.get("configMapGenerator", []):
        data = {}
        for name in gen["files"]:
            path = (KUBE / name).resolve()
            assert path.parent == KUBE.resolve(), (
                f"kustomization.yaml: {name} is outside deploy/kubernetes"
            )
            data[path.name] = path.read_text()
        docs.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": gen["name"]},
                "data": data,
            }
        )
    for block in kust.get("labels", []):
        for doc in docs:
            doc["metadata"].setdefault("labels", {}).update(block["pairs"])
    return docs


# kube-prometheus-stack's Prometheus selects PrometheusRules and ServiceMonitors by the label
# `release: <its Helm release name>`; kustomization.yaml documents it and sets this default.
CHART_RELEASE = {"release": "kube-prometheus-stack"}


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def unknown_fields(given: Any, known: Any, where: str = "") -> list[str]:
    """Paths in ``given`` that a model dump (``known``) dropped: fields the CRD schema lacks."""
    if isinstance(given, dict):
        if not isinstance(known, dict):
            return [where]
        return [
            p
            for k, v in given.items()
            for p in (
                [f"{where}.{k}"] if k not in known else unknown_fields(v, known[k], f"{where}.{k}")
            )
        ]
    if isinstance(given, list) and isinstance(known, list):
        return [
            p
            for i, (g, k) in enumerate(zip(given, known, strict=False))
            for p in unknown_fields(g, k, f"{where}[{i}]")
        ]
    return []


def test_core_kinds_match_the_kubernetes_schemas():
    core = [d for d in build() if d["kind"] not in CRD_MODELS]
    assert {d["kind"] for d in core} == {
        "Deployment",
        "Service",
        "ConfigMap",
        "PersistentVolumeClaim",
    }
    for doc in core:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_crds_match_the_prometheus_operator_schemas():
    crds = [d for d in build() if d["kind"] in CRD_MODELS]
    assert sorted(d["kind"] for d in crds) == ["PrometheusRule", "ServiceMonitor"]
    for doc in crds:
        model = CRD_MODELS[doc["kind"]].model_validate(doc)
        dumped = model.model_dump(by_alias=True, exclude_none=True)
        assert unknown_fields(doc, dumped) == [], f"{doc['kind']}: fields the CRD does not define"


def test_unknown_crd_fields_are_caught():
    monitor = yaml.safe_load((KUBE / "servicemonitor.yaml").read_text())
    monitor["spec"]["endpoints"][0]["intervall"] = "30s"
    dumped = monitoring_v1.ServiceMonitor.model_validate(monitor).model_dump(
        by_alias=True, exclude_none=True
    )
    assert unknown_fields(monitor, dumped) == [".spec.endpoints[0].intervall"]


def test_deployment_is_locked_down():
    deployment = by_kind(build(), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    sec = container["securityContext"]
    assert sec["readOnlyRootFilesystem"] is True
    assert sec["allowPrivilegeEscalation"] is False
    assert sec["capabilities"]["drop"] == ["ALL"]
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}
    assert container["livenessProbe"]["httpGet"]["path"] == "/-/healthy"
    assert container["readinessProbe"]["httpGet"]["path"] == "/-/ready"


def test_deployment_matches_the_image():
    """The UID the Dockerfile runs as, its port and its config path are the ones used here."""
    pod = by_kind(build(), "Deployment")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    user = [
        line.split()[1]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("USER ")
    ]
    assert (
        f"{pod['securityContext']['runAsUser']}:{pod['securityContext']['runAsGroup']}" == user[-1]
    )
    assert container["ports"] == [
        {"name": "http", "containerPort": DEFAULT_PORT, "protocol": "TCP"}
    ]
    assert f"--web.listen-address=:{DEFAULT_PORT}" in container["args"]
    config_arg = next(a for a in container["args"] if a.startswith("--config.file="))
    config_path = Path(config_arg.split("=", 1)[1])
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    checklist = volumes[mounts[str(config_path.parent)]]["configMap"]["name"]
    generated = {g["name"]: g["files"] for g in kustomization()["configMapGenerator"]}
    assert config_path.name in generated[checklist], (
        "the config file is not in the checklist ConfigMap"
    )
    # The shipped config's relative attestation paths resolve beside it.
    assert mounts[str(config_path.parent / "attestations")] == "attestations"
    assert volumes["attestations"]["configMap"]["optional"] is True
    assert volumes[mounts["/tmp"]].get("emptyDir") is not None
    # The store: a volume of its own at data/ beside the config (the default --storage.path),
    # writable, and the rollout lets go of it before a new pod takes it.
    store = next(
        m for m in container["volumeMounts"] if m["mountPath"] == str(config_path.parent / "data")
    )
    assert not store.get("readOnly")
    claim = volumes[store["name"]]["persistentVolumeClaim"]["claimName"]
    pvc = by_kind(build(), "PersistentVolumeClaim")
    assert pvc["metadata"]["name"] == claim
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert by_kind(build(), "Deployment")["spec"]["strategy"] == {"type": "Recreate"}


def test_credentials_come_from_secret_references_only():
    (container,) = by_kind(build(), "Deployment")["spec"]["template"]["spec"]["containers"]
    assert "env" not in container, "literal values belong in the targets ConfigMap or the Secret"
    refs = {next(iter(ref)): ref[next(iter(ref))]["name"] for ref in container["envFrom"]}
    assert refs == {
        "configMapRef": "readiness-exporter-targets",
        "secretRef": "readiness-exporter-credentials",
    }
    assert not any(d["kind"] == "Secret" for d in build()), (
        "no credentials are shipped in the manifests"
    )


def test_service_and_servicemonitor_select_the_exporter():
    docs = build()
    deployment, service, monitor = (
        by_kind(docs, k) for k in ("Deployment", "Service", "ServiceMonitor")
    )
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    (port,) = service["spec"]["ports"]
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == port["name"] and port["targetPort"] == "http"
    # service/environment are target labels set by relabeling, not by the exporter.
    assert {r["targetLabel"] for r in endpoint["relabelings"]} == {"service", "environment"}
    # The operator names the job after the Service; the exporter-down rules select
    # job=~"readiness.*".
    assert "jobLabel" not in monitor["spec"] and service["metadata"]["name"].startswith("readiness")
    assert 'job=~"readiness.*"' in (ROOT / kubernetes_manifests.RULES).read_text()


def test_rules_and_monitor_carry_kube_prometheus_stack_s_release_label():
    docs = build()
    for kind in ("PrometheusRule", "ServiceMonitor"):
        labels = by_kind(docs, kind)["metadata"]["labels"]
        assert labels.items() >= CHART_RELEASE.items(), f"{kind}: {labels}"
    # A setting of the kustomization (an overlay changes one place), not of the generated files.
    assert {"pairs": CHART_RELEASE, "includeSelectors": False} in kustomization()["labels"]
    assert "release" not in (KUBE / "prometheusrule.yaml").read_text()


def test_dashboards_are_configmaps_for_the_grafana_sidecar():
    """One ConfigMap per shipped dashboard, labelled for the sidecar, holding the same JSON."""
    maps = [d for d in build() if d["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    shipped = {
        p.name: p.read_text() for p in (ROOT / kubernetes_manifests.DASHBOARDS).glob("*.json")
    }
    assert {name: text for m in maps for name, text in m["data"].items()} == shipped
    assert all(len(m["data"]) == 1 for m in maps)
    names = [m["metadata"]["name"] for m in maps]
    assert len(names) == len(set(names)) == len(shipped)
    # A ConfigMap holds at most 1 MiB.
    assert all(len(text.encode()) < 1 << 20 for text in shipped.values())


def test_checklist_copy_is_current():
    assert (KUBE / "config.yaml").read_text() == (ROOT / "config.yaml").read_text(), (
        "deploy/kubernetes/config.yaml differs from config.yaml: run make kubernetes-manifests"
    )


def test_prometheusrule_is_generated_from_the_rule_file():
    stale = subprocess.run(
        [sys.executable, str(ROOT / "scripts/kubernetes_manifests.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert stale.returncode == 0, stale.stderr
    rule = yaml.safe_load((KUBE / "prometheusrule.yaml").read_text())
    source = yaml.safe_load((ROOT / kubernetes_manifests.RULES).read_text())
    assert rule["spec"]["groups"] == source["groups"]


def test_drift_check_names_the_stale_file(tmp_path):
    """A changed rule file makes --check fail until the manifest is regenerated."""
    (tmp_path / "alerts").mkdir()
    (tmp_path / "deploy/kubernetes").mkdir(parents=True)
    shutil.copytree(
        ROOT / kubernetes_manifests.DASHBOARDS, tmp_path / kubernetes_manifests.DASHBOARDS
    )
    rules = (ROOT / kubernetes_manifests.RULES).read_text()
    (tmp_path / kubernetes_manifests.RULES).write_text(rules)
    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text())
    for path, text in kubernetes_manifests.expected(tmp_path).items():
        (tmp_path / path).write_text(text)
    assert kubernetes_manifests.stale(tmp_path) == []
    (tmp_path / kubernetes_manifests.RULES).write_text(
        rules.replace("severity: critical", "severity: warning")
    )
    assert kubernetes_manifests.stale(tmp_path) == [Path("deploy/kubernetes/prometheusrule.yaml")]


def test_prometheusrule_rules_pass_promtool(tmp_path):
    promtool = require("promtool")
    rule = yaml.safe_load((KUBE / "prometheusrule.yaml").read_text())
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    run = subprocess.run(
        [promtool, "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_kubectl_kustomize_renders_what_this_test_checks():
    """Where kubectl is installed (it is not a Debian package here), kustomize itself renders
    the kustomization: the same objects as ``build()``, the ConfigMap under a hashed name that
    the Deployment follows, and the core kinds still valid."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed; build() above renders the kustomization instead")
    out = subprocess.run(
        [kubectl, "kustomize", str(KUBE)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    rendered = [d for d in yaml.safe_load_all(out.stdout) if d]
    ours = build()

    def names(docs: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return sorted((d["kind"], d["metadata"]["name"]) for d in docs)

    (generated,) = [g["name"] for g in kustomization()["configMapGenerator"]]
    (config_map,) = [
        d
        for d in rendered
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith(f"{generated}-")
    ]
    assert config_map["metadata"]["name"].startswith(f"{generated}-")  # kustomize's content hash
    config_map["metadata"]["name"] = generated
    assert names(rendered) == names(ours)
    for doc, mine in zip(
        sorted(rendered, key=lambda d: d["kind"]),
        sorted(ours, key=lambda d: d["kind"]),
        strict=False,
    ):
        assert doc["metadata"].get("labels") == mine["metadata"].get("labels"), doc["kind"]
    (checklist,) = [d for d in ours if d["metadata"]["name"] == generated]
    assert config_map["data"] == checklist["data"]
    volumes = by_kind(rendered, "Deployment")["spec"]["template"]["spec"]["volumes"]
    assert any(v.get("configMap", {}).get("name", "").startswith(f"{generated}-") for v in volumes)
    for doc in rendered:
        if doc["kind"] not in CRD_MODELS:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
