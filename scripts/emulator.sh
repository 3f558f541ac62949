#!/usr/bin/env bash
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Run the Graph + Entra ID emulator (tests/emulator) in the foreground with the newest leg's virtual environment.
# Usage: EMULATOR_ARGS="--port 8443 --data /tmp/keysets.json" scripts/emulator.sh
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ -d $ROOT/tests/emulator ]] || die "tests/emulator does not exist yet"
venv=$(ensure_venv newest)
read -r -a emulator_args <<<"${EMULATOR_ARGS:-}"
cd "$ROOT"
PYTHONPATH="$ROOT/tests${PYTHONPATH:+:$PYTHONPATH}" exec "$venv/bin/python" -m emulator "${emulator_args[@]}"
