# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A policy set in sub-folders, as the VS Code B2C extension builds a repository: the role entra.b2c.ief_tenant,
b2c_policies and b2c_policy_info find the relying parties moved into RelyingParties/, never the extension's
Environments output or a tool's dot folder, and name every .xml file they leave out (one level on request)."""

from __future__ import annotations

import json
import shutil

from policy_helpers import in_levels, tenant_connection
from test_ief_tenant import STARTER_LEVELS, STARTER_SETS, role_play, starter_variables, summary

RELYING_PARTIES = ("PasswordReset.xml", "ProfileEdit.xml", "SignUpOrSignin.xml")
LEFT_OUT = ", ".join("RelyingParties/" + name for name in RELYING_PARTIES)
SET_IDS = sorted(sum(STARTER_LEVELS, []))
BASE_IDS = sorted(sum(STARTER_LEVELS[:3], []))
RELYING_PARTY_IDS = sorted(STARTER_LEVELS[3])


def repository(root):
    """LocalAccounts kept for the extension: the relying parties in RelyingParties/, the extension's build of one
    environment under Environments/ (the same policy ids: read, they would be refused as defined twice), a stale copy
    under .vscode/, and the files that are not policies."""
    directory = root / "LocalAccounts"
    ignore = shutil.ignore_patterns("*.license")
    shutil.copytree(STARTER_SETS / "LocalAccounts", directory, ignore=ignore)
    (directory / "RelyingParties").mkdir()
    for name in RELYING_PARTIES:
        (directory / name).rename(directory / "RelyingParties" / name)
    shutil.copytree(STARTER_SETS / "LocalAccounts", directory / "Environments" / "Test", ignore=ignore)
    (directory / ".vscode").mkdir()
    shutil.copy(directory / "RelyingParties" / "SignUpOrSignin.xml", directory / ".vscode" / "SignUpOrSignin.xml")
    (directory / "appsettings.json").write_text(json.dumps({"Environments": [{"Name": "Test"}]}), encoding="utf-8")
    (directory / "README.md").write_text("# Our policies\n", encoding="utf-8")
    return directory


def stored_ids(control) -> list:
    return sorted(policy["id"] for policy in control.policies())


def test_the_role_deploys_a_policy_set_in_sub_folders_and_nothing_of_the_extensions_output(ansible, control, tmp_path):
    directory = repository(tmp_path)
    connection = tenant_connection(ansible, tenant_id=ansible.emulator.tenant_domain)
    run = ansible.playbook(role_play(starter_variables("LocalAccounts", directory)), defaults=connection)
    result = summary(run)
    assert in_levels(result["policies"]["uploaded"], STARTER_LEVELS), result["policies"]["uploaded"]
    assert stored_ids(control) == SET_IDS  # exactly the 6: nothing from Environments/ or .vscode/
    assert "leaves out" not in run.output  # README.md and appsettings.json are not policies


def test_one_level_on_request_leaves_the_relying_parties_out_and_names_them_once(ansible, control, tmp_path):
    directory = repository(tmp_path)
    connection = tenant_connection(ansible, tenant_id=ansible.emulator.tenant_domain)
    variables = dict(starter_variables("LocalAccounts", directory), ief_tenant_policies_recursive=False)
    run = ansible.playbook(role_play(variables), defaults=connection)
    result = summary(run)
    assert sorted(result["policies"]["uploaded"]) == BASE_IDS
    assert stored_ids(control) == BASE_IDS
    # without any white space: ansible-core 2.16 wraps warnings, and breaks a long path at a hyphen
    output = "".join(run.output.split())
    warning = "".join((f"entra.b2c.ief_tenant: ief_tenant_policies_pattern (*.xml) with ief_tenant_policies_recursive "
                       f"false leaves out 3 .xml files of {directory}, not part of the set: {LEFT_OUT}").split())
    assert output.count(warning) == 1, run.output[-3000:]


def test_b2c_policies_and_b2c_policy_info_read_the_sub_folders_and_name_what_they_leave_out(ansible, control, tmp_path):
    """After the role deployed the set: a check run of b2c_policies with path finds all 6 unchanged; with recursive
    false it takes the 3 bases and warns of the relying parties; b2c_policy_info's drift against one level reports
    them as extra, and warns too."""
    directory = repository(tmp_path)
    connection = tenant_connection(ansible, tenant_id=ansible.emulator.tenant_domain)
    deployed = summary(ansible.playbook(role_play(starter_variables("LocalAccounts", directory)), defaults=connection))
    apps = deployed["apps"]
    settings = {"IdentityExperienceFrameworkAppId": apps["identity_experience_framework_app_id"],
                "ProxyIdentityExperienceFrameworkAppId": apps["proxy_identity_experience_framework_app_id"]}
    tasks = [
        {"name": "deep", "entra.b2c.b2c_policies": {"path": str(directory), "settings": settings}},
        {"name": "one level", "entra.b2c.b2c_policies": {"path": str(directory), "settings": settings,
                                                         "recursive": False}},
        {"name": "drift", "entra.b2c.b2c_policy_info": {"path": str(directory), "recursive": False}},
        {"name": "no drift", "entra.b2c.b2c_policy_info": {"path": str(directory)}},
    ]
    run = ansible.playbook(tasks, defaults=connection, check=True)
    assert run.rc == 0, run.output[-4000:]
    deep = run.result("deep")
    assert sorted(entry["policy"] for entry in deep["results"]) == SET_IDS and deep["uploaded"] == []
    assert not deep.get("warnings"), deep.get("warnings")
    one_level = run.result("one level")
    assert sorted(entry["policy"] for entry in one_level["results"]) == BASE_IDS
    assert sorted(one_level["extra"]) == RELYING_PARTY_IDS
    warning = (f"pattern (*.xml) with recursive false leaves out 3 .xml files of {directory}, not part of the set: "
               f"{LEFT_OUT} (recursive: true (the default) also takes the files of sub-folders)")
    assert one_level["warnings"] == [warning]
    drift = run.result("drift")
    assert sorted(drift["extra"]) == RELYING_PARTY_IDS and drift["missing"] == []
    assert drift["warnings"] == [warning]
    assert run.result("no drift")["extra"] == [] and not run.result("no drift").get("warnings")
