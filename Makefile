# The README's two commands, and the targets that grow around them.
.PHONY: run test

run:
	scripts/run.sh

test:
	scripts/test.sh

# Deployment (docs/deploy.md): copies kustomize needs inside deploy/kubernetes/, pinned image deps.
.PHONY: prometheusrule kubernetes-manifests requirements
prometheusrule kubernetes-manifests:
	.venv/bin/python scripts/kubernetes_manifests.py

requirements:
	scripts/lock-requirements.sh
