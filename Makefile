# The README's two commands, and the targets that grow around them.
.PHONY: run test

run:
	scripts/run.sh

test:
	scripts/test.sh

# Benchmarks against blackbox_exporter on loopback (about 13 minutes); installs nginx and
# blackbox_exporter as root when missing, prints every figure and writes docs/performance.md.
.PHONY: bench
bench:
	scripts/setup.sh --system
	.venv/bin/python -m bench
