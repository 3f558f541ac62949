#!/usr/bin/env bash
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# The main job, twice (changed, then ok): the whole IEF side of a tenant with the entra.b2c.ief_tenant playbook: the
# starter pack's policy keys, the two IEF app registrations, then a set of custom policies in the starter pack's shape
# with its placeholders as downloaded (tests/policies/LocalAccounts), bases first.
# Without a tenant in the environment it runs against the built-in emulator, started and stopped here
# (DEMO_TARGET=emulator forces that). With one (AZURE_TENANT_ID or AZURE_TENANT, AZURE_CLIENT_ID and a credential:
# AZURE_CLIENT_SECRET/AZURE_SECRET, AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE, or AZURE_ACCESS_TOKEN)
# it ensures only the policy keys, which adds nothing a tenant does not need; DEMO_POLICIES_DIR=<a starter pack
# folder as downloaded> runs the whole tenant there too (it registers the IEF apps and replaces the pack's policies).
set -euo pipefail
shopt -s inherit_errexit

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

venv=$(ensure_venv newest)
demo_dir="$BUILD/demo"
rm -rf "$demo_dir"
mkdir -p "$demo_dir/collections/ansible_collections/entra"
ln -s "$ROOT" "$demo_dir/collections/ansible_collections/entra/b2c"

export ANSIBLE_COLLECTIONS_PATH="$demo_dir/collections"
export ANSIBLE_PYTHON_INTERPRETER="$venv/bin/python"
export ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 ANSIBLE_RETRY_FILES_ENABLED=0
export PATH="$venv/bin:$PATH"
keys_playbook="$ROOT/playbooks/policy_keys.yml"  # the role's default list: the IEF starter pack's two key sets
tenant_playbook="$ROOT/playbooks/ief_tenant.yml"  # keys, IEF apps, then a directory of policies

tenant_configured() {
    [[ -n ${AZURE_ACCESS_TOKEN:-} ]] && return 0
    [[ -n ${AZURE_TENANT_ID:-${AZURE_TENANT:-}} && -n ${AZURE_CLIENT_ID:-} ]] || return 1
    [[ -n ${AZURE_CLIENT_SECRET:-${AZURE_SECRET:-}}${AZURE_CLIENT_CERTIFICATE_PATH:-}${AZURE_FEDERATED_TOKEN_FILE:-} ]]
}

run_twice() {
    local playbook=$1 run
    shift
    for run in first second; do
        printf '\n==== %s run: %s ====\n' "$run" \
            "$([[ $run == first ]] && echo 'expect "changed" where something is missing' || echo 'expect "ok": nothing to do')"
        ansible-playbook "$playbook" "$@"
    done
}

if [[ ${DEMO_TARGET:-} != emulator ]] && tenant_configured; then
    log "demo: tenant credentials found in the environment: running against tenant ${AZURE_TENANT_ID:-${AZURE_TENANT:-(access token)}}"
    if [[ -n ${DEMO_POLICIES_DIR:-} ]]; then
        log "demo: the whole tenant: policy keys, IEF apps and the policies of $DEMO_POLICIES_DIR"
        run_twice "$tenant_playbook" -e "ief_tenant_policies_dir=$(realpath "$DEMO_POLICIES_DIR")"
    else
        log "demo: the policy keys only (DEMO_POLICIES_DIR=<a starter pack folder> adds the IEF apps and the policies)"
        run_twice "$keys_playbook"
    fi
    exit 0
fi

log "demo: no tenant configured (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET): using the built-in emulator"
PYTHONPATH="$ROOT/tests" "$venv/bin/python" -m emulator --state-dir "$demo_dir/emulator" \
    >"$demo_dir/emulator.json" 2>"$demo_dir/emulator.log" &
emulator_pid=$!
trap 'kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
    [[ -s $demo_dir/emulator.json ]] && break
    kill -0 "$emulator_pid" 2>/dev/null || { cat "$demo_dir/emulator.log" >&2; die "the emulator did not start"; }
    sleep 0.1
done
[[ -s $demo_dir/emulator.json ]] || die "the emulator printed nothing within 10 s (log: $demo_dir/emulator.log)"

field() { "$venv/bin/python" -c 'import json, sys; print(json.loads(open(sys.argv[1]).readline())[sys.argv[2]])' \
    "$demo_dir/emulator.json" "$1"; }
url=$(field url)
AZURE_TENANT_ID=$(field tenant_domain)  # the domain name: it fills the starter pack's yourtenant.onmicrosoft.com
AZURE_CLIENT_ID=$(field client_id)
AZURE_CLIENT_SECRET=$(field client_secret)
export AZURE_TENANT_ID AZURE_CLIENT_ID AZURE_CLIENT_SECRET
log "demo: emulator listening at $url (tenant $AZURE_TENANT_ID)"

variables=$("$venv/bin/python" -c 'import json, sys; print(json.dumps({"ief_tenant_connection": {
    "graph_endpoint": sys.argv[1], "authority_host": sys.argv[1], "ca_path": sys.argv[2]},
    "ief_tenant_policies_dir": sys.argv[3]}))' "$url" "$(field ca_path)" "$ROOT/tests/policies/LocalAccounts")
run_twice "$tenant_playbook" -e "$variables"
