#!/usr/bin/env bash
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Run the Graph + Entra ID emulator (tests/emulator) in the foreground with any Python >= 3.9.
# The server needs only `cryptography`: the interpreter's own when it has it, else a small cached .venv/emulator.
# Usage: scripts/emulator.sh [OPTIONS]   or   EMULATOR_ARGS="--port 8443 --data /tmp/keysets.json" scripts/emulator.sh
# Environment: EMULATOR_PYTHON=/path/to/python picks the interpreter (default: python3, then python3.13 ... python3.9).
# Self-contained on purpose: `make emulator` is for users too, not only for the test legs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv/emulator"
REQUIREMENT='cryptography>=3.4'

log() { printf 'emulator.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

supported() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null; }

find_python() {
    local candidate
    if [[ -n ${EMULATOR_PYTHON:-} ]]; then
        supported "$EMULATOR_PYTHON" || die "EMULATOR_PYTHON=$EMULATOR_PYTHON is not a Python >= 3.9"
        printf '%s\n' "$EMULATOR_PYTHON"
        return
    fi
    for candidate in python3 python3.13 python3.12 python3.11 python3.10 python3.9; do
        if command -v "$candidate" >/dev/null 2>&1 && supported "$candidate"; then
            command -v "$candidate"
            return
        fi
    done
    die "no Python >= 3.9 found on PATH; install one or set EMULATOR_PYTHON=/path/to/python"
}

# An interpreter that can import cryptography: the given one, or the cached venv (made once, reused while the
# interpreter and the requirement are unchanged).
python_with_cryptography() {
    local python=$1 stamp
    if "$python" -c 'import cryptography' 2>/dev/null; then
        printf '%s\n' "$python"
        return
    fi
    stamp="$("$python" -c 'import sys; print(sys.executable, sys.version)') $REQUIREMENT"
    if [[ -f $VENV/.stamp && $(<"$VENV/.stamp") == "$stamp" ]] && "$VENV/bin/python" -c 'import cryptography' 2>/dev/null; then
        printf '%s\n' "$VENV/bin/python"
        return
    fi
    log "installing $REQUIREMENT into ${VENV#"$ROOT"/} (once)"
    rm -rf "$VENV"
    "$python" -m venv "$VENV" >&2 || die "cannot create $VENV with $python (on Debian/Ubuntu: apt-get install python3-venv)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet "$REQUIREMENT" >&2 ||
        die "cannot install $REQUIREMENT into $VENV"
    printf '%s\n' "$stamp" >"$VENV/.stamp"
    printf '%s\n' "$VENV/bin/python"
}

[[ -d $ROOT/tests/emulator ]] || die "$ROOT/tests/emulator does not exist"
python=$(python_with_cryptography "$(find_python)")
read -r -a emulator_args <<<"${EMULATOR_ARGS:-}"
PYTHONPATH="$ROOT/tests${PYTHONPATH:+:$PYTHONPATH}" exec "$python" -m emulator "${emulator_args[@]}" "$@"
