# The two commands a newcomer needs: `make demo` and `make test` (both as root).
# Each target runs the idempotent setup first, then uses the project's Node 24.
SHELL := /bin/bash
ENV := . scripts/env.sh &&

.PHONY: setup demo test lint
setup:
	@bash scripts/setup.sh

demo: setup
	@echo "The local noisy-neighbour demo is not built yet: setup is complete; run 'make test'."

test: setup
	@$(ENV) npm test

lint: setup
	@$(ENV) npm run lint
