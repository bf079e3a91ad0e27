# The README's two commands, and the targets that grow around them.
.PHONY: run test soak

run:
	scripts/run.sh

test:
	scripts/test.sh

# Load and soak benchmarks (about 2 minutes); numbers go to docs/reliability.md.
soak:
	.venv/bin/python bench/soak.py
