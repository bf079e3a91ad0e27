# The README's two commands, and the targets that grow around them.
.PHONY: run test soak

run:
	scripts/run.sh

test:
	scripts/test.sh

# Load, soak and flood benchmarks (about 22 minutes); numbers go to docs/reliability.md.
soak:
	.venv/bin/python bench/soak.py

# The monitoring mixin (mixin/, docs/alerts-and-dashboards.md) rendered into the rule file, the
# dashboards and their Kubernetes forms; `scripts/mixin.py --check` says what is out of date.
.PHONY: mixin
mixin:
	.venv/bin/python scripts/mixin.py

# The variable tables of docs/probes.md and docs/checks.md, written from config.yaml (its comment
# block says what each variable means); `scripts/config_docs.py --check` says what is stale.
.PHONY: config-docs
config-docs:
	.venv/bin/python scripts/config_docs.py

# Deployment (docs/deploy.md): copies kustomize needs inside deploy/kubernetes/, pinned image deps.
.PHONY: prometheusrule kubernetes-manifests requirements
prometheusrule kubernetes-manifests:
	.venv/bin/python scripts/kubernetes_manifests.py

requirements:
	scripts/lock-requirements.sh

# Benchmarks against blackbox_exporter on loopback (about 15 minutes); installs nginx and
# blackbox_exporter as root when missing, prints every figure and writes docs/performance.md.
.PHONY: bench
bench:
	scripts/setup.sh --system
	.venv/bin/python -m bench
