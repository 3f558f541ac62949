# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The live suite (`make live-test`): end-to-end scenarios against a real B2C tenant, through ansible-playbook.

It uses only what a user has: the modules, their options and the environment variables they read (AZURE_TENANT_ID,
AZURE_CLIENT_ID and one credential; AZURE_CLOUD_ENVIRONMENT and REQUESTS_CA_BUNDLE when set). Every key set it makes is
named B2C_1A_<prefix><run id>..., and the session's last step deletes them and purges their .bak backups, whether
the scenarios passed or not. Without credentials every test is skipped with the reason (scripts/live-test.sh says it
before pytest starts). docs/testing.md has the app registration it needs.

The policy scenario uploads a small set of custom policies named B2C_1A_<prefix><run id>...; the session's last step
deletes every policy of the run before the key sets (it needs Policy.ReadWrite.TrustFramework besides the key set
permission, and the tenant's domain name for the policies' TenantId: AZURE_TENANT_ID when it is one, else
ENTRA_B2C_LIVE_TENANT_DOMAIN; without a domain name that scenario is skipped with the reason).

Optional environment: ENTRA_B2C_LIVE_GRAPH_ENDPOINT / ENTRA_B2C_LIVE_AUTHORITY_HOST (a private endpoint, or the
emulator standing in for a tenant), ENTRA_B2C_LIVE_PREFIX (default AnsibleE2E), ENTRA_B2C_LIVE_SWEEP=1 (also delete
what interrupted earlier runs left: every policy and set whose id starts with B2C_1A_<prefix>),
ENTRA_B2C_LIVE_TENANT_DOMAIN (the tenant's domain name when AZURE_TENANT_ID is its GUID).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

LIVE_DIR = Path(__file__).resolve().parent
REPO_ROOT = LIVE_DIR.parent.parent
CALLBACKS_DIR = LIVE_DIR.parent / "e2e" / "callback_plugins"
TENANT_ENV = ("AZURE_TENANT_ID", "AZURE_TENANT")
CREDENTIAL_ENV = ("AZURE_CLIENT_SECRET", "AZURE_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_X509_CERTIFICATE_PATH",
                  "AZURE_FEDERATED_TOKEN_FILE", "AZURE_ACCESS_TOKEN")
# Values that must never show in any output: the credential, and what the scenarios upload.
SECRET_ENV = ("AZURE_CLIENT_SECRET", "AZURE_SECRET", "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_ACCESS_TOKEN")
PREFIX = os.environ.get("ENTRA_B2C_LIVE_PREFIX") or "AnsibleE2E"
BATCH_MODULE = "entra.b2c.b2c_keyset_key_batch"


def missing_credentials(environ=None) -> str | None:
    """Why the live suite cannot run here, or None when the environment names a tenant and a credential."""
    environ = os.environ if environ is None else environ
    missing = []
    if not any(environ.get(name) for name in TENANT_ENV):
        missing.append("AZURE_TENANT_ID")
    if not environ.get("AZURE_CLIENT_ID") and not environ.get("AZURE_ACCESS_TOKEN"):
        missing.append("AZURE_CLIENT_ID")
    if not any(environ.get(name) for name in CREDENTIAL_ENV):
        missing.append("a credential (AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE "
                       "or AZURE_ACCESS_TOKEN)")
    if not missing:
        return None
    return "no B2C tenant to test against: set %s" % ", ".join(missing)


def pytest_collection_modifyitems(config, items):  # pylint: disable=unused-argument
    reason = missing_credentials()
    if reason:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))


@dataclass
class Run:
    rc: int
    output: str
    results: list = field(default_factory=list)

    def result(self, name: str) -> dict:
        matches = [entry for entry in self.results if entry["task"] == name]
        assert matches, "no result for task %r\n%s" % (name, self.output[-3000:])
        return matches[-1]["result"]


class LiveTenant:
    """Runs plays against the tenant of the environment; names every key set of the run with one unique prefix."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.run_prefix = PREFIX + secrets.token_hex(4)
        self.secrets = {os.environ[name] for name in SECRET_ENV if os.environ.get(name)}
        self.counter = 0
        self.collections = self._collections_path()
        self.made_policies = False  # set by the policy scenario before its first upload

    def name(self, suffix: str) -> str:
        """A key set name of this run (the service adds B2C_1A_)."""
        return self.run_prefix + suffix

    def id(self, suffix: str) -> str:
        return "B2C_1A_" + self.name(suffix)

    def _collections_path(self) -> str:
        given = os.environ.get("ANSIBLE_COLLECTIONS_PATH")
        if given and any((Path(path) / "ansible_collections" / "entra" / "b2c").exists() for path in given.split(os.pathsep)):
            return given  # a built or installed copy (make test's, or ansible-galaxy's)
        link = self.workdir / "collections" / "ansible_collections" / "entra" / "b2c"
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(REPO_ROOT)
        return str(self.workdir / "collections")

    def module_defaults(self) -> dict:
        """Only endpoint overrides: the credential and the tenant come from the environment, as a user's would."""
        defaults = {}
        for option, variable in (("graph_endpoint", "ENTRA_B2C_LIVE_GRAPH_ENDPOINT"),
                                 ("authority_host", "ENTRA_B2C_LIVE_AUTHORITY_HOST")):
            if os.environ.get(variable):
                defaults[option] = os.environ[variable]
        return defaults

    def playbook(self, tasks: list, check: bool = False, diff: bool = False, extra_vars: dict | None = None) -> Run:
        self.counter += 1
        play = {"name": "live", "hosts": "localhost", "gather_facts": False, "tasks": tasks}
        if self.module_defaults():
            play["module_defaults"] = {"group/entra.b2c.graph": self.module_defaults()}
        path = self.workdir / ("play-%d.yml" % self.counter)
        path.write_text(yaml.safe_dump([play], sort_keys=False), encoding="utf-8")
        results_file = self.workdir / ("results-%d.jsonl" % self.counter)
        argv = [str(Path(sys.executable).parent / "ansible-playbook"), str(path)]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        if extra_vars:
            vars_file = self.workdir / ("vars-%d.json" % self.counter)
            vars_file.write_text(json.dumps(extra_vars), encoding="utf-8")
            argv += ["-e", "@%s" % vars_file]
        env = dict(os.environ)
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": self.collections,
            "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS_DIR),
            "ANSIBLE_CALLBACKS_ENABLED": "record_results",
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_HOME": str(self.workdir / "ansible-home"),
            "E2E_RESULTS_FILE": str(results_file),
        })
        done = subprocess.run(argv, cwd=self.workdir, env=env, capture_output=True, text=True, timeout=600, check=False,
                              stdin=subprocess.DEVNULL)
        recorded = results_file.read_text(encoding="utf-8") if results_file.exists() else ""
        output = done.stdout + done.stderr
        leaked = [len(secret) for secret in self.secrets if len(secret) >= 8 and secret in output + recorded]
        assert not leaked, "a secret (%s chars) reached the output of %s" % (leaked, path.name)
        return Run(done.returncode, output, [json.loads(line) for line in recorded.splitlines() if line])

    def keysets(self) -> list:
        """Every key set of the tenant (b2c_keyset_info)."""
        run = self.playbook([{"name": "info", "entra.b2c.b2c_keyset_info": {}}])
        assert run.rc == 0, run.output[-3000:]
        return run.result("info")["keysets"]

    @property
    def tenant_domain(self) -> str | None:
        """The tenant's domain name (a policy's TenantId): AZURE_TENANT_ID or AZURE_TENANT when it is one, else
        ENTRA_B2C_LIVE_TENANT_DOMAIN."""
        for name in TENANT_ENV:
            value = os.environ.get(name) or ""
            if "." in value:
                return value
        return os.environ.get("ENTRA_B2C_LIVE_TENANT_DOMAIN") or None

    def policies(self, content: bool = False) -> list:
        """Every custom policy of the tenant (b2c_policy_info): ids, with content also base_policy."""
        run = self.playbook([{"name": "info", "entra.b2c.b2c_policy_info": {"content": content}}])
        assert run.rc == 0, run.output[-3000:]
        return run.result("info")["policies"]

    def clean_up_policies(self, prefix: str) -> list:
        """Delete every policy whose id starts with B2C_1A_<prefix>, what inherits first; returns the ids it removed.
        An app without a policy permission has none to remove: that is reported, not failed."""
        try:
            found = [item for item in self.policies(content=True)
                     if item["id"].upper().startswith(("B2C_1A_" + prefix).upper())]
        except AssertionError as exc:
            sys.stderr.write("live suite: the tenant's policies could not be listed, none removed: %s\n"
                             % str(exc).splitlines()[0][:300])
            return []
        # How deep each one inherits within the run's policies (ids compared ignoring case, as B2C does)
        by_id = {item["id"].upper(): item for item in found}
        depth = {}
        for item in found:
            level, base = 0, (item.get("base_policy") or "").upper()
            while base in by_id and level <= len(found):  # the bound stops a cycle
                level, base = level + 1, (by_id[base].get("base_policy") or "").upper()
            depth[item["id"]] = level
        tasks = [{"name": "delete " + policy_id, "entra.b2c.b2c_policy": {"policy": policy_id, "state": "absent"},
                  "ignore_errors": True} for policy_id in sorted(depth, key=lambda name: (-depth[name], name))]
        if tasks:
            self.playbook(tasks)
        return sorted(depth)

    def clean_up(self, prefix: str) -> list:
        """Delete every set whose id starts with B2C_1A_<prefix> and purge its backup; returns the ids it removed."""
        ids = [keyset["id"] for keyset in self.keysets() if keyset["id"].startswith("B2C_1A_" + prefix)]
        live = sorted({keyset_id[:-len(".bak")] if keyset_id.endswith(".bak") else keyset_id for keyset_id in ids})
        tasks = []
        for keyset_id in live:
            if keyset_id in ids:
                tasks.append({"name": "delete " + keyset_id, "entra.b2c.b2c_keyset": {
                    "keyset": keyset_id, "state": "absent", "purge_backup": True}, "ignore_errors": True})
            else:  # only the backup is left (an earlier delete ran, its purge did not)
                tasks.append({"name": "purge " + keyset_id, "entra.b2c.b2c_keyset": {
                    "keyset": keyset_id + ".bak", "state": "absent"}, "ignore_errors": True})
        if tasks:
            self.playbook(tasks)
        return ids


@pytest.fixture(scope="session")
def tenant():
    """The tenant, and the clean-up that runs after the last scenario whatever their outcome."""
    with tempfile.TemporaryDirectory(prefix="entra-b2c-live-") as workdir:
        live = LiveTenant(Path(workdir))
        if os.environ.get("ENTRA_B2C_LIVE_SWEEP") == "1":
            live.clean_up_policies(PREFIX)
            live.clean_up(PREFIX)
        try:
            yield live
        finally:
            # Policies first: they reference the run's key sets.
            if live.made_policies:
                # Listed again only when some were left to delete (the policy scenario deletes its own set).
                policies = [item["id"] for item in live.policies()
                            if item["id"].upper().startswith(("B2C_1A_" + live.run_prefix).upper())
                            ] if live.clean_up_policies(live.run_prefix) else []
                sys.stderr.write("live suite: cleaned up the policies of run %s; left behind: %s\n" % (
                    live.run_prefix, ", ".join(policies) or "nothing"))
            live.clean_up(live.run_prefix)
            left = [keyset["id"] for keyset in live.keysets() if keyset["id"].startswith("B2C_1A_" + live.run_prefix)]
            sys.stderr.write("live suite: cleaned up the sets of run %s; left behind: %s\n" % (
                live.run_prefix, ", ".join(left) or "nothing"))
