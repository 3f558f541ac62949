# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The whole tenant in one play: the role entra.b2c.ief_tenant (keys, then a directory of policy templates) and the
playbook entra.b2c.ief_tenant, end to end against the emulator, from the templates of tests/policies/basic."""

from __future__ import annotations

import collections
import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
from xml.etree import ElementTree

import pytest
import yaml
from conftest import REPO_ROOT, TENANT_APP, TESTS_DIR, Ansible, keyset_keys, routes
from policy_helpers import KEYSETS, LEVELS, POLICY_SET, UPLOAD_ORDER, edit, in_levels, puts, render, tenant_connection

WRITE_ROUTES = {"keysets.create", "keys.generate", "policies.put", "policies.delete"}
STARTER_PACK = {"B2C_1A_TokenSigningKeyContainer": "sig", "B2C_1A_TokenEncryptionKeyContainer": "enc"}


STARTER_SETS = TESTS_DIR / "policies"
STARTER_LEVELS = [["B2C_1A_TrustFrameworkBase"], ["B2C_1A_TrustFrameworkLocalization"],
                  ["B2C_1A_TrustFrameworkExtensions"], ["B2C_1A_PasswordReset", "B2C_1A_ProfileEdit", "B2C_1A_signup_signin"]]
PLACEHOLDERS = ("yourtenant", "IdentityExperienceFrameworkAppId", "{Settings:", "facebook_clientid")


def canonical(content: str) -> str:
    return ElementTree.canonicalize(content.split("?>", 1)[-1])


def writes(control) -> list:
    return [route for route in routes(control) if route in WRITE_ROUTES]


def role_play(variables) -> list:
    """The role with `variables`; the basic set has no IEF app ids, so the apps are left out unless asked for."""
    variables = dict({"ief_tenant_apps": False}, **variables)
    include = {"name": "ief_tenant", "ansible.builtin.include_role": {"name": "entra.b2c.ief_tenant"}, "vars": variables}
    return [include, {"name": "summary", "ansible.builtin.debug": {"var": "ief_tenant_result"}}]


def summary(run) -> dict:
    assert run.rc == 0, run.output[-4000:]
    return run.result("summary")["ief_tenant_result"]


def playbook_environment(ansible, tenant=None) -> dict:
    """The credential as AWX's Azure credential would inject it (here in the AZURE_TENANT_ID spelling)."""
    emulator = ansible.emulator
    return {"AZURE_TENANT_ID": tenant or emulator.tenant_id, "AZURE_CLIENT_ID": TENANT_APP["client_id"],
            "AZURE_CLIENT_SECRET": TENANT_APP["client_secret"], "REQUESTS_CA_BUNDLE": emulator.ca_path}


def collection_playbook(ansible, variables) -> list:
    """ansible-playbook entra.b2c.ief_tenant with `variables` as extra vars, pointed at the emulator. The basic set has
    no IEF app ids and uses the template variable b2c_tenant."""
    extra = {"b2c_tenant": ansible.emulator.tenant_domain, "ief_tenant_apps": False,
             "ief_tenant_connection": {"graph_endpoint": ansible.emulator.url, "authority_host": ansible.emulator.url}}
    extra.update(variables)
    return [str(ansible.bin_dir / "ansible-playbook"), "entra.b2c.ief_tenant", "-e", json.dumps(extra)]


def runner(ansible, private, playbook, extravars, cmdline=()):
    """ansible-runner the way AWX runs a job: a project directory, the job template's variables as extra vars, the
    credentials as environment variables (AWX's Azure credential spelling, the tenant as its domain name as
    docs/awx.md asks, plus the endpoint credential type of docs/awx.md)."""
    binary = os.path.join(os.path.dirname(sys.executable), "ansible-runner")
    if not os.path.exists(binary):
        pytest.skip("ansible-runner is not installed in this environment")
    emulator = ansible.emulator
    (private / "env").mkdir(parents=True, exist_ok=True)
    env = ansible.env({"AZURE_CLIENT_ID": TENANT_APP["client_id"], "AZURE_TENANT": emulator.tenant_domain,
                       "AZURE_SECRET": TENANT_APP["client_secret"], "AZURE_GRAPH_ENDPOINT": emulator.url,
                       "AZURE_AUTHORITY_HOST": emulator.url, "REQUESTS_CA_BUNDLE": emulator.ca_path})
    (private / "env" / "envvars").write_text(json.dumps(env), encoding="utf-8")
    (private / "env" / "extravars").write_text(json.dumps(extravars), encoding="utf-8")
    # ansible-runner reads extra command line options (AWX's job type Check: --check) from env/cmdline
    (private / "env" / "cmdline").write_text(" ".join(cmdline), encoding="utf-8")
    argv = [binary, "run", str(private), "-p", playbook]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, env=env, cwd=ansible.workdir)
    ansible.assert_no_secret_in(done.stdout + done.stderr)
    return done


def failed_task(run) -> dict:
    failed = [entry for entry in run.results if entry["status"] == "failed"]
    assert len(failed) == 1, run.output[-3000:]
    return failed[0]


@pytest.mark.compat
def test_the_collection_playbook_stands_up_the_tenant_and_a_second_run_changes_nothing(ansible, control):
    """From the directory ansible-playbook runs in, as an AWX project: a relative ief_tenant_policies_dir is found
    there, not inside the installed collection; check mode first says "would", never "uploaded"."""
    shutil.copytree(POLICY_SET, ansible.workdir / "policies")
    argv = collection_playbook(ansible, {"ief_tenant_policies_dir": "policies"})

    predicted = ansible._execute(argv + ["--check"], playbook_environment(ansible))  # pylint: disable=protected-access
    assert predicted.rc == 0, predicted.output[-4000:]
    assert writes(control) == []
    for policy_id in UPLOAD_ORDER:
        assert "%s (level" % policy_id in predicted.stdout
    assert predicted.stdout.count("would upload (new)") == len(UPLOAD_ORDER)
    assert "B2C_1A_TokenSigningKeyContainer: would change (keyset_missing)" in predicted.stdout
    assert "): uploaded (" not in predicted.stdout and ": changed (" not in predicted.stdout

    environment = playbook_environment(ansible)
    first = ansible._execute(argv, environment)  # pylint: disable=protected-access
    assert first.rc == 0, first.output[-4000:]
    for keyset_id, use in STARTER_PACK.items():
        assert [key["use"] for key in keyset_keys(control, keyset_id)] == [use]
        assert "%s: changed (keyset_missing)" % keyset_id in first.stdout
    for policy_id in UPLOAD_ORDER:
        assert "%s (level" % policy_id in first.stdout and "uploaded (new)" in first.stdout
    assert sorted(policy["id"] for policy in control.policies()) == sorted(UPLOAD_ORDER)
    assert "would upload" not in first.stdout
    # keys before policies, policies level by level
    log = writes(control)
    assert log.index("policies.put") > max(index for index, route in enumerate(log) if route != "policies.put")
    requests = control.requests()
    assert [entry["policy"] for entry in requests if entry["route"] == "policies.put"][:3] == UPLOAD_ORDER[:3]

    control.clear_requests()
    again = ansible._execute(argv, environment)  # pylint: disable=protected-access
    assert again.rc == 0, again.output[-4000:]
    assert "changed=0" in again.stdout and "uploaded (" not in again.stdout
    assert again.stdout.count('(level 0): unchanged"') == 1 and "unchanged (unchanged)" not in again.stdout
    assert writes(control) == []
    assert routes(control).count("token") == 1  # one task plans and applies the whole tenant (no token cache)


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
    ({"ief_tenant_policies_dir": str(POLICY_SET), "ief_tenant_polices_pattern": "*.xml"}, []),
])
def test_bad_variables_are_refused_before_any_request(ansible, control, variables, words):
    run = ansible.playbook(role_play(variables), defaults=tenant_connection(ansible))
    assert run.rc != 0
    failed = failed_task(run)
    message = failed["result"]["msg"]
    if words:
        assert "Validating arguments against arg spec" in failed["task"], failed["task"]
    else:  # a misspelt variable would be ignored: refused by the role's first task, naming the one meant
        assert failed["task"].endswith("Refuse the variables before any request when they hold a problem")
        assert ("ief_tenant_polices_pattern is not a variable of the role entra.b2c.ief_tenant, which would ignore "
                "it; did you mean ief_tenant_policies_pattern?") in message, message
    for word in words:
        assert word in message, message
    assert control.requests() == []


def test_a_misspelt_extra_var_is_refused_in_check_mode_too_before_any_request(ansible, control):
    """-e ief_tenant_reupload_dependent=true (one letter short) would be ignored: refused with the name meant, and with
    every other problem of the run (here a directory that is not there) in the same message."""
    argv = collection_playbook(ansible, {"ief_tenant_policies_dir": "no-such-dir"})
    run = ansible._execute(argv + ["-e", "ief_tenant_reupload_dependent=true", "--check"],  # pylint: disable=protected-access
                           playbook_environment(ansible))
    assert run.rc != 0
    assert ("ief_tenant_reupload_dependent is not a variable of the role entra.b2c.ief_tenant, which would ignore it; "
            "did you mean ief_tenant_reupload_dependents?") in run.stdout, run.stdout[-3000:]
    assert ("ief_tenant_policies_dir: no-such-dir (relative, so looked for in %s, the directory ansible-playbook runs "
            "in (for AWX, the project's root)): there is no such directory" % ansible.workdir) in run.stdout
    assert "entra.b2c.ief_tenant sent no request" in run.stdout
    assert control.requests() == []


def test_a_template_error_names_its_file_before_any_request(ansible, control, tmp_path):
    directory = tmp_path / "policies"
    shutil.copytree(POLICY_SET, directory)
    edit(directory / "TrustFrameworkExtensions.xml", "3600", "{{ proxy_ief_app_id }}")
    variables = {"ief_tenant_policies_dir": str(directory), "b2c_tenant": ansible.emulator.tenant_domain}
    run = ansible.playbook(role_play(variables), defaults=tenant_connection(ansible))
    # the render of that file fails (rescued), then the failure that names it; nothing after it runs
    rescued, failed = [entry for entry in run.results if entry["status"] == "failed"]
    assert rescued["task"].endswith("Render TrustFrameworkExtensions.xml"), rescued["task"]
    assert failed["task"].endswith("Say which policy file could not be rendered"), failed["task"]
    # the file first, then Ansible's own words (every ansible-core: 2.16 does not name a loop's failed item)
    assert failed["result"]["msg"].startswith("%s: " % (directory / "TrustFrameworkExtensions.xml"))
    assert "proxy_ief_app_id" in failed["result"]["msg"]
    assert "TrustFrameworkBase.xml" not in failed["result"]["msg"]
    assert control.requests() == []


def test_state_absent_removes_the_set_leaves_first(ansible, control, tmp_path):
    tenant = ansible.emulator.tenant_domain
    control.seed([{"id": keyset_id, "keys": [{"use": use, "kty": "RSA"}]} for keyset_id, use in STARTER_PACK.items()])
    control.seed_policies([{"content": path.read_text(encoding="utf-8")}
                           for path in sorted(render(tmp_path / "rendered", tenant).glob("*.xml"))])
    variables = {"ief_tenant_policies_dir": str(POLICY_SET), "b2c_tenant": tenant}
    keysets = [keyset["id"] for keyset in control.state()["keysets"]]

    absent = dict(variables, ief_tenant_state="absent")
    predicted = summary(ansible.playbook(role_play(absent), defaults=tenant_connection(ansible), check=True))
    assert writes(control) == [] and len(control.policies()) == len(UPLOAD_ORDER)
    assert sorted(predicted["policies"]["deleted"]) == sorted(UPLOAD_ORDER)

    removed = summary(ansible.playbook(role_play(absent), defaults=tenant_connection(ansible)))
    deletions = [entry["policy"] for entry in control.requests() if entry["route"] == "policies.delete"]
    assert in_levels(deletions, list(reversed(LEVELS))), deletions  # relying parties first, the base last
    assert removed["policies"]["deleted"] == predicted["policies"]["deleted"]
    assert control.policies() == []
    # keys stay: the role removes policies only, and neither key sets nor keys were touched
    assert [keyset["id"] for keyset in control.state()["keysets"]] == keysets
    assert not [route for route in writes(control) if not route.startswith("policies.")]


def test_a_relative_directory_through_ansible_runner_as_awx_runs_a_job(ansible, control, tmp_path):
    """ansible-runner runs the collection playbook itself in a project directory (AWX runs it through a project
    playbook that imports it: test_the_awx_policies_section_runs_as_written_through_ansible_runner): the job's
    ief_tenant_policies_dir is relative to the project's root, where the job runs, not to the playbook's directory
    inside the installed collection."""
    private = tmp_path / "runner"
    shutil.copytree(POLICY_SET, private / "project" / "policies")
    done = runner(ansible, private, "entra.b2c.ief_tenant", {
        "ief_tenant_policies_dir": "policies", "ief_tenant_apps": False, "b2c_tenant": ansible.emulator.tenant_domain})
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "(item=%s)" % (private / "project" / "policies" / "TrustFrameworkBase.xml") in done.stdout
    assert done.stdout.count("uploaded (new)") == len(UPLOAD_ORDER)
    assert sorted(policy["id"] for policy in control.policies()) == sorted(UPLOAD_ORDER)


# ---- Microsoft's starter packs as downloaded: the IEF apps and the settings fill their placeholders ------------------
# These need the module entra.b2c.b2c_ief_apps and the settings options of b2c_policies.

def remote_writes(control) -> list:
    """Every request that changed the tenant: key sets, keys, apps, policies (the token endpoint does not count)."""
    return [entry["route"] for entry in control.requests() if entry["method"] not in ("GET", "HEAD")
            and entry["route"] not in ("token", "discovery", "jwks")]


def starter_variables(name: str, directory=None, secret=None) -> dict:
    """The role's variables for one of our starter-pack-shaped sets, as downloaded: nothing templated."""
    variables = {"ief_tenant_policies_dir": str(directory or STARTER_SETS / name), "ief_tenant_apps": True}
    if name.startswith("Social"):
        variables["ief_tenant_settings"] = {"FacebookAppId": "1234567890123456"}
        variables["policy_keys_keysets"] = KEYSETS + [
            {"keyset": "FacebookSecret", "type": "secret", "use": "sig", "secret": secret}]
    return variables


def assert_filled(control, tenant: str, apps: dict) -> dict:
    """The tenant holds the whole set, each policy with the tenant and the apps' ids where the pack had placeholders."""
    stored = {policy["id"]: policy["content"] for policy in control.policies(content=True)}
    assert sorted(stored) == sorted(sum(STARTER_LEVELS, []))
    for policy_id, content in stored.items():
        assert not [word for word in PLACEHOLDERS if word in content], policy_id
        assert 'TenantId="%s"' % tenant in content, policy_id
    extensions = stored["B2C_1A_TrustFrameworkExtensions"]
    for name in ("identity_experience_framework_app_id", "proxy_identity_experience_framework_app_id"):
        assert apps[name] and apps[name] in extensions, (name, apps)
    return stored


@pytest.mark.parametrize("name", ["SocialAndLocalAccounts", "SocialAndLocalAccountsWithMfa"])
def test_a_starter_pack_from_an_empty_tenant_in_one_run_and_a_second_run_changes_nothing(ansible, control, name):
    secret = secrets.token_urlsafe(24)
    ansible.secrets.add(secret)
    variables = starter_variables(name, secret=secret)
    connection = tenant_connection(ansible, tenant_id=ansible.emulator.tenant_domain)  # fills yourtenant
    first = summary(ansible.playbook(role_play(variables), defaults=connection))
    assert in_levels(first["policies"]["uploaded"], STARTER_LEVELS), first["policies"]["uploaded"]
    assert first["apps"]["changed"] is True
    stored = assert_filled(control, ansible.emulator.tenant_domain, first["apps"])
    assert "1234567890123456" in stored["B2C_1A_TrustFrameworkExtensions"]
    assert [key["use"] for key in keyset_keys(control, "B2C_1A_FacebookSecret")] == ["sig"]
    assert {entry["keyset"] for entry in first["keysets"]} == {
        "B2C_1A_TokenSigningKeyContainer", "B2C_1A_TokenEncryptionKeyContainer", "B2C_1A_FacebookSecret"}

    control.clear_requests()
    second = summary(ansible.playbook(role_play(variables), defaults=connection))
    assert second["policies"]["uploaded"] == [] and second["apps"]["changed"] is False
    assert [entry["changed"] for entry in second["keysets"]] == [False, False, False]
    assert remote_writes(control) == []


def test_the_collection_playbook_shows_drift_prunes_with_its_pattern_and_names_its_backups(ansible, control, tmp_path):
    """ief_tenant_prune and ief_tenant_backup through the collection playbook: what would go, what went, what stays
    outside the set, and the backups written (a relative backup directory: where ansible-playbook runs)."""
    tenant = ansible.emulator.tenant_domain
    control.seed([{"id": keyset_id, "keys": [{"use": use, "kty": "RSA"}]} for keyset_id, use in STARTER_PACK.items()])
    directory = render(tmp_path / "rendered", tenant)
    sign_in = (directory / "SignIn.xml").read_text(encoding="utf-8")
    control.seed_policies([{"content": path.read_text(encoding="utf-8")} for path in sorted(directory.glob("*.xml"))]
                          + [{"content": sign_in.replace("B2C_1A_Basic_SignIn", stray)}
                             for stray in ("B2C_1A_Basic_OldRp", "B2C_1A_Other_SignIn")])
    argv = collection_playbook(ansible, {"ief_tenant_policies_dir": str(directory), "ief_tenant_template": False,
                                         "ief_tenant_keys": False, "ief_tenant_prune": True,
                                         "ief_tenant_prune_pattern": "B2C_1A_Basic_*", "ief_tenant_backup": True,
                                         "ief_tenant_backup_dir": "backups"})
    environment = playbook_environment(ansible)
    control.clear_requests()
    predicted = ansible._execute(argv + ["--check"], environment)  # pylint: disable=protected-access
    assert predicted.rc == 0, predicted.output[-4000:]
    assert "B2C_1A_Basic_OldRp: would delete (pruned: outside the set, matches ief_tenant_prune_pattern)" in predicted.stdout
    assert "Outside the set, left as they are: B2C_1A_Other_SignIn" in predicted.stdout
    assert remote_writes(control) == [] and not (ansible.workdir / "backups").exists()

    done = ansible._execute(argv, environment)  # pylint: disable=protected-access
    assert done.rc == 0, done.output[-4000:]
    assert "B2C_1A_Basic_OldRp: deleted (pruned: outside the set" in done.stdout
    assert remote_writes(control) == ["policies.delete"]
    backups = sorted(path.name for path in (ansible.workdir / "backups").iterdir())
    assert len(backups) == 1 and backups[0].startswith("B2C_1A_Basic_OldRp"), backups
    assert "Backed up before the run replaced or deleted them: %s" % (ansible.workdir / "backups" / backups[0]) in (
        done.stdout.replace("\n", " "))
    assert sorted(policy["id"] for policy in control.policies()) == sorted(UPLOAD_ORDER + ["B2C_1A_Other_SignIn"])


def test_the_role_writes_nothing_before_every_policy_check_passed(ansible, control, tmp_path):
    """Real runs, not checks: a leftover placeholder and a key set no entry ensures are refused before the role
    creates a key set or an app, each with the module's message; a tenant given by its GUID takes its domain name
    from ief_tenant_settings.Tenant for the apps too."""
    directory = tmp_path / "LocalAccounts"
    shutil.copytree(STARTER_SETS / "LocalAccounts", directory, ignore=shutil.ignore_patterns("*.license"))
    edit(directory / "TrustFrameworkExtensions.xml", '<Item Key="token_lifetime_secs">3600</Item>',
         '<Item Key="token_lifetime_secs">{Settings:Lifetime}</Item>')
    connection = tenant_connection(ansible, tenant_id=ansible.emulator.tenant_domain)
    leftover = ansible.playbook(role_play(starter_variables("LocalAccounts", directory)), defaults=connection)
    failed = failed_task(leftover)
    assert failed["task"].endswith("Plan, then apply, the policy keys, the IEF apps and the policies"), failed["task"]
    assert failed["result"]["msg"].startswith("1 placeholder(s) left after filling the settings, nothing was sent:\n"
                                              "%s:" % (directory / "TrustFrameworkExtensions.xml"))
    assert "{Settings:Lifetime}: no setting of that name" in failed["result"]["msg"]
    assert "set ief_tenant_settings.Lifetime" in failed["result"]["msg"]  # the role's variable, not the module's option
    assert remote_writes(control) == [] and control.state()["keysets"] == []

    variables = dict(starter_variables("SocialAndLocalAccounts", secret="x"), policy_keys_keysets=KEYSETS)
    unkeyed = ansible.playbook(role_play(variables), defaults=connection)  # no FacebookSecret entry
    failed = failed_task(unkeyed)
    assert failed["task"].endswith("Plan, then apply, the policy keys, the IEF apps and the policies"), failed["task"]
    assert "B2C_1A_FacebookSecret" in failed["result"]["msg"] and "nothing was written" in failed["result"]["msg"]
    assert failed["result"]["msg"].endswith("name it in policy_keys_keysets."), failed["result"]["msg"]
    assert remote_writes(control) == [] and control.state()["keysets"] == []

    guid = tenant_connection(ansible)  # tenant_id is the tenant's GUID
    variables = dict(starter_variables("LocalAccounts"), ief_tenant_settings={"Tenant": ansible.emulator.tenant_domain})
    predicted = summary(ansible.playbook(role_play(variables), defaults=guid, check=True))
    assert predicted["policies"]["uploaded"] and predicted["policies"]["stand_in_app_ids"] is True
    assert predicted["apps"]["changed"] is True and remote_writes(control) == []


def test_a_wrong_tenant_name_with_a_tenant_guid_leaves_zero_writes(ansible, control):
    """AWX's Azure credential usually holds the tenant's GUID, so the files' TenantId cannot be compared locally: the
    domain ief_tenant_settings.Tenant names is resolved through its OpenID discovery and refused, in check mode and
    for real, before a key set or an app is written."""
    guid = tenant_connection(ansible)  # tenant_id is the tenant's GUID
    variables = dict(starter_variables("LocalAccounts"), ief_tenant_settings={"Tenant": "fabrikam.onmicrosoft.com"})
    for check in (True, False):
        run = ansible.playbook(role_play(variables), defaults=guid, check=check)
        failed = failed_task(run)
        assert "names the tenant fabrikam.onmicrosoft.com" in failed["result"]["msg"], failed["result"]["msg"]
        assert "nothing was written" in failed["result"]["msg"]
        assert remote_writes(control) == [] and control.state()["keysets"] == []
        assert control.directory()["applications"] == [] or all(
            app["displayName"] not in ("IdentityExperienceFramework", "ProxyIdentityExperienceFramework")
            for app in control.directory()["applications"])


@pytest.mark.compat
def test_the_starter_pack_walkthrough_of_the_policies_chapter(ansible, control):
    """docs/policies.md: LocalAccounts as downloaded, the collection playbook from the directory that holds it; a
    check run first, the run, a second run that changes nothing, then the chapter's edit (a token issuer claims
    provider pasted into TrustFrameworkExtensions.xml) uploads that one policy."""
    shutil.copytree(STARTER_SETS / "LocalAccounts", ansible.workdir / "policies")
    # Microsoft's download holds one claims provider in its extensions file, Local Account SignIn; ours also holds the
    # token issuer's lifetime (other tests edit it). Taken out here, so that the file is as downloaded and the
    # chapter's step 5 adds it as a user does.
    extensions = ansible.workdir / "policies" / "TrustFrameworkExtensions.xml"
    text = extensions.read_text(encoding="utf-8")
    start = text.index("    <ClaimsProvider>\n      <DisplayName>Token Issuer</DisplayName>")
    end = text.index("</ClaimsProvider>\n", start) + len("</ClaimsProvider>\n")
    extensions.write_text(text[:start] + text[end:], encoding="utf-8")
    namespace = "{http://schemas.microsoft.com/online/cpim/schemas/2013/06}"
    providers = ElementTree.parse(extensions).getroot().find(namespace + "ClaimsProviders")
    assert [provider.findtext(namespace + "DisplayName") for provider in providers] == ["Local Account SignIn"]
    argv = collection_playbook(ansible, {"ief_tenant_policies_dir": "policies", "ief_tenant_apps": True})
    environment = playbook_environment(ansible, ansible.emulator.tenant_domain)  # as the chapter exports it
    chapter = (REPO_ROOT / "docs" / "policies.md").read_text(encoding="utf-8")

    predicted = ansible._execute(argv + ["--check"], environment)  # pylint: disable=protected-access
    assert predicted.rc == 0, predicted.output[-4000:]
    assert remote_writes(control) == []
    assert "): uploaded (" not in predicted.stdout
    # the apps do not exist yet: the check stands in for their ids, runs every check and predicts all six uploads
    assert predicted.stdout.count("would upload (new)") == 6, predicted.stdout[-4000:]
    assert "checked with stand-ins for their application ids" in predicted.stdout

    first = ansible._execute(argv, environment)  # pylint: disable=protected-access
    assert first.rc == 0, first.output[-4000:]
    assert first.stdout.count("uploaded (new)") == 6 and "would upload" not in first.stdout
    assert "IEF apps: changed" in first.stdout
    control.clear_requests()
    second = ansible._execute(argv, environment)  # pylint: disable=protected-access
    assert second.rc == 0 and "changed=0" in second.stdout, second.output[-4000:]
    assert remote_writes(control) == []

    # step 5: the chapter's claims provider pasted into <ClaimsProviders>, after Local Account SignIn
    step = chapter[chapter.index("**5. Edit, look, run.**"):]
    pasted = block_after(step, "Paste this into `<ClaimsProviders>`")
    assert '<TechnicalProfile Id="JwtIssuer">' in pasted and step.index("```xml") < step.index("```bash")
    edit(extensions, "  </ClaimsProviders>", pasted + "  </ClaimsProviders>")
    line = "B2C_1A_TrustFrameworkExtensions (level 2): %s (changed)"
    # the edited policy, then (ief_tenant_reupload_dependents, true by default) the relying parties above it
    looked = ansible._execute(argv + ["--check", "--diff"], environment)  # pylint: disable=protected-access
    assert looked.rc == 0, looked.output[-4000:]
    assert looked.stdout.count("would upload (changed)") == 1 and looked.stdout.count("would upload (base_changed)") == 3
    assert line % "would upload" in looked.stdout and line % "would upload" in chapter
    # the diff: the pasted lines added, none removed
    diff = [(row[0], row[1:].strip()) for row in looked.stdout.splitlines()
            if row[:1] in "+-" and row[1:].strip().startswith("<")]
    assert ("+", '<Item Key="token_lifetime_secs">1800</Item>') in diff and (
        "+", '<TechnicalProfile Id="JwtIssuer">') in diff, looked.stdout[-4000:]
    assert {sign for sign, _text in diff} == {"+"}, diff
    shown = block_after(step, "the ten lines you pasted")  # the chapter shows the same lines
    assert diff == [(row[0], row[1:].strip()) for row in shown.splitlines()
                    if row[:1] == "+" and row[1:].strip().startswith("<")], shown
    third = ansible._execute(argv, environment)  # pylint: disable=protected-access
    assert third.rc == 0 and third.stdout.count("): uploaded (") == 4, third.output[-4000:]
    assert line % "uploaded" in third.stdout and line % "uploaded" in chapter
    assert third.stdout.count("uploaded (base_changed)") == 3 and "uploaded (base_changed)" in chapter
    assert puts(control)[0] == "B2C_1A_TrustFrameworkExtensions" and sorted(puts(control)[1:]) == sorted(
        STARTER_LEVELS[-1])

    # "Removing the set": the files as downloaded (the app ids are not needed to delete), relying parties first
    assert "-e ief_tenant_state=absent" in chapter
    control.clear_requests()
    unpublished = ansible._execute(argv + ["-e", "ief_tenant_state=absent", "--check"], environment)  # pylint: disable=protected-access
    assert unpublished.rc == 0 and unpublished.stdout.count("): would delete") == 6, unpublished.output[-4000:]
    assert remote_writes(control) == []
    removed = ansible._execute(argv + ["-e", "ief_tenant_state=absent"], environment)  # pylint: disable=protected-access
    assert removed.rc == 0 and removed.stdout.count("): deleted") == 6, removed.output[-4000:]
    deletions = [entry["policy"] for entry in control.requests() if entry["route"] == "policies.delete"]
    assert in_levels(deletions, list(reversed(STARTER_LEVELS))), deletions
    assert control.policies() == [] and [route for route in remote_writes(control) if route != "policies.delete"] == []


def test_the_awx_policies_section_runs_as_written_through_ansible_runner(ansible, control, tmp_path):
    """docs/awx.md: a project with Microsoft's pack as downloaded in policies/, the playbook and the job template's
    variables as the page gives them; a Check job first, then the Run job."""
    page = (REPO_ROOT / "docs" / "awx.md").read_text(encoding="utf-8")
    private = tmp_path / "runner"
    shutil.copytree(STARTER_SETS / "LocalAccounts", private / "project" / "policies")
    (private / "project" / "b2c_ief_tenant.yml").write_text(block_after(page, "`b2c_ief_tenant.yml`:"), encoding="utf-8")
    variables = yaml.safe_load(block_after(page, "Variables of the policies job template:"))

    checked = runner(ansible, private, "b2c_ief_tenant.yml", variables, cmdline=("--check",))
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
    assert remote_writes(control) == [] and "): uploaded (" not in checked.stdout

    done = runner(ansible, private, "b2c_ief_tenant.yml", variables)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert done.stdout.count("uploaded (new)") == 6, done.stdout[-5000:]
    result_apps = {}
    for policy in control.policies(content=True):
        if policy["id"] == "B2C_1A_TrustFrameworkExtensions":
            result_apps = policy["content"]
    assert "ProxyIdentityExperienceFrameworkAppId" not in result_apps and "yourtenant" not in result_apps

    # later jobs upload only what a commit changed: one edited file, it and the relying parties above it
    control.clear_requests()
    again = runner(ansible, private, "b2c_ief_tenant.yml", variables)
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-4000:]
    assert remote_writes(control) == []
    edit(private / "project" / "policies" / "TrustFrameworkExtensions.xml",
         "<Item Key=\"token_lifetime_secs\">3600</Item>", "<Item Key=\"token_lifetime_secs\">1800</Item>")
    edited = runner(ansible, private, "b2c_ief_tenant.yml", variables)
    assert edited.returncode == 0 and edited.stdout.count("): uploaded (") == 4, edited.stdout[-4000:]
    assert remote_writes(control) == ["policies.put"] * 4


def block_after(text: str, marker: str) -> str:
    """The first fenced block after a line of a page."""
    assert marker in text, marker
    start = text.index("```", text.index(marker))
    body_start = text.index("\n", start) + 1
    return text[body_start:text.index("```", body_start)]


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


def test_a_read_only_app_sends_no_write_request_and_the_plan_names_the_permission(ansible, control):
    """An app that may read everything and write nothing: the plan reads the tenant, then refuses before the first
    write, naming the first permission its writes need; in check mode it says so too. Not one request writes."""
    app = control.register_app(permissions=["TrustFrameworkKeySet.Read.All", "Policy.Read.All", "Application.Read.All",
                                            "Directory.Read.All"])
    connection = ansible.connection(client_id=app["client_id"], client_secret=app["client_secret"],
                                    tenant_id=ansible.emulator.tenant_domain)
    for check in (True, False):
        run = ansible.playbook(role_play(starter_variables("LocalAccounts")), defaults=connection, check=check)
        message = failed_task(run)["result"]["msg"]
        # the first family whose plan writes: the apps (the keys' permission is checked once they are planned)
        assert "Application.ReadWrite.All" in message and "nothing was written" in message.lower(), message
        assert remote_writes(control) == []
    assert any(entry["route"] == "keysets.get" for entry in control.requests())  # the plan did read


def test_a_refusal_half_way_through_the_role_puts_the_previous_version_back(ansible, control):
    """A deployed starter pack, its Extensions file edited: B2C refuses the second relying party the run re-uploads, so
    the run puts back the Extensions policy and the relying party it replaced, fails naming them in rolled_back and
    prints a line for each write as it completes."""
    directory = ansible.workdir / "LocalAccounts"
    shutil.copytree(STARTER_SETS / "LocalAccounts", directory, ignore=shutil.ignore_patterns("*.license"))
    connection = tenant_connection(ansible, tenant_id=ansible.emulator.tenant_domain)
    first = ansible.playbook(role_play(starter_variables("LocalAccounts", directory)), defaults=connection)
    assert first.rc == 0, first.output[-4000:]
    for line in ("B2C_1A_TokenSigningKeyContainer created (", "IdentityExperienceFramework created (or met another run's) (",
                 "service principal of ProxyIdentityExperienceFramework created (or met another run's) (",
                 "admin consent ProxyIdentityExperienceFramework -> IdentityExperienceFramework: user_impersonation "
                 "granted (", "B2C_1A_signup_signin uploaded ("):
        assert line in first.stdout, line  # every write, as it completed
    before = {policy["id"]: policy["content"] for policy in control.policies(content=True)}
    edit(directory / "TrustFrameworkExtensions.xml", '<Item Key="token_lifetime_secs">3600</Item>',
         '<Item Key="token_lifetime_secs">1800</Item>')
    control.add_fault("policies.put", [{"status": 400, "code": "AADB2C", "message": "Validation failed: refused"}],
                      keyset="B2C_1A_ProfileEdit")
    control.clear_requests()
    run = ansible.playbook(role_play(starter_variables("LocalAccounts", directory)), defaults=connection)
    result = failed_task(run)["result"]
    assert result["policies"]["rolled_back"][0] == "B2C_1A_TrustFrameworkExtensions", result["policies"]
    assert "B2C_1A_ProfileEdit" in result["msg"] and "Validation failed: refused" in result["msg"]
    after = {policy["id"]: policy["content"] for policy in control.policies(content=True)}
    # the tenant holds its previous version (B2C stores its own serialization: compared in canonical form)
    assert {key: canonical(value) for key, value in after.items()} == {key: canonical(value) for key, value in before.items()}
    assert "B2C_1A_TrustFrameworkExtensions uploaded (" in run.stdout  # progress, as each write completed
    assert "B2C_1A_TrustFrameworkExtensions put back (rollback) (" in run.stdout


def test_two_jobs_of_the_role_at_once_on_an_empty_tenant_make_one_app_of_each_name(ansible, control, tmp_path):
    """Two AWX jobs of one template started together: both plan an empty tenant, both apply; the IEF apps are created
    through Graph's upsert by uniqueName (held so that both creates are in flight at once), the keys under each key
    set's lock, so both jobs succeed and the tenant holds one app of each name and one key per key set."""
    connection = tenant_connection(ansible, tenant_id=ansible.emulator.tenant_domain)
    control.add_fault("applications.upsert", [{"delay": 3.0}] * 2)
    runners = [ansible, Ansible(ansible.emulator, tmp_path / "second", ansible.collections)]
    (tmp_path / "second").mkdir()
    runs: list = [None, None]

    def play(index: int) -> None:
        runs[index] = runners[index].playbook(role_play(starter_variables("LocalAccounts")), defaults=connection)

    threads = [threading.Thread(target=play, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    for run in runs:
        assert run.rc == 0, run.output[-3000:]
    names = collections.Counter(app["displayName"] for app in control.directory()["applications"])
    assert names["IdentityExperienceFramework"] == 1 and names["ProxyIdentityExperienceFramework"] == 1, names
    upserts = [entry["status"] for entry in control.requests() if entry["route"] == "applications.upsert"]
    assert 204 in upserts, upserts  # the jobs did cross: one create met the other's app
    for keyset_id in STARTER_PACK:
        assert len(keyset_keys(control, keyset_id)) == 1
