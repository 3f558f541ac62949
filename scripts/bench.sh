#!/usr/bin/env bash
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# The performance benchmark (tests/perf/bench.py) in the newest environment (nox session dev): the collection against a
# hand-written ansible.builtin.uri playbook on the emulator; writes docs/performance.md and prints its tables. Workloads 8
# and 9 (the per-task overhead, the whole tenant with nothing to change, against the floor) run on the oldest
# ansible-core too, in the environment of nox session env-2.16.
# Usage: scripts/bench.sh [bench.py options]     e.g. scripts/bench.sh --quick --out /tmp/performance.md
# Environment: BENCH_ARGS adds options (make bench BENCH_ARGS="--latency-ms 50"); PYTHON_3_12 and PYTHON_3_11
# pick the interpreters.
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

venv=$(ensure_venv newest)
# The workloads against the floor (8 and 9) run on the oldest ansible-core too, in its own environment.
oldest=$(ensure_core_venv 2.16)
read -r -a extra_args <<<"${BENCH_ARGS:-}"
args=("${extra_args[@]}" "$@")
out=$(out_option "$ROOT/docs/performance.md" "${args[@]}")

cd "$ROOT"
log "bench: $(venv_versions "$venv"), workloads 8 and 9 also on $(venv_versions "$oldest"); about 15 minutes on a quiet 2-core machine"
"$venv/bin/python" "$ROOT/tests/perf/bench.py" --core-env "$oldest" "${args[@]}"
# The summary, the targets and the workload tables (the method, the time split and the profile are in the file).
sed -n '/^## In short/,/^## Where the time goes/{/^## Where the time goes/d;p}' "$out"
log "bench: wrote ${out#"$ROOT"/}"
