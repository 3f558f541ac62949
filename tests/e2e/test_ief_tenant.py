# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The whole tenant in one play: the role entra.b2c.ief_tenant (keys, then a directory of policy templates) and the
playbook entra.b2c.ief_tenant, end to end against the emulator, from the templates of tests/policies/basic."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import REPO_ROOT, TENANT_APP, keyset_keys, routes
from policy_helpers import LEVELS, POLICY_SET, UPLOAD_ORDER, puts, render, tenant_connection

WRITE_ROUTES = {"keysets.create", "keys.generate", "policies.put", "policies.delete"}
STARTER_PACK = {"B2C_1A_TokenSigningKeyContainer": "sig", "B2C_1A_TokenEncryptionKeyContainer": "enc"}


def writes(control) -> list:
    return [route for route in routes(control) if route in WRITE_ROUTES]


def role_play(variables) -> list:
    include = {"name": "ief_tenant", "ansible.builtin.include_role": {"name": "entra.b2c.ief_tenant"}, "vars": variables}
    return [include, {"name": "summary", "ansible.builtin.debug": {"var": "ief_tenant_result"}}]


def summary(run) -> dict:
    assert run.rc == 0, run.output[-4000:]
    return run.result("summary")["ief_tenant_result"]


def failed_task(run) -> dict:
    failed = [entry for entry in run.results if entry["status"] == "failed"]
    assert len(failed) == 1, run.output[-3000:]
    return failed[0]


@pytest.mark.compat
def test_the_collection_playbook_stands_up_the_tenant_and_a_second_run_changes_nothing(ansible, control):
    emulator = ansible.emulator
    environment = {"AZURE_TENANT_ID": emulator.tenant_id, "AZURE_CLIENT_ID": TENANT_APP["client_id"],
                   "AZURE_CLIENT_SECRET": TENANT_APP["client_secret"], "REQUESTS_CA_BUNDLE": emulator.ca_path}
    extra = json.dumps({"ief_tenant_policies_dir": str(POLICY_SET), "b2c_tenant": emulator.tenant_domain,
                        "ief_tenant_connection": {"graph_endpoint": emulator.url, "authority_host": emulator.url}})
    argv = [str(ansible.bin_dir / "ansible-playbook"), "entra.b2c.ief_tenant", "-e", extra]

    first = ansible._execute(argv, environment)  # pylint: disable=protected-access
    assert first.rc == 0, first.output[-4000:]
    for keyset_id, use in STARTER_PACK.items():
        assert [key["use"] for key in keyset_keys(control, keyset_id)] == [use]
        assert "%s: changed (keyset_missing)" % keyset_id in first.stdout
    for policy_id in UPLOAD_ORDER:
        assert "%s (level" % policy_id in first.stdout and "uploaded (new)" in first.stdout
    assert sorted(policy["id"] for policy in control.policies()) == sorted(UPLOAD_ORDER)
    # keys before policies, policies level by level
    log = writes(control)
    assert log.index("policies.put") > max(index for index, route in enumerate(log) if route != "policies.put")
    requests = control.requests()
    assert [entry["policy"] for entry in requests if entry["route"] == "policies.put"][:3] == UPLOAD_ORDER[:3]

    control.clear_requests()
    again = ansible._execute(argv, environment)  # pylint: disable=protected-access
    assert again.rc == 0, again.output[-4000:]
    assert "changed=0" in again.stdout and "uploaded (" not in again.stdout
    assert writes(control) == []
    assert routes(control).count("token") == 2  # one per task: the key half and the policy half (no token cache)


def test_check_mode_predicts_the_run_and_the_result_fact(ansible, control):
    variables = {"ief_tenant_policies_dir": str(POLICY_SET), "b2c_tenant": ansible.emulator.tenant_domain}
    predicted = summary(ansible.playbook(role_play(variables), defaults=tenant_connection(ansible), check=True))
    assert writes(control) == []
    assert predicted["policies"]["uploaded"] == UPLOAD_ORDER and predicted["policies"]["levels"] == LEVELS
    assert {entry["keyset"]: entry["reason"] for entry in predicted["keysets"]} == {
        keyset_id: "keyset_missing" for keyset_id in STARTER_PACK}

    applied = summary(ansible.playbook(role_play(variables), defaults=tenant_connection(ansible)))
    assert applied["policies"]["uploaded"] == predicted["policies"]["uploaded"]
    assert applied["policies"]["changed"] is True
    assert [entry["source"] for entry in applied["policies"]["results"]][0] == str(POLICY_SET / "TrustFrameworkBase.xml")
    assert sorted(puts(control)) == sorted(UPLOAD_ORDER)


def test_finished_files_without_templating_and_without_keys(ansible, control, tmp_path):
    control.seed([{"id": keyset_id, "keys": [{"use": use, "kty": "RSA"}]} for keyset_id, use in STARTER_PACK.items()])
    directory = render(tmp_path / "finished", ansible.emulator.tenant_domain)
    (directory / "README.txt").write_text("not a policy", encoding="utf-8")
    variables = {"ief_tenant_policies_dir": str(directory), "ief_tenant_template": False, "ief_tenant_keys": False}
    result = summary(ansible.playbook(role_play(variables), defaults=tenant_connection(ansible)))
    assert result["keysets"] == [] and result["policies"]["uploaded"] == UPLOAD_ORDER
    # one read: the key sets the policies reference are checked before any upload; none is written
    assert [route for route in routes(control) if route.startswith("keysets.") or route.startswith("keys.")] == [
        "keysets.list"]


@pytest.mark.parametrize("variables, words", [
    ({}, ["ief_tenant_policies_dir", "required"]),
    ({"ief_tenant_policies_dir": "x", "ief_tenant_template": "maybe"}, ["ief_tenant_template"]),
    ({"ief_tenant_policies_dir": "x", "ief_tenant_connection": {"graph_endpont": "https://127.0.0.1:1"}},
     ["graph_endpont"]),
    ({"ief_tenant_policies_dir": "x", "ief_tenant_polices_pattern": "*.xml"}, []),  # unknown variables are not checked
])
def test_bad_variables_are_refused_before_any_request(ansible, control, variables, words):
    run = ansible.playbook(role_play(variables), defaults=tenant_connection(ansible))
    assert run.rc != 0
    failed = failed_task(run)
    message = failed["result"]["msg"]
    if words:
        assert "Validating arguments against arg spec" in failed["task"], failed["task"]
    else:  # the misspelt pattern keeps the default, and "x" holds no policy file
        assert "ief_tenant_policies_dir: no file of x matches *.xml" in message, message
    for word in words:
        assert word in message, message
    assert control.requests() == []


def test_a_template_variable_that_is_not_defined_fails_before_any_request(ansible, control):
    run = ansible.playbook(role_play({"ief_tenant_policies_dir": str(POLICY_SET)}), defaults=tenant_connection(ansible))
    failed = failed_task(run)
    assert failed["task"].endswith("Render the policy files with the play's variables"), failed["task"]
    assert "b2c_tenant" in failed["result"]["msg"]
    assert control.requests() == []


def test_connection_options_match_the_modules_shared_options():
    """ief_tenant_connection validates against a copy of the shared options, as policy_keys_connection does."""
    specs = [yaml.safe_load((REPO_ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
             for role in ("policy_keys", "ief_tenant")]
    keys, tenant = (spec["argument_specs"]["main"]["options"][name]["options"]
                    for spec, name in zip(specs, ("policy_keys_connection", "ief_tenant_connection")))
    assert {name: option["type"] for name, option in tenant.items()} == {
        name: option["type"] for name, option in keys.items()}
    assert {name for name, spec in tenant.items() if spec.get("no_log")} == {
        "client_secret", "client_certificate_password", "access_token"}
