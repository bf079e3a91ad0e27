# The README's two commands, and the targets that grow around them.
.PHONY: run test

run:
	scripts/run.sh

test:
	scripts/test.sh
