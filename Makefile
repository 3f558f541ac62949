# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Developer tasks for the entra.b2c collection. `make help` lists them.
# Test targets run on the legs in LEGS (default "oldest newest"); PYTHON_OLDEST / PYTHON_NEWEST pick interpreters.
# Example: make units LEGS=newest

.DEFAULT_GOAL := help
.PHONY: help test sanity units e2e lint emulator demo clean distclean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  Variables: LEGS=\"oldest newest\", PYTHON_OLDEST=/path, PYTHON_NEWEST=/path, EMULATOR_ARGS=\"...\""

test: ## Whole suite on each leg: sanity, units, fidelity + e2e (pytest); changelog, docs and ansible-lint (newest)
	@bash scripts/test.sh all

sanity: ## ansible-test sanity on each leg
	@bash scripts/test.sh sanity

units: ## ansible-test units on each leg
	@bash scripts/test.sh units

e2e: ## pytest tests/fidelity and tests/e2e on each leg, against the copied collection
	@bash scripts/test.sh e2e

lint: ## antsibull-docs lint-collection-docs and ansible-lint (production profile), newest leg
	@LEGS=newest bash scripts/test.sh lint

emulator: ## Run the Graph emulator in the foreground (newest leg's environment); EMULATOR_ARGS passes options
	@bash scripts/emulator.sh

demo: ## Run the demo (scripts/demo.sh)
	@bash scripts/demo.sh

clean: ## Remove build/ (copied trees, test results), tests/output and built artifacts; keep the environments
	rm -rf build tests/output entra-b2c-*.tar.gz

distclean: clean ## Also remove the leg environments in .venv/
	rm -rf .venv

.PHONY: bench
bench: ## Performance benchmark against a hand-written uri playbook (~15 min): writes docs/performance.md; BENCH_ARGS passes options
	bash scripts/bench.sh

.PHONY: reliability
reliability: ## Fault matrix, 500-run soak, bad-input table, leak scan (~15 min): writes docs/reliability.md; RELIABILITY_ARGS passes options
	bash scripts/reliability.sh
