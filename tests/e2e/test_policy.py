# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""b2c_policy end to end: one policy's life (amazon.aws's integration sequence), refusals before any request, the
service's refusals, the permission it needs."""

from __future__ import annotations

import json

import pytest
from conftest import TENANT_APP
from policy_helpers import (
    BASE,
    EXTENSIONS,
    POLICY_SET,
    SIGN_IN,
    graph_routes,
    puts,
    render,
    seed_keys,
    tenant_connection,
)


def policy_task(name="policy", **args) -> dict:
    return {"name": name, "entra.b2c.b2c_policy": args, "ignore_errors": True}


@pytest.fixture()
def policy_dir(ansible, tmp_path):
    return render(tmp_path / "policies", ansible.emulator.tenant_domain)


def test_create_check_create_again_update_delete(ansible, control, policy_dir):
    seed_keys(control)
    base = policy_dir / "TrustFrameworkBase.xml"
    present = policy_task(path=str(base))

    def play(task, check=False, diff=False):
        run = ansible.playbook([task], defaults=tenant_connection(ansible), check=check, diff=diff)
        assert run.task("policy")["status"] == "ok", run.output[-3000:]
        return run

    # create, in check mode: changed, nothing written
    check = play(present, check=True, diff=True)
    result = check.result("policy")
    assert (result["changed"], result["reason"], result["policy"]) == (True, "new", BASE)
    assert result["diff"]["before"] == "" and "<Key Id=\"issuer_secret\"" in result["diff"]["after"]
    assert control.policies() == []

    # create
    result = play(present).result("policy")
    assert (result["changed"], result["reason"], result["base_policy"]) == (True, "new", None)
    assert result["keysets"] == ["B2C_1A_TokenSigningKeyContainer", "B2C_1A_TokenEncryptionKeyContainer"]
    assert puts(control) == [BASE]

    # the same again, in check mode, then for real: one read each, nothing written
    control.clear_requests()
    assert play(present, check=True).result("policy")["changed"] is False
    result = play(present).result("policy")
    assert (result["changed"], result["reason"]) == (False, "unchanged")
    assert graph_routes(control) == ["policies.get", "policies.get"]

    # update: one text changed
    base.write_text(base.read_text(encoding="utf-8").replace("User object id", "Object id of the user"), encoding="utf-8")
    control.clear_requests()
    run = play(present, diff=True)
    result = run.result("policy")
    assert (result["changed"], result["reason"]) == (True, "changed")
    assert "-        <DisplayName>User object id</DisplayName>" in run.stdout
    assert "+        <DisplayName>Object id of the user</DisplayName>" in run.stdout
    assert graph_routes(control) == ["policies.get", "keysets.list", "policies.put"]  # key sets checked first
    assert "Object id of the user" in control.policies(content=True)[0]["content"]

    # delete, in check mode, then for real, then again
    absent = policy_task(policy="basic_base", state="absent")
    result = play(absent, check=True).result("policy")
    assert (result["changed"], result["reason"], result["policy"]) == (True, "deleted", BASE)
    assert [policy["id"] for policy in control.policies()] == [BASE]
    result = play(absent, diff=True).result("policy")
    assert (result["changed"], result["reason"]) == (True, "deleted") and result["diff"]["after"] == ""
    assert control.policies() == []
    result = play(absent).result("policy")
    assert (result["changed"], result["reason"], result["policy"]) == (False, "absent", "B2C_1A_basic_base")  # as given


def test_content_from_the_template_lookup(ansible, control):
    seed_keys(control)
    template = str(POLICY_SET / "TrustFrameworkBase.xml")
    task = policy_task(policy="Basic_Base", content="{{ lookup('ansible.builtin.template', '%s') }}" % template)
    play_vars = {"vars": {"b2c_tenant": ansible.emulator.tenant_domain}}
    first = ansible.playbook([task], defaults=tenant_connection(ansible), play_extra=play_vars).result("policy")
    again = ansible.playbook([task], defaults=tenant_connection(ansible), play_extra=play_vars).result("policy")
    assert (first["reason"], again["reason"]) == ("new", "unchanged")


def test_ad_hoc_with_check_and_diff(ansible, control, policy_dir):
    seed_keys(control)
    env = {"AZURE_CLIENT_ID": TENANT_APP["client_id"], "AZURE_CLIENT_SECRET": TENANT_APP["client_secret"],
           "AZURE_TENANT_ID": ansible.emulator.tenant_id}
    args = json.dumps({"path": str(policy_dir / "TrustFrameworkBase.xml"), "graph_endpoint": ansible.emulator.url,
                       "authority_host": ansible.emulator.url, "ca_path": ansible.emulator.ca_path})
    run = ansible.adhoc(args, module="entra.b2c.b2c_policy", check=True, diff=True, extra_env=env)
    assert run.rc == 0, run.output[-3000:]
    assert "+++ after: %s (%s)" % (BASE, policy_dir / "TrustFrameworkBase.xml") in run.stdout
    assert '"reason": "new"' in run.stdout and control.policies() == []


@pytest.mark.parametrize("change, words", [
    (("</TrustFrameworkPolicy>", ""), ["not well-formed XML", "line"]),
    (('PolicyId="B2C_1A_Basic_Base"', 'PolicyId="Basic_Base"'), ["lacks the B2C_1A_ prefix"]),
    (('TenantId="{tenant}"', 'TenantId="{{Settings:Tenant}}"'), [":8: {Settings:Tenant}: set settings.Tenant"]),
    (('TenantId="{tenant}"', 'TenantId="fabrikam.onmicrosoft.com"'), ["is not the tenant of this task"]),
    (('xmlns="http://schemas.microsoft.com/online/cpim/schemas/2013/06"', ""), ["the root element is TrustFrameworkPolicy"]),
])
def test_what_b2c_would_refuse_is_refused_before_any_request(ansible, control, policy_dir, change, words):
    tenant = ansible.emulator.tenant_domain
    path = policy_dir / "TrustFrameworkBase.xml"
    old, new = (part.format(tenant=tenant) for part in change)
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    # tenant_id as the domain name, so that TenantId is compared locally
    run = ansible.playbook([policy_task(path=str(path))], defaults=tenant_connection(ansible, tenant_id=tenant))
    entry = run.task("policy")
    assert entry["status"] == "failed"
    assert str(path) in entry["result"]["msg"]
    for word in words:
        assert word in entry["result"]["msg"], entry["result"]["msg"]
    assert control.requests() == []


def test_bad_options_are_refused_before_any_request(ansible, control, policy_dir):
    path = str(policy_dir / "TrustFrameworkBase.xml")
    cases = {
        "other-id": dict(policy="Basic_Other", path=path),
        "bad-id": dict(policy="../x", state="absent"),
        "absent-disagreeing": dict(policy="Basic_Other", path=path, state="absent"),
        "absent-nothing": dict(state="absent"),
        "missing-file": dict(path=str(policy_dir / "nope.xml")),
        "both": dict(path=path, content="<x/>"),
        "nothing": dict(),
    }
    run = ansible.playbook([policy_task(name, **args) for name, args in cases.items()], defaults=tenant_connection(ansible))
    messages = {name: run.task(name)["result"]["msg"] for name in cases}
    assert "is not the policy this task names, 'B2C_1A_Basic_Other'" in messages["other-id"]
    assert "policy: '../x' is not a policy id" in messages["bad-id"]
    assert "PolicyId 'B2C_1A_Basic_Base' is not the policy this task names, 'B2C_1A_Basic_Other'" in \
        messages["absent-disagreeing"]
    assert "policy, content, path" in messages["absent-nothing"]
    assert "cannot read the policy file" in messages["missing-file"]
    assert "mutually exclusive" in messages["both"]
    assert "content" in messages["nothing"] and "path" in messages["nothing"]
    assert control.requests() == []


def test_a_relying_party_without_its_base_is_refused_by_the_service(ansible, control, policy_dir):
    seed_keys(control)
    run = ansible.playbook([policy_task(path=str(policy_dir / "SignIn.xml"))], defaults=tenant_connection(ansible))
    entry = run.task("policy")
    assert entry["status"] == "failed"
    message = entry["result"]["msg"]
    assert message.startswith("%s (%s) was not uploaded" % (SIGN_IN, policy_dir / "SignIn.xml")), message
    assert "Policy with 'policyId': %s cannot be found" % EXTENSIONS.upper() in message and "AADB2C" in message
    assert "upload the base first" in message
    assert (entry["result"]["changed"], entry["result"]["reason"]) == (False, "new")
    assert control.policies() == []


def test_the_key_set_permission_alone_is_not_enough(ansible, control, policy_dir):
    run = ansible.playbook([policy_task(path=str(policy_dir / "TrustFrameworkBase.xml"))])  # the key set app
    message = run.task("policy")["result"]["msg"]
    assert "HTTP 403" in message and "Policy.ReadWrite.TrustFramework" in message
    assert graph_routes(control) == ["policies.get"]


def test_absent_deletes_what_the_file_defines(ansible, control, policy_dir):
    """The upload task with its state flipped deletes what it uploaded (as kubernetes.core.k8s deletes what its src
    defines); content works as path does, policy alone still works, and a file of another tenant deletes nothing."""
    seed_keys(control)
    base, extensions = policy_dir / "TrustFrameworkBase.xml", policy_dir / "TrustFrameworkExtensions.xml"
    control.seed_policies([{"content": base.read_text(encoding="utf-8")},
                           {"content": extensions.read_text(encoding="utf-8")}])
    other_tenant = base.read_text(encoding="utf-8").replace(ansible.emulator.tenant_domain, "fabrikam.onmicrosoft.com")
    run = ansible.playbook([
        dict(policy_task("predict", path=str(base), state="absent"), check_mode=True),
        policy_task("other-tenant", content=other_tenant, state="absent"),
        policy_task("delete", path=str(base), state="absent"),
        policy_task("again", path=str(base), state="absent"),
        policy_task("by-content", content=extensions.read_text(encoding="utf-8"), policy="basic_extensions",
                    state="absent"),
        policy_task("by-id", policy=EXTENSIONS, state="absent"),
    ], defaults=tenant_connection(ansible, tenant_id=ansible.emulator.tenant_domain))
    outcome = {name: run.result(name) for name in ("predict", "delete", "again", "by-content", "by-id")}
    assert {name: (result["changed"], result["reason"], result["policy"]) for name, result in outcome.items()} == {
        "predict": (True, "deleted", BASE), "delete": (True, "deleted", BASE), "again": (False, "absent", BASE),
        "by-content": (True, "deleted", EXTENSIONS), "by-id": (False, "absent", EXTENSIONS)}
    refused = run.task("other-tenant")
    assert refused["status"] == "failed" and "TenantId 'fabrikam.onmicrosoft.com' is not the tenant of this task" in \
        refused["result"]["msg"], refused
    assert control.policies() == []
    deleted = [entry["policy"] for entry in control.requests() if entry["route"] == "policies.delete"]
    assert deleted == [BASE, EXTENSIONS]  # check mode and the other tenant's file deleted nothing
