# shellcheck shell=bash
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Shared helpers of scripts/demo.sh, emulator.sh, bench.sh and reliability.sh. Sourced, not run.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$ROOT/build"

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Print the path of the newest environment (ansible-core 2.21 on Python 3.12 with the collection's and the tests'
# requirements): nox's session "dev" (noxfile.py) finds the interpreter, makes the environment and keeps it up to date.
# The argument is the old leg name, kept for the callers; there is one such environment.
ensure_venv() {
    local log_file="$BUILD/logs/dev-environment.log"
    mkdir -p "$BUILD/logs"
    if ! { make --no-print-directory -s -C "$ROOT" .venv/nox/bin/nox &&
        "$ROOT/.venv/nox/bin/nox" -f "$ROOT/noxfile.py" --envdir "$ROOT/.nox" -s dev --install-only; } >"$log_file" 2>&1; then
        tail -n 30 "$log_file" >&2
        die "could not prepare the environment (full log: ${log_file#"$ROOT"/})"
    fi
    printf '%s\n' "$ROOT/.nox/dev"
}

# Print the path of the environment of another ansible-core minor (default: the oldest of noxfile.py's MATRIX, 2.16,
# on its Python with the collection's and the tests' requirements): nox's session "env-<minor>" makes it and keeps it up
# to date. scripts/bench.sh runs the per-task overhead workload in it too.
ensure_core_venv() {
    local core=${1:-2.16}
    local log_file="$BUILD/logs/env-$core-environment.log"
    mkdir -p "$BUILD/logs"
    if ! { make --no-print-directory -s -C "$ROOT" .venv/nox/bin/nox &&
        "$ROOT/.venv/nox/bin/nox" -f "$ROOT/noxfile.py" --envdir "$ROOT/.nox" -s "env-$core" --install-only; } >"$log_file" 2>&1; then
        tail -n 30 "$log_file" >&2
        die "could not prepare the ansible-core $core environment (full log: ${log_file#"$ROOT"/})"
    fi
    printf '%s\n' "$ROOT/.nox/env-${core//./-}"
}

# The report path a command writes: the value of --out among the arguments after the first, else the first.
out_option() {
    local out=$1 i
    shift
    local args=("$@")
    for ((i = 0; i < ${#args[@]}; i++)); do
        case ${args[i]} in
            --out) out=${args[i + 1]:-$out} ;;
            --out=*) out=${args[i]#--out=} ;;
        esac
    done
    printf '%s\n' "$out"
}

# "Python <version>, ansible-core <version>" of a venv, for the first line a long command logs.
venv_versions() {
    "$1/bin/python" -c 'import platform, ansible.release as r; print("Python %s, ansible-core %s" % (platform.python_version(), r.__version__))'
}
