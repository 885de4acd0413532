# The two commands a newcomer needs: `make demo` and `make test` (both as root).
# Each target runs the idempotent setup first, then uses the project's Node 24.
SHELL := /bin/bash
ENV := . scripts/env.sh &&

.PHONY: setup demo test lint image
setup:
	@bash scripts/setup.sh

# make demo ARGS="--scenario io --keep": setup, then the demo (demo/main.ts --help).
demo:
	@bash scripts/demo.sh $(ARGS)

# The operator's and the agent's OCI image (oci-archive and docker-archive in the cache).
image: setup
	@bash scripts/build-image.sh

test: setup
	@$(ENV) npm test

lint: setup
	@$(ENV) npm run lint
