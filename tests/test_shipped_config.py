"""The shipped config.yaml: the whole P020 checklist, at least 100 items checked by a probe."""

from __future__ import annotations

from collections import Counter

from support.procs import ROOT

from exporter.config import load

CONFIG = ROOT / "config.yaml"

# One plausible value for every variable the shipped config uses (docs/probes.md, "Variables").
SAMPLE_ENV = {
    "APP_URL": "https://agent.example.com",
    "APP_DOMAIN": "agent.example.com",
    "APP_REPO": "/srv/agente-hotelero",
    "APP_ENV_FILE": "/srv/agente-hotelero/.env.production",
    "APP_LOG_FILE": "/var/log/agente/app.log",
    "PUBLIC_HOST": "203.0.113.10",
    "PUBLIC_SITE_URL": "https://www.example.com",
    "STAGING_URL": "https://staging.agent.example.com",
    "PROMETHEUS_URL": "http://prometheus:9090",
    "ALERTMANAGER_URL": "http://alertmanager:9093",
    "GRAFANA_URL": "http://grafana:3000",
    "GRAFANA_TOKEN": "glsa_sample",
    "LOKI_URL": "http://loki:3100",
    "STATUS_PAGE_URL": "https://status.example.com",
    "DATABASE_URL": "postgresql://readiness@db:5432/agente",
    "BACKUP_DIR": "/var/backups/agente",
    "RESTORE_TEST_LOG": "/var/backups/agente/restore-test.log",
    "PMS_URL": "https://pms.example.com",
    "PMS_API_KEY": "sample-api-key",
    "WHATSAPP_ACCESS_TOKEN": "sample-access-token",
    "WHATSAPP_PHONE_NUMBER_ID": "1234567890",
    "WHATSAPP_BUSINESS_ACCOUNT_ID": "1234567890",
    "PAGERDUTY_TOKEN": "sample-pagerduty-token",
    "PAGERDUTY_SCHEDULE_ID": "PABC123",
    "DATA_PATH": "/var/lib/postgresql",
}


def test_shipped_config_is_the_whole_checklist_and_mostly_automated():
    checklist = load(CONFIG, env={})
    items = checklist.items
    assert len(items) == 145
    assert len(checklist.categories) == 12
    assert Counter(i.priority for i in items)["critical"] == 81
    automated = [i for i in items if i.kind != "attestation"]
    assert len(automated) >= 100, f"only {len(automated)} items use an automated probe"


def test_every_item_is_probed_once_its_variables_are_set():
    checklist = load(CONFIG, env=SAMPLE_ENV)
    waiting = {i.id: i.missing for i in checklist.items if i.missing}
    assert waiting == {}
    kinds = Counter(i.kind for i in checklist.items)
    for kind in ("http", "tls", "dns", "promql", "sql", "report", "env", "disk", "file"):
        assert kinds[kind] >= 1, f"no item uses {kind}"


def test_docs_state_the_real_count():
    automated = sum(i.kind != "attestation" for i in load(CONFIG, env={}).items)
    docs = (ROOT / "docs" / "probes.md").read_text()
    assert f"checks {automated} of its 145 items with a probe" in docs
