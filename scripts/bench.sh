#!/usr/bin/env bash
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# The performance benchmark (tests/perf/bench.py) in the newest environment (nox session dev): the collection against a
# hand-written ansible.builtin.uri playbook on the emulator; writes docs/performance.md and prints its tables.
# Usage: scripts/bench.sh [bench.py options]     e.g. scripts/bench.sh --quick --out /tmp/performance.md
# Environment: BENCH_ARGS adds options (make bench BENCH_ARGS="--latency-ms 50"); PYTHON_3_12 picks the interpreter.
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

venv=$(ensure_venv newest)
read -r -a extra_args <<<"${BENCH_ARGS:-}"
args=("${extra_args[@]}" "$@")
out=$(out_option "$ROOT/docs/performance.md" "${args[@]}")

cd "$ROOT"
log "bench: $(venv_versions "$venv"); about 15 minutes on a quiet 2-core machine"
"$venv/bin/python" "$ROOT/tests/perf/bench.py" "${args[@]}"
# The summary, the targets and the workload tables (the method, the time split and the profile are in the file).
sed -n '/^## In short/,/^## Where the time goes/{/^## Where the time goes/d;p}' "$out"
log "bench: wrote ${out#"$ROOT"/}"
