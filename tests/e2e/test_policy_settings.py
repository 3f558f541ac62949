# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Settings and key sets end to end: a set in the starter packs' shape deployed with its placeholders untouched (from
settings, and as a VS Code extension repository from appsettings.json and an environment), leftovers refused before
any write in check mode too, and a key set created moments ago waited for (tests/policies/starter)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from conftest import TESTS_DIR
from emulator.policies import POLICY_READ_WRITE
from policy_helpers import BASE, KEYSETS, policies_task, render, seed_keys, tenant_connection

STARTER_SET = TESTS_DIR / "policies" / "starter"
SOCIAL_SET = TESTS_DIR / "policies" / "SocialAndLocalAccounts"
STARTER_ORDER = ["B2C_1A_Starter_Base", "B2C_1A_Starter_Extensions", "B2C_1A_Starter_SignUpOrSignin"]
IEF_APP = "0c4b2f9e-6a1d-4e8b-9f3a-2d5c7e9a1b3c"
PROXY_APP = "5e7a9c1b-3d5f-4a7b-8c9d-0e1f2a3b4c5d"
APP_IDS = {"IdentityExperienceFrameworkAppId": IEF_APP, "ProxyIdentityExperienceFrameworkAppId": PROXY_APP}


def stored(control) -> dict:
    return {policy["id"]: policy["content"] for policy in control.policies(content=True)}


def writes(control) -> list:
    return [entry["route"] for entry in control.requests() if entry["method"] != "GET" and entry["route"] != "token"]


def test_a_starter_pack_set_deploys_as_downloaded_and_leftovers_are_refused_in_check_mode(ansible, control, tmp_path):
    directory = Path(shutil.copytree(STARTER_SET, tmp_path / "starter", ignore=shutil.ignore_patterns("*.license")))
    tenant = ansible.emulator.tenant_domain
    connection = tenant_connection(ansible)  # tenant_id is the tenant's GUID: yourtenant needs settings.Tenant
    check = ansible.playbook([
        policies_task("leftover", path=str(directory), settings={"ProxyIdentityExperienceFrameworkAppId": PROXY_APP}),
        policies_task("predicted", path=str(directory), settings=dict(APP_IDS, Tenant=tenant),
                      ensured_keysets=[item["keyset"] for item in KEYSETS]),
    ], defaults=connection, check=True)
    leftover = check.task("leftover")
    assert leftover["status"] == "failed"
    lines = leftover["result"]["msg"].splitlines()
    base, extensions = directory / "TrustFrameworkBase.xml", directory / "TrustFrameworkExtensions.xml"
    assert lines[0] == "11 placeholder(s) left after filling the settings, nothing was sent:", lines
    assert lines[1].startswith("%s:6: yourtenant.onmicrosoft.com: " % (directory / "SignUpOrSignin.xml"))
    assert "tenant_id is a GUID: set settings.Tenant" in lines[1]
    assert "%s:35: yourtenant: " % base in leftover["result"]["msg"]
    assert "%s:21: IdentityExperienceFrameworkAppId: " % extensions in leftover["result"]["msg"]
    assert "%s:25: IdentityExperienceFrameworkAppId: " % extensions in leftover["result"]["msg"]
    assert "ProxyIdentityExperienceFrameworkAppId:" not in leftover["result"]["msg"]  # that one was given
    assert ":3: " not in leftover["result"]["msg"]  # the words in comments do not count
    predicted = check.result("predicted")
    assert check.task("predicted")["status"] == "ok", check.output[-3000:]
    assert predicted["uploaded"] == STARTER_ORDER and predicted["changed"] is True  # key sets ensured, not yet there
    assert writes(control) == [] and control.policies() == []

    seed_keys(control)
    control.clear_requests()
    task = policies_task(path=str(directory), settings=dict(APP_IDS, Tenant=tenant))
    first = ansible.playbook([task], defaults=connection).result("policies")
    assert first["uploaded"] == STARTER_ORDER
    contents = stored(control)
    assert 'TenantId="%s"' % tenant in contents["B2C_1A_Starter_Base"]
    assert "https://%s.b2clogin.com/" % tenant.split(".")[0] in contents["B2C_1A_Starter_Base"]
    assert ">%s</Item>" % PROXY_APP in contents["B2C_1A_Starter_Extensions"]
    assert 'DefaultValue="%s"' % IEF_APP in contents["B2C_1A_Starter_Extensions"]
    assert not [policy_id for policy_id, text in contents.items() if re.search("yourtenant|ExperienceFrameworkAppId", text)]
    # what is compared is the filled content: the same settings again change nothing
    control.clear_requests()
    again = ansible.playbook([task], defaults=connection).result("policies")
    assert again["changed"] is False and writes(control) == []


def test_a_vscode_extension_repository_deploys_from_appsettings_and_an_environment(ansible, control, tmp_path):
    """The same set as the extension's users keep it: {Settings:...} placeholders and appsettings.json."""
    repository = tmp_path / "repository"
    repository.mkdir()
    for path in STARTER_SET.glob("*.xml"):
        text = path.read_text(encoding="utf-8").replace("yourtenant.onmicrosoft.com", "{Settings:Tenant}")
        text = text.replace("https://yourtenant.b2clogin.com/", "{Settings:IssuerUrl}")
        text = re.sub(r"\b((?:Proxy)?IdentityExperienceFrameworkAppId)\b", r"{Settings:\1}", text)
        (repository / path.name).write_text(text, encoding="utf-8")
    tenant = ansible.emulator.tenant_domain
    appsettings = repository / "appsettings.json"
    appsettings.write_text(json.dumps({"EnvironmentsFolder": "Environments", "Environments": [
        {"Name": "Development", "Production": False, "Tenant": "contosodev.onmicrosoft.com", "PolicySettings": {}},
        {"Name": "Test", "Production": False, "Tenant": tenant,
         "PolicySettings": dict(APP_IDS, IssuerUrl="https://login.example.com/")}]}, indent=2), encoding="utf-8")
    seed_keys(control)
    run = ansible.playbook([
        policies_task("unknown", path=str(repository), appsettings=str(appsettings), environment="Staging"),
        policies_task(path=str(repository), appsettings=str(appsettings), environment="Test",
                      settings={"IssuerUrl": "https://issuer.example.com/"}),  # explicit settings win
    ], defaults=tenant_connection(ansible))
    unknown = run.task("unknown")
    assert unknown["status"] == "failed"
    assert "has no environment named 'Staging'" in unknown["result"]["msg"]
    assert "it has: Development, Test" in unknown["result"]["msg"]
    assert run.result("policies")["uploaded"] == STARTER_ORDER, run.output[-3000:]
    contents = stored(control)
    assert 'TenantId="%s"' % tenant in contents["B2C_1A_Starter_Base"]
    assert "https://issuer.example.com/" in contents["B2C_1A_Starter_Base"]
    assert ">%s</Item>" % PROXY_APP in contents["B2C_1A_Starter_Extensions"]
    assert not [policy_id for policy_id, text in contents.items() if "Settings:" in text]


def test_a_key_set_created_moments_ago_is_waited_for_and_an_app_that_cannot_list_key_sets_is_warned(
        ansible, control, replication_delay, tmp_path):
    policy = render(tmp_path / "basic", ansible.emulator.tenant_domain) / "TrustFrameworkBase.xml"
    edited = tmp_path / "edited.xml"
    edited.write_text(policy.read_text(encoding="utf-8").replace("User object id", "Object id"), encoding="utf-8")
    policy_only = control.register_app(permissions=[POLICY_READ_WRITE], display_name="entra.b2c e2e policies only")
    replication_delay(3.0)
    run = ansible.playbook(
        [{"name": "keyset %s" % item["keyset"], "entra.b2c.b2c_keyset": {"keyset": item["keyset"]}} for item in KEYSETS]
        + [{"name": "policy", "entra.b2c.b2c_policy": {"path": str(policy)}, "ignore_errors": True},
           {"name": "policy only", "ignore_errors": True, "entra.b2c.b2c_policy": {
               "path": str(edited), "client_id": policy_only["client_id"], "client_secret": policy_only["client_secret"]}}],
        defaults=tenant_connection(ansible), verbosity=1)
    result = run.result("policy")
    assert run.task("policy")["status"] == "ok", run.output[-3000:]
    assert result["reason"] == "new" and 0 < result["replication_wait"] <= 60
    attempts = [entry["status"] for entry in control.requests() if entry["route"] == "policies.put"]
    assert attempts[0] == 400 and attempts[-1] == 200 and set(attempts[1:-2]) <= {400} and 201 in attempts
    assert list(stored(control)) == [BASE]
    # listed at once, yet not usable by policies at first; the second list is refused to the policy-only app
    assert [entry["status"] for entry in control.requests() if entry["route"] == "keysets.list"] == [200, 403]
    only = run.task("policy only")
    assert only["status"] == "ok" and only["result"]["reason"] == "changed", run.output[-3000:]
    assert any("could not be checked" in warning and "TrustFrameworkKeySet.Read.All" in warning
               for warning in only["result"].get("warnings", []))


def test_the_social_packs_facebook_placeholder_is_filled_or_left_with_a_warning_never_refused(ansible, control):
    """Microsoft's social packs ship <Item Key="client_id">facebook_clientid</Item>: FacebookAppId fills it; without
    it the set still deploys (local accounts work) and the task warns where the placeholder is."""
    connection = tenant_connection(ansible, tenant_id=ansible.emulator.tenant_domain)
    ensured = [item["keyset"] for item in KEYSETS] + ["FacebookSecret"]
    extensions = SOCIAL_SET / "TrustFrameworkExtensions.xml"
    run = ansible.playbook([
        policies_task("left", path=str(SOCIAL_SET), settings=APP_IDS, ensured_keysets=ensured),
        policies_task("filled", path=str(SOCIAL_SET), settings=dict(APP_IDS, FacebookAppId="1234567890123456"),
                      ensured_keysets=ensured),
    ], defaults=connection, check=True)
    left, filled = run.task("left"), run.task("filled")
    assert left["status"] == "ok" and filled["status"] == "ok", run.output[-3000:]
    assert left["result"]["changed"] is True and len(left["result"]["uploaded"]) == 6
    facebook = [text for text in left["result"].get("warnings", []) if "facebook_clientid" in text]
    assert facebook == ["facebook_clientid, the starter packs' placeholder for the Facebook app's id, is left as it is "
                        "in %s:26: B2C accepts it and local accounts work, but sign-in with Facebook fails until it "
                        "holds your Facebook app's id: set settings.FacebookAppId (ief_tenant_settings.FacebookAppId "
                        "with the ief_tenant role)" % extensions], left["result"].get("warnings")
    assert not [text for text in filled["result"].get("warnings", []) if "facebook_clientid" in text]
    assert writes(control) == []
