# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Developer tasks for the entra.b2c collection. `make help` lists them.
# The tests are nox sessions (noxfile.py); make installs nox itself into .venv/nox from python3 and runs two sessions
# at a time. Example: make test NOX_ARGS="-s units-2.21 e2e-2.21"

.DEFAULT_GOAL := help
.PHONY: help test sanity units e2e lint build sessions emulator demo bench reliability clean distclean

NOX_VENV := .venv/nox
NOX := $(NOX_VENV)/bin/nox
# Sessions run at once: two cores, and most sessions spend their time in one process at a time.
JOBS ?= 2
NOX_ARGS ?=
# ansible-test's pip bootstrap script comes from a host these machines cannot reach: the sanity sessions use the
# offline stand-in (noxfile.py). ENTRA_B2C_OFFLINE_PIP_BOOTSTRAP=0 make sanity lets ansible-test download it.
export ENTRA_B2C_OFFLINE_PIP_BOOTSTRAP ?= 1

# Run the selected sessions, then one line per session with its test counts and the aggregate line.
run_nox = status=0; $(NOX) -j $(JOBS) --report build/nox-report.json $(1) $(NOX_ARGS) || status=$$?; \
	$(NOX_VENV)/bin/python scripts/summarize.py build/nox-report.json build/junit; exit $$status

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  Variables: NOX_ARGS=\"-s units-2.21 e2e-2.21\" (sessions: make sessions), JOBS=2,"
	@echo "             PYTHON_3_9=/path, PYTHON_3_11=/path, PYTHON_3_12=/path, EMULATOR_ARGS=\"...\", BENCH_ARGS, RELIABILITY_ARGS"

# nox, antsibull-nox and uv in their own environment, remade when tests/nox-requirements.txt changes.
$(NOX): tests/nox-requirements.txt
	rm -rf $(NOX_VENV)
	python3 -m venv $(NOX_VENV)
	$(NOX_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/nox-requirements.txt
	touch $@

test: $(NOX) ## Everything (~20-25 min): units and sanity on ansible-core 2.16-2.21 (and the module side on Python 3.9), fidelity + e2e on 2.16 and 2.21, the compat e2e set on 2.17-2.20, build + galaxy-importer, docs, licences, lint
	@mkdir -p build; $(call run_nox,)

sanity: $(NOX) ## ansible-test sanity on every ansible-core 2.16-2.21
	@mkdir -p build; $(call run_nox,-t sanity)

units: $(NOX) ## ansible-test units on every ansible-core 2.16-2.21
	@mkdir -p build; $(call run_nox,-t units)

e2e: $(NOX) ## pytest tests/fidelity and tests/e2e against the built tarball, installed per ansible-core minor
	@mkdir -p build; $(call run_nox,-t e2e)

# ansible-lint resolves the collection's own modules (module_defaults, the role) only when it finds the collection at
# .../ansible_collections/entra/b2c on ANSIBLE_COLLECTIONS_PATH, which a clone is not: the lint session runs it from
# such a copy. LINT_PATHS="roles playbooks" lints only those paths (and skips the other checks).
LINT_PATHS ?=
lint: $(NOX) ## antsibull-changelog, ansible-lint (production), licence headers, antsibull-nox docs-check, license-check, extra-checks; LINT_PATHS="roles playbooks": ansible-lint on those only
	@mkdir -p build; $(call run_nox,$(if $(strip $(LINT_PATHS)),-s lint -- $(LINT_PATHS),-s lint headers docs-check license-check extra-checks))

build: $(NOX) ## ansible-galaxy collection build into build/dist, then galaxy-importer on the tarball
	@mkdir -p build; $(call run_nox,-s build)

sessions: $(NOX) ## List the nox sessions
	@$(NOX) -l

emulator: ## Run the Graph emulator in the foreground; EMULATOR_ARGS passes options
	@bash scripts/emulator.sh

demo: ## Run the demo (scripts/demo.sh): the whole tenant against the emulator, twice
	@bash scripts/demo.sh

bench: ## Performance benchmark against a hand-written uri playbook (~15 min): writes docs/performance.md; BENCH_ARGS passes options
	bash scripts/bench.sh

reliability: ## Fault matrix, 500-run soak, bad-input table, leak scan (~15 min): writes docs/reliability.md; RELIABILITY_ARGS passes options
	bash scripts/reliability.sh

clean: ## Remove build/ (tarball, test results), tests/output and built artifacts; keep the environments
	rm -rf build tests/output entra-b2c-*.tar.gz

distclean: clean ## Also remove the environments (.venv/nox, .nox)
	rm -rf .venv .nox

.PHONY: live-test
live-test: ## End-to-end scenarios against the B2C tenant in AZURE_TENANT_ID/AZURE_CLIENT_ID/credential; skips without one (docs/testing.md)
	@bash scripts/live-test.sh
