#!/usr/bin/env bash
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# make live-test: the end-to-end scenarios of tests/live against the B2C tenant of the environment.
# Needs AZURE_TENANT_ID (or AZURE_TENANT), AZURE_CLIENT_ID and one credential (AZURE_CLIENT_SECRET,
# AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE or AZURE_ACCESS_TOKEN): the variables the modules read.
# Without them it says why and exits 0. Extra arguments go to pytest (e.g. -k secret).
# Environment: LIVE_PYTHON=/path/to/python with ansible-core, pytest, pyyaml, cryptography, requests and msal;
# otherwise .venv/newest when `make test` built it, else a .venv/live made once from python3.
# docs/testing.md: the app registration, what a run leaves behind, ENTRA_B2C_LIVE_* options.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LIVE_VENV="$ROOT/.venv/live"
PACKAGES=(ansible-core pytest pyyaml cryptography -r "$ROOT/requirements.txt")

log() { printf 'live-test: %s\n' "$*" >&2; }

# The same rule as tests/live/conftest.py's missing_credentials, checked here so a run without a tenant costs nothing.
# In the scheduled job of .github/workflows/ci.yml the variables come from repository secrets of the same names (a
# certificate from the secret AZURE_CLIENT_CERTIFICATE), so the line names those; an annotation shows it on the run.
credential="a credential (AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE or AZURE_ACCESS_TOKEN)"
where="(see docs/testing.md)"
prefix=""
if [[ ${GITHUB_ACTIONS:-} == true ]]; then
    credential="a credential (AZURE_CLIENT_SECRET, or AZURE_CLIENT_CERTIFICATE: a PEM with the private key)"
    where="as repository secrets (GitHub: Settings > Secrets and variables > Actions; see docs/testing.md)"
    prefix="::notice title=live-test skipped::"
fi
missing=()
[[ -n ${AZURE_TENANT_ID:-}${AZURE_TENANT:-} ]] || missing+=("AZURE_TENANT_ID")
[[ -n ${AZURE_CLIENT_ID:-}${AZURE_ACCESS_TOKEN:-} ]] || missing+=("AZURE_CLIENT_ID")
[[ -n ${AZURE_CLIENT_SECRET:-}${AZURE_SECRET:-}${AZURE_CLIENT_CERTIFICATE_PATH:-}${AZURE_X509_CERTIFICATE_PATH:-}${AZURE_FEDERATED_TOKEN_FILE:-}${AZURE_ACCESS_TOKEN:-} ]] ||
    missing+=("$credential")
if ((${#missing[@]})); then
    joined=$(printf ', %s' "${missing[@]}")
    printf '%slive-test: SKIPPED, no B2C tenant to test against: set %s %s\n' "$prefix" "${joined:2}" "$where"
    exit 0
fi

has_tools() {
    "$1" -c 'import ansible, pytest, yaml, cryptography, requests, msal' 2>/dev/null && [[ -x "$(dirname "$1")/ansible-playbook" ]]
}

if [[ -n ${LIVE_PYTHON:-} ]]; then
    has_tools "$LIVE_PYTHON" || { log "LIVE_PYTHON=$LIVE_PYTHON lacks ansible-core, pytest, pyyaml, cryptography, requests or msal"; exit 1; }
    python=$LIVE_PYTHON
elif has_tools "$ROOT/.venv/newest/bin/python"; then
    python="$ROOT/.venv/newest/bin/python"
else
    if ! has_tools "$LIVE_VENV/bin/python"; then
        log "making $LIVE_VENV (once): ${PACKAGES[*]}"
        rm -rf "$LIVE_VENV"
        python3 -m venv "$LIVE_VENV"
        "$LIVE_VENV/bin/python" -m pip install --disable-pip-version-check --quiet "${PACKAGES[@]}"
    fi
    python="$LIVE_VENV/bin/python"
fi

log "running tests/live against tenant ${AZURE_TENANT_ID:-${AZURE_TENANT:-}} with $("$python" --version 2>&1)"
cd "$ROOT"
exec "$python" -m pytest -p no:cacheprovider -rA tests/live "$@"
