# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Promotion: one repository (a starter pack as downloaded and a VS Code extension appsettings.json with an environment
per tenant) deployed by the collection playbook to two emulated tenants at once, from an inventory with one host per
tenant, through ansible-playbook and through ansible-runner as AWX runs a job."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml
from conftest import REPO_ROOT, TENANT_APP, TESTS_DIR
from policy_helpers import edit

STARTER = TESTS_DIR / "policies" / "LocalAccounts"
POLICY_IDS = sorted(["B2C_1A_TrustFrameworkBase", "B2C_1A_TrustFrameworkLocalization", "B2C_1A_TrustFrameworkExtensions",
                     "B2C_1A_signup_signin", "B2C_1A_ProfileEdit", "B2C_1A_PasswordReset"])
IEF_APPS = ("IdentityExperienceFramework", "ProxyIdentityExperienceFramework")
LIFETIME_ITEM = '<Item Key="token_lifetime_secs">%s</Item>'
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# Host, group (the environment's group_vars) and appsettings environment of each tenant, in the order of `tenants`.
# The setting that differs: the token lifetime, values the pack holds nowhere else.
ENVIRONMENTS = [{"host": "emulatorb2c", "group": "dev", "name": "Development", "lifetime": "1200"},
                {"host": "emulatorb2ctest", "group": "test", "name": "Test", "lifetime": "2400"}]
# IEF app ids an environment of appsettings.json may hold (the extension's users keep them there), copied from another
# tenant: the role fills each tenant's own.
COPIED_APP_IDS = {"IdentityExperienceFrameworkAppId": "0d7d1e4c-5a7f-4a31-9a55-3f1b0c2e9d11",
                  "ProxyIdentityExperienceFrameworkAppId": "6b2f8a90-1c3d-4e5f-8a7b-9c0d1e2f3a44"}


@pytest.fixture()
def tenants(emulator, second_tenant, control):  # pylint: disable=unused-argument
    """Both emulated tenants, empty: the first (`emulator`, reset by `control`) and the second."""
    return [emulator, second_tenant]


def repository(root: Path, tenants) -> None:
    """The repository both tenants deploy from: LocalAccounts as downloaded (yourtenant, the IEF app id placeholders)
    but for one {Settings:TokenLifetime}, and the appsettings.json the VS Code B2C extension keeps, an environment per
    tenant with its Tenant, its value of that setting and app ids copied from elsewhere."""
    shutil.copytree(STARTER, root / "policies", ignore=shutil.ignore_patterns("*.license"))
    edit(root / "policies" / "TrustFrameworkExtensions.xml", LIFETIME_ITEM % "3600", LIFETIME_ITEM % "{Settings:TokenLifetime}")
    environments = [{"Name": env["name"], "Production": False, "Tenant": emu.tenant_domain,
                     "PolicySettings": dict(COPIED_APP_IDS, TokenLifetime=env["lifetime"])}
                    for env, emu in zip(ENVIRONMENTS, tenants)]
    (root / "appsettings.json").write_text(json.dumps({"EnvironmentsFolder": "Environments", "Environments": environments},
                                                      indent=2), encoding="utf-8")


def inventory(directory: Path, tenants) -> None:
    """One host per tenant in the group b2c; what all share in group_vars/b2c.yml, each environment's tenant,
    credential and appsettings environment in its own group_vars (a vaulted file in a real repository)."""
    group_vars = directory / "group_vars"
    group_vars.mkdir(parents=True)
    hosts = {"b2c": {"children": {env["group"]: {"hosts": {env["host"]: None}} for env in ENVIRONMENTS}}}
    (directory / "hosts.yml").write_text(yaml.safe_dump(hosts, sort_keys=False), encoding="utf-8")
    shared = {"ansible_connection": "local", "ief_tenant_policies_dir": "policies", "ief_tenant_appsettings": "appsettings.json"}
    (group_vars / "b2c.yml").write_text(yaml.safe_dump(shared, sort_keys=False), encoding="utf-8")
    for env, emu in zip(ENVIRONMENTS, tenants):
        app = app_of(tenants, emu)
        connection = {"tenant_id": emu.tenant_domain, "client_id": app["client_id"], "client_secret": app["client_secret"],
                      "graph_endpoint": emu.url, "authority_host": emu.url, "ca_path": emu.ca_path}
        variables = {"ief_tenant_environment": env["name"], "ief_tenant_connection": connection}
        (group_vars / (env["group"] + ".yml")).write_text(yaml.safe_dump(variables, sort_keys=False), encoding="utf-8")


def writes(emu) -> list:
    return [entry["route"] for entry in emu.control.requests()
            if entry["method"] in WRITE_METHODS and entry["route"] not in ("token", "discovery", "jwks")]


def recap(stdout: str) -> dict:
    """The PLAY RECAP line of each host: {host: {"ok": n, "changed": n, ...}}."""
    return {match.group(1): dict((name, int(value)) for name, value in re.findall(r"(\w+)=(\d+)", match.group(2)))
            for match in re.finditer(r"^(\S+)\s+:\s+(ok=.*)$", stdout, re.MULTILINE)}


def assert_promoted(tenants, lifetimes=None) -> None:
    """Each tenant holds the six policies filled with its own domain, its own IEF app ids and its environment's
    setting, one app of each IEF name, and nothing of the other tenant: its domain, GUID, app ids or setting."""
    seen = []
    for emu, lifetime in zip(tenants, lifetimes or [env["lifetime"] for env in ENVIRONMENTS]):
        stored = {policy["id"]: policy["content"] for policy in emu.control.policies(content=True)}
        assert sorted(stored) == POLICY_IDS, (emu.tenant_domain, sorted(stored))
        apps = [app for app in emu.control.directory()["applications"] if app["displayName"] in IEF_APPS]
        assert sorted(app["displayName"] for app in apps) == sorted(IEF_APPS), (emu.tenant_domain, apps)
        for policy_id, content in stored.items():
            assert 'TenantId="%s"' % emu.tenant_domain in content, (emu.tenant_domain, policy_id)
            assert not re.search(r"yourtenant|ExperienceFrameworkAppId|\{Settings:", content), (emu.tenant_domain, policy_id)
            assert not [value for value in COPIED_APP_IDS.values() if value in content], (emu.tenant_domain, policy_id)
        extensions = stored["B2C_1A_TrustFrameworkExtensions"]
        assert LIFETIME_ITEM % lifetime in extensions, emu.tenant_domain
        for app in apps:
            assert app["appId"] in extensions, (emu.tenant_domain, app["displayName"])
        seen.append({"stored": stored, "own": [emu.tenant_domain, emu.tenant_id, LIFETIME_ITEM % lifetime]
                     + [app["appId"] for app in apps]})
    for index, tenant in enumerate(seen):
        other = seen[1 - index]
        leaked = [(policy_id, marker) for policy_id, content in tenant["stored"].items() for marker in other["own"]
                  if marker in content]
        assert not leaked, "%s holds the other tenant's %s" % (tenants[index].tenant_domain, leaked)


def test_one_play_promotes_one_repository_to_two_tenants_and_a_second_run_changes_nothing(ansible, tenants):
    """ansible-playbook entra.b2c.ief_tenant -i inventory with forks 2: both tenants deploy in the same run, each with
    its own credential, domain, IEF apps and appsettings environment, one token each; a second run changes nothing."""
    repository(ansible.workdir, tenants)
    inventory(ansible.workdir / "inventory", tenants)
    argv = [str(ansible.bin_dir / "ansible-playbook"), "entra.b2c.ief_tenant", "-i", "inventory",
            "-e", "entra_b2c_hosts=b2c", "--forks", "2"]

    first = ansible._execute(argv)  # pylint: disable=protected-access
    assert first.rc == 0, first.output[-4000:]
    counts = recap(first.stdout)
    assert sorted(counts) == sorted(env["host"] for env in ENVIRONMENTS), first.stdout[-2000:]
    assert all(count["changed"] > 0 and count["failed"] == 0 for count in counts.values()), counts
    assert first.stdout.count("uploaded (new)") == 2 * len(POLICY_IDS)
    assert_promoted(tenants)
    # forks 2: the two tenants were deployed at the same time, each from its first request to its last upload
    spans = []
    for emu in tenants:
        log = emu.control.requests()
        assert [entry["route"] for entry in log].count("token") == 1, emu.tenant_domain
        spans.append((log[0]["ts"], max(entry["ts"] for entry in log if entry["route"] == "policies.put")))
    assert spans[0][0] < spans[1][1] and spans[1][0] < spans[0][1], spans

    for emu in tenants:
        emu.control.clear_requests()
    again = ansible._execute(argv)  # pylint: disable=protected-access
    assert again.rc == 0, again.output[-4000:]
    assert {host: count["changed"] for host, count in recap(again.stdout).items()} == {
        env["host"]: 0 for env in ENVIRONMENTS}, again.stdout[-2000:]
    assert [writes(emu) for emu in tenants] == [[], []]


def app_of(tenants, emu) -> dict:
    """The app of a tenant that may manage its keys, policies and IEF apps: TENANT_APP in the first, the ready app of
    the second (each tenant its own app registration)."""
    return TENANT_APP if emu is tenants[0] else {"client_id": emu.client_id, "client_secret": emu.client_secret}


def runner_job(ansible, private: Path, extravars: dict, credential=None, cmdline=()):
    """ansible-runner as AWX runs a job (runner() of test_ief_tenant.py): the project in private/project, the
    inventory in private/inventory, the job template's variables as extra vars and, with `credential` (the tenants
    fixture's app and emulator of one tenant), what AWX's Azure credential and docs/awx.md's endpoint credential type
    inject for it."""
    binary = os.path.join(os.path.dirname(sys.executable), "ansible-runner")
    if not os.path.exists(binary):
        pytest.skip("ansible-runner is not installed in this environment")
    injected = {}
    if credential:
        app, emu = credential
        injected = {"AZURE_CLIENT_ID": app["client_id"], "AZURE_TENANT": emu.tenant_domain,
                    "AZURE_SECRET": app["client_secret"], "AZURE_GRAPH_ENDPOINT": emu.url,
                    "AZURE_AUTHORITY_HOST": emu.url, "REQUESTS_CA_BUNDLE": emu.ca_path}
    env = ansible.env(injected)
    (private / "env").mkdir(parents=True, exist_ok=True)
    (private / "env" / "envvars").write_text(json.dumps(env), encoding="utf-8")
    (private / "env" / "extravars").write_text(json.dumps(extravars), encoding="utf-8")
    (private / "env" / "cmdline").write_text(" ".join(cmdline), encoding="utf-8")
    done = subprocess.run([binary, "run", str(private), "-p", "entra.b2c.ief_tenant"], capture_output=True, text=True,
                          timeout=300, check=False, env=env, cwd=ansible.workdir)
    ansible.assert_no_secret_in(done.stdout + done.stderr)
    return done


def test_an_ansible_runner_job_over_two_tenants(ansible, tenants, tmp_path):
    """One job over both tenants: the project holds the repository, the inventory (one host per tenant, its
    group_vars beside it, as an inventory sourced from the project) the tenants and their credentials; the job's extra
    vars choose the hosts and its forks run them together. The job's environment holds no credential."""
    private = tmp_path / "runner"
    repository(private / "project", tenants)
    inventory(private / "inventory", tenants)

    done = runner_job(ansible, private, {"entra_b2c_hosts": "b2c"}, cmdline=("--forks", "2"))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert sorted(recap(done.stdout)) == sorted(env["host"] for env in ENVIRONMENTS), done.stdout[-2000:]
    assert done.stdout.count("uploaded (new)") == 2 * len(POLICY_IDS), done.stdout[-4000:]
    assert_promoted(tenants)

    for emu in tenants:
        emu.control.clear_requests()
    again = runner_job(ansible, private, {"entra_b2c_hosts": "b2c"}, cmdline=("--forks", "2"))
    assert again.returncode == 0, again.stdout[-4000:]
    assert {host: count["changed"] for host, count in recap(again.stdout).items()} == {
        env["host"]: 0 for env in ENVIRONMENTS}, again.stdout[-2000:]
    assert [writes(emu) for emu in tenants] == [[], []]


def test_the_awx_workflow_of_the_docs_promotes_dev_then_test_each_job_with_its_own_credential(ansible, tenants, tmp_path):
    """docs/awx.md "From dev to test to prod" as written (its contoso tenants are the emulated ones): the dev job, then
    the test job, each with its tenant's credential as AWX injects it and its job template's variables. The dev job
    leaves the test tenant alone; a test job given the dev credential is refused before any write."""
    page = (REPO_ROOT / "docs" / "awx.md").read_text(encoding="utf-8")
    section = page[page.index("## From dev to test to prod"):]
    domains = {"contosodev.onmicrosoft.com": tenants[0].tenant_domain, "contosotest.onmicrosoft.com": tenants[1].tenant_domain}

    def block(marker: str) -> str:
        text = block_after(section, marker)
        for name, domain in domains.items():
            text = text.replace(name, domain)
        return text

    private = tmp_path / "runner"
    project = private / "project"
    shutil.copytree(STARTER, project / "policies", ignore=shutil.ignore_patterns("*.license"))
    edit(project / "policies" / "TrustFrameworkExtensions.xml", LIFETIME_ITEM % "3600",
         LIFETIME_ITEM % "{Settings:TokenLifetime}")
    (project / "appsettings.json").write_text(block("`appsettings.json`, an environment per tenant"), encoding="utf-8")
    lifetimes = [environment["PolicySettings"]["TokenLifetime"]
                 for environment in json.loads(block("`appsettings.json`, an environment per tenant"))["Environments"]]
    group_vars = private / "inventory" / "group_vars"  # the inventory AWX imports from the project
    group_vars.mkdir(parents=True)
    (private / "inventory" / "hosts.yml").write_text(block("`inventory/hosts.yml`"), encoding="utf-8")
    (group_vars / "b2c.yml").write_text(block("`inventory/group_vars/b2c.yml`"), encoding="utf-8")
    dev = block("`inventory/group_vars/dev.yml`")
    assert "ief_tenant_environment: Development" in dev and "`test.yml` and `prod.yml` name `Test`" in section
    (group_vars / "dev.yml").write_text(dev, encoding="utf-8")
    (group_vars / "test.yml").write_text(dev.replace("Development", "Test"), encoding="utf-8")
    dev_job = yaml.safe_load(block("Variables of the dev job template:"))
    assert dev_job == {"entra_b2c_hosts": "dev"}
    test_job = {"entra_b2c_hosts": "test"}
    credentials = [(app_of(tenants, emu), emu) for emu in tenants]

    done = runner_job(ansible, private, dev_job, credentials[0])
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert list(recap(done.stdout)) == ["contosodev"] and done.stdout.count("uploaded (new)") == len(POLICY_IDS)
    assert tenants[1].control.requests() == [] and tenants[1].control.policies() == []

    for emu in tenants:
        emu.control.clear_requests()
    wrong = runner_job(ansible, private, test_job, credentials[0])
    assert wrong.returncode != 0
    # refused by the plan, naming where the tenant came from (two emulators: each authority knows its own tenant only;
    # Entra's knows both, and the message then names both tenant ids)
    message = "Tenant of the environment 'Test' of %s names the tenant %s" % (
        private / "project" / "appsettings.json", tenants[1].tenant_domain)
    assert "".join(message.split()) in "".join(wrong.stdout.split()), wrong.stdout[-4000:]  # however it was wrapped
    assert "names the tenant contosotest.onmicrosoft.com" in " ".join(section.split())
    assert [writes(emu) for emu in tenants] == [[], []]

    done = runner_job(ansible, private, test_job, credentials[1])
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert list(recap(done.stdout)) == ["contosotest"] and done.stdout.count("uploaded (new)") == len(POLICY_IDS)
    assert_promoted(tenants, lifetimes[:2])


def block_after(text: str, marker: str) -> str:
    """The first fenced block after a line of a page."""
    assert marker in text, marker
    start = text.index("```", text.index(marker))
    body_start = text.index("\n", start) + 1
    return text[body_start:text.index("```", body_start)]


def test_the_emulator_serves_two_tenants_side_by_side(tmp_path):
    """`make emulator EMULATOR_ARGS="--tenants 2"`: a JSON line per tenant, each its own server, CA and app; a tenant
    is known only to its own server; SIGTERM stops both."""
    process = subprocess.Popen([sys.executable, "-m", "emulator", "--tenants", "2", "--state-dir", str(tmp_path),
                                "--log-level", "WARNING"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, PYTHONPATH=str(TESTS_DIR)))
    try:
        lines = [json.loads(process.stdout.readline()) for _line in range(2)]
        assert [line["tenant_domain"] for line in lines] == ["emulatorb2c.onmicrosoft.com", "emulatorb2c2.onmicrosoft.com"]
        assert len({line["url"] for line in lines}) == 2 and len({line["client_id"] for line in lines}) == 2
        assert lines[1]["ca_path"] == str(tmp_path / "tenant-2" / "ca.pem")
        for line, other in zip(lines, lines[::-1]):
            discovery = "%s/%s/v2.0/.well-known/openid-configuration"
            own = requests.get(discovery % (line["url"], line["tenant_domain"]), verify=line["ca_path"], timeout=30)
            assert own.status_code == 200 and line["tenant_id"] in own.json()["issuer"], own.text
            assert requests.get(discovery % (line["url"], other["tenant_domain"]), verify=line["ca_path"],
                                timeout=30).status_code == 400
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0, process.stderr.read()
