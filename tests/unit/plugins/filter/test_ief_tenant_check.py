# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for the ief_tenant role's check (plugins/filter/ief_tenant_check.py); tests/e2e/test_ief_tenant.py runs
it for real."""

from __future__ import annotations

import json

import pytest
from pathlib import Path

import yaml
from ansible_collections.entra.b2c.plugins.filter import ief_tenant_check as check_module
from ansible_collections.entra.b2c.plugins.filter.ief_tenant_check import (
    KNOWN_NAMES,
    ROLE_VARIABLES,
    FilterModule,
    documented_variables,
    ief_tenant_check,
)

SECRET = "never-shown-7c1a"
DEFAULTS = {
    "ief_tenant_policies_pattern": "*.xml",
    "ief_tenant_policies_recursive": True,
    "ief_tenant_template": True,
    "ief_tenant_keys": True,
    "ief_tenant_apps": True,
    "ief_tenant_settings": {},
    "ief_tenant_appsettings": None,
    "ief_tenant_environment": None,
    "ief_tenant_state": "present",
    "ief_tenant_reupload_dependents": False,
    "ief_tenant_rollback": True,
    "ief_tenant_prune": None,
    "ief_tenant_prune_pattern": None,
    "ief_tenant_backup": None,
    "ief_tenant_backup_dir": None,
    "ief_tenant_connection": {},
}


@pytest.fixture()
def project(tmp_path):
    """A playbook directory with a policy directory of two files (and one that is not a policy)."""
    policies = tmp_path / "policies"
    policies.mkdir()
    for name in ("TrustFrameworkBase.xml", "SignUpOrSignin.xml", "notes.txt"):
        (policies / name).write_text("<x/>", encoding="utf-8")
    return tmp_path


def check(project, names=(), relative_to="playbook", **variables):
    given = dict(DEFAULTS, **{"ief_tenant_policies_dir": "policies", **variables})
    return ief_tenant_check(given, list(names) or list(given), str(project), relative_to)


def test_the_defaults_pass_and_relative_paths_resolve_against_the_playbook(project):
    found = check(project, ief_tenant_backup_dir="backups")
    assert found["problems"] == []
    assert found["files"] == [str(project / "policies" / "SignUpOrSignin.xml"),
                              str(project / "policies" / "TrustFrameworkBase.xml")]
    assert found["policies_dir"] == str(project / "policies")
    assert found["backup_dir"] == str(project / "backups") and found["appsettings"] is None
    assert FilterModule().filters()["ief_tenant_check"] is ief_tenant_check


def test_the_collection_playbook_resolves_against_the_directory_it_runs_in(project, tmp_path, monkeypatch):
    elsewhere = tmp_path / "collection" / "playbooks"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(project)
    found = ief_tenant_check(dict(DEFAULTS, ief_tenant_policies_dir="policies"), [], str(elsewhere), "cwd")
    assert found["problems"] == [] and found["policies_dir"] == str(project / "policies")
    missing = ief_tenant_check(dict(DEFAULTS, ief_tenant_policies_dir="policies"), [], str(elsewhere))
    assert missing["files"] == []
    assert missing["problems"] == [
        f"ief_tenant_policies_dir: policies (relative, so looked for in {elsewhere}, the playbook's directory): there is "
        "no such directory; give the directory that holds the policy files, absolute or relative to the playbook's "
        "directory"]


def test_a_misspelt_variable_is_refused_with_the_name_meant(project):
    found = check(project, names=list(KNOWN_NAMES) + ["ief_tenant_reupload_dependent", "ief_tenant_tenant_id",
                                                      "ief_tenant_zzz"])
    variables = " (its variables: " + ", ".join(ROLE_VARIABLES) + ")"
    assert found["problems"] == [
        "ief_tenant_reupload_dependent is not a variable of the role entra.b2c.ief_tenant, which would ignore it; did "
        "you mean ief_tenant_reupload_dependents?" + variables,
        "ief_tenant_tenant_id is not a variable of the role entra.b2c.ief_tenant, which would ignore it; connection "
        "options go in ief_tenant_connection ({'tenant_id': ...})" + variables,
        "ief_tenant_zzz is not a variable of the role entra.b2c.ief_tenant, which would ignore it" + variables,
    ]
    assert found["files"] == []  # nothing to deploy while a problem stands


def test_every_problem_is_reported_at_once(project):
    found = check(project, ief_tenant_template="maybe", ief_tenant_state="gone", ief_tenant_policies_pattern="*.json",
                  ief_tenant_prune=True, ief_tenant_settings={"Api": ["x"], "Empty": " "},
                  ief_tenant_connection={"graph_endpont": "x", "client_secret": SECRET, "timeout": SECRET})
    problems = "\n".join(found["problems"])
    assert "ief_tenant_template: must be true or false, got 'maybe'" in problems
    assert "ief_tenant_state: 'gone' is not a state; use present (the default) or absent" in problems
    assert f"no file of {project / 'policies'} matches *.json (its sub-folders searched too); ief_tenant_policies_pattern "\
           "(*.json) leaves out 2 .xml files of" in problems
    assert "ief_tenant_prune_pattern: required with ief_tenant_prune" in problems
    assert "ief_tenant_settings.Api: expected text, got a list" in problems
    assert "ief_tenant_settings.Empty: is empty" in problems
    assert "graph_endpont (did you mean graph_endpoint?) is not a connection option" in problems
    assert "ief_tenant_connection: argument 'timeout'" in problems
    assert SECRET not in problems


def test_app_ids_in_the_settings_need_the_apps_off(project):
    settings = {"IdentityExperienceFrameworkAppId": "a", "ProxyIdentityExperienceFrameworkAppId": "b", "Tenant": "t"}
    assert check(project, ief_tenant_settings=settings)["problems"] == [
        "ief_tenant_settings: IdentityExperienceFrameworkAppId and ProxyIdentityExperienceFrameworkAppId are filled by "
        "the role with the id of the IEF app it ensures (ief_tenant_apps is true); remove them, or set "
        "ief_tenant_apps: false to give your own"]
    assert check(project, ief_tenant_settings=settings, ief_tenant_apps=False)["problems"] == []


def test_appsettings_and_its_environment(project):
    (project / "appsettings.json").write_text(json.dumps({"Environments": [
        {"Name": "Development", "Tenant": "dev.onmicrosoft.com", "PolicySettings": {}},
        {"Name": "Production", "Tenant": "contoso.onmicrosoft.com", "PolicySettings": {}}]}), encoding="utf-8")
    good = check(project, ief_tenant_appsettings="appsettings.json", ief_tenant_environment="Production")
    assert good["problems"] == [] and good["appsettings"] == str(project / "appsettings.json")
    typo = check(project, ief_tenant_appsettings="appsettings.json", ief_tenant_environment="Prodution")
    assert typo["problems"] == [
        f"ief_tenant_environment: Prodution is not an environment of {project / 'appsettings.json'} (did you mean "
        "Production?); its environments: Development, Production"]
    assert check(project, ief_tenant_environment="Production")["problems"] == [
        "ief_tenant_environment: only used with ief_tenant_appsettings; give the path of the appsettings.json whose "
        "Environments it names, or remove it"]
    missing = check(project, ief_tenant_appsettings="nope.json", ief_tenant_environment="Production")["problems"]
    assert len(missing) == 1 and missing[0].startswith("ief_tenant_appsettings: nope.json (relative, so looked for in")
    (project / "broken.json").write_text("{", encoding="utf-8")
    broken = check(project, ief_tenant_appsettings="broken.json", ief_tenant_environment="Production")["problems"]
    assert len(broken) == 1 and "is not JSON" in broken[0]


def test_the_known_variables_are_the_documented_ones():
    """Every variable of meta/argument_specs.yml is known (read at run time too), and the list in the filter, which
    orders the messages, names exactly those."""
    specs = Path(__file__).resolve().parents[4] / "roles" / "ief_tenant" / "meta" / "argument_specs.yml"
    documented = yaml.safe_load(specs.read_text(encoding="utf-8"))["argument_specs"]["main"]["options"]
    assert sorted(ROLE_VARIABLES) == sorted(documented)
    assert documented_variables() == ROLE_VARIABLES


def test_not_a_dictionary():
    assert ief_tenant_check(["x"])["problems"] == ["the role's variables: expected a dictionary, got a list"]


# ---- policy files in folders, as the VS Code B2C extension builds them --------------------------------------------
class Warnings(list):
    """Display's warning, recorded."""

    def warning(self, message):
        self.append(message)


@pytest.fixture()
def warnings(monkeypatch):
    recorded = Warnings()
    monkeypatch.setattr(check_module, "display", recorded)
    return recorded


@pytest.fixture()
def repository(tmp_path):
    """A repository kept for the VS Code extension: relying parties in a folder, the extension's output, tools' copies,
    a README and an appsettings.json (not policies)."""
    for name in ("TrustFrameworkBase.xml", "TrustFrameworkExtensions.xml", "RelyingParties/SignUpOrSignin.xml",
                 "RelyingParties/Legacy/PasswordReset.xml", "Environments/Test/TrustFrameworkBase.xml",
                 ".vscode/SignUpOrSignin.xml", ".git/objects/x.xml", "README.md", "appsettings.json"):
        path = tmp_path / "policies" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("<x/>", encoding="utf-8")
    return tmp_path


def test_the_files_of_sub_folders_are_the_set_and_nothing_is_left_out(repository, warnings):
    found = check(repository)
    policies = repository / "policies"
    assert found["problems"] == []
    assert found["files"] == [str(policies / "RelyingParties" / "Legacy" / "PasswordReset.xml"),
                              str(policies / "RelyingParties" / "SignUpOrSignin.xml"),
                              str(policies / "TrustFrameworkBase.xml"), str(policies / "TrustFrameworkExtensions.xml")]
    assert found["left_out"] == [] and warnings == []  # Environments, .vscode and .git are never searched


def test_one_level_on_request_names_the_files_of_the_sub_folders_once(repository, warnings):
    found = check(repository, ief_tenant_policies_recursive=False)
    policies = repository / "policies"
    assert found["files"] == [str(policies / "TrustFrameworkBase.xml"), str(policies / "TrustFrameworkExtensions.xml")]
    assert found["left_out"] == [str(policies / "RelyingParties" / "Legacy" / "PasswordReset.xml"),
                                 str(policies / "RelyingParties" / "SignUpOrSignin.xml")]
    assert warnings == [
        f"entra.b2c.ief_tenant: ief_tenant_policies_pattern (*.xml) with ief_tenant_policies_recursive false leaves "
        f"out 2 .xml files of {policies}, not part of the set: RelyingParties/Legacy/PasswordReset.xml, "
        f"RelyingParties/SignUpOrSignin.xml (ief_tenant_policies_recursive: true (the default) also takes the files "
        f"of sub-folders)"]


def test_a_pattern_that_leaves_an_xml_file_out_names_it(repository, warnings):
    found = check(repository, ief_tenant_policies_pattern="TrustFramework*.xml")
    assert [path.rsplit("/", 1)[-1] for path in found["files"]] == ["TrustFrameworkBase.xml", "TrustFrameworkExtensions.xml"]
    assert len(warnings) == 1 and warnings[0].startswith("entra.b2c.ief_tenant: ief_tenant_policies_pattern "
                                                         "(TrustFramework*.xml) leaves out 2 .xml files of ")
    assert warnings[0].endswith(": RelyingParties/Legacy/PasswordReset.xml, RelyingParties/SignUpOrSignin.xml")


def test_no_warning_while_a_problem_stands_and_the_left_out_files_in_the_message(repository, warnings):
    found = check(repository, ief_tenant_policies_recursive=False, ief_tenant_policies_dir="policies/RelyingParties")
    policies = repository / "policies" / "RelyingParties"
    assert found["files"] == [str(policies / "SignUpOrSignin.xml")] and len(warnings) == 1
    warnings.clear()
    nested = check(repository, ief_tenant_policies_recursive=False,
                   ief_tenant_policies_dir="policies/RelyingParties/../RelyingParties/..", ief_tenant_state="gone")
    assert nested["files"] == [] and warnings == []  # the run stops on the problem; the warning would only add noise
    (repository / "only").mkdir()
    (repository / "only" / "Sub").mkdir()
    (repository / "only" / "Sub" / "A.xml").write_text("<x/>", encoding="utf-8")
    empty = check(repository, ief_tenant_policies_recursive=False, ief_tenant_policies_dir="only")
    assert empty["problems"] == [
        f"ief_tenant_policies_dir: only (relative, so looked for in {repository}, the playbook's directory): no file "
        f"of {repository / 'only'} matches *.xml; ief_tenant_policies_pattern (*.xml) with "
        f"ief_tenant_policies_recursive false leaves out 1 .xml file of {repository / 'only'}, not part of the set: "
        f"Sub/A.xml (ief_tenant_policies_recursive: true (the default) also takes the files of sub-folders); give "
        f"the directory that holds the policy files, or set ief_tenant_policies_pattern"]
    assert empty["left_out"] == [str(repository / "only" / "Sub" / "A.xml")] and warnings == []


def test_a_pattern_with_a_folder_and_a_recursive_that_is_not_a_boolean_are_refused(repository, warnings):
    found = check(repository, ief_tenant_policies_pattern="RelyingParties/*.xml", ief_tenant_policies_recursive="deep")
    assert found["problems"] == [
        "ief_tenant_policies_recursive: must be true or false, got 'deep'",
        "ief_tenant_policies_pattern: RelyingParties/*.xml has a folder; give a file name pattern such as *.xml, "
        "matched against the name of each file (in the sub-folders too, unless ief_tenant_policies_recursive is "
        "false)"]
    assert found["files"] == [] and warnings == []


def test_the_backups_kept_under_the_policy_directory_are_not_the_set(repository, warnings):
    backups = repository / "policies" / "backups"
    backups.mkdir()
    (backups / "B2C_1A_TrustFrameworkBase.2025-01-01@00-00-00.xml").write_text("<x/>", encoding="utf-8")
    found = check(repository, ief_tenant_backup=True, ief_tenant_backup_dir="policies/backups")
    assert len(found["files"]) == 4 and not any("/backups/" in path for path in found["files"] + found["left_out"])
    assert warnings == []
    unlisted = check(repository)  # without the backup directory among the variables, they are policy files
    assert len(unlisted["files"]) == 5
