#!/usr/bin/env bash
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# The reliability checks (tests/reliability) in the newest environment (nox session dev): the fault matrix, the 500-run soak and
# the bad-input table against the emulator, every run at -vvv and scanned for secrets; writes docs/reliability.md.
# Usage: scripts/reliability.sh [python -m reliability options]     e.g. scripts/reliability.sh --runs 100 --only soak
# Environment: RELIABILITY_ARGS adds options (make reliability RELIABILITY_ARGS="--seed 7"); PYTHON_3_12 picks the
# interpreter. Exits non-zero when a promise is broken (the page's Findings say which).
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

venv=$(ensure_venv newest)
read -r -a extra_args <<<"${RELIABILITY_ARGS:-}"
args=("${extra_args[@]}" "$@")
out=$(out_option "$ROOT/docs/reliability.md" "${args[@]}")

cd "$ROOT"
log "reliability: $(venv_versions "$venv"); about 15 minutes on a quiet 2-core machine"
status=0
PYTHONPATH="$ROOT/tests${PYTHONPATH:+:$PYTHONPATH}" PATH="$venv/bin:$PATH" \
    "$venv/bin/python" -m reliability "${args[@]}" || status=$?
# The summary and the findings (the matrix, soak, bad-input and secrets sections follow them in the file).
sed -n '/^## Summary/,/^## Fault matrix/{/^## Fault matrix/d;p}' "$out" 2>/dev/null || true
exit "$status"
