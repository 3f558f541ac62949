# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""End-to-end fixtures: the emulator in-process, the real ansible-playbook / ansible CLIs in subprocesses."""

from __future__ import annotations

import hashlib
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

TESTS_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = TESTS_DIR.parent
sys.path.insert(0, str(TESTS_DIR))

from emulator import Emulator  # noqa: E402  pylint: disable=wrong-import-position
from emulator.apps import IEF_APP_PERMISSIONS  # noqa: E402  pylint: disable=wrong-import-position
from emulator.identity import READ_WRITE_ALL  # noqa: E402  pylint: disable=wrong-import-position
from emulator.policies import POLICY_READ_WRITE  # noqa: E402  pylint: disable=wrong-import-position

CALLBACKS_DIR = Path(__file__).resolve().parent / "callback_plugins"
# The app of the custom policy tests, the IEF app registration tests and the whole-tenant role: key sets, policies,
# app registrations and delegated permission grants. The ready app keeps the key set permission only, which is what the
# key set tests expect of it.
TENANT_APP = {"client_id": "7e1a0f52-0b3c-4d6e-9f10-2a3b4c5d6e7f", "client_secret": secrets.token_urlsafe(30),
              "permissions": [READ_WRITE_ALL, POLICY_READ_WRITE, *IEF_APP_PERMISSIONS],
              "display_name": "entra.b2c e2e keys and policies"}


def pytest_configure(config):
    # `pytest -m compat` is the set every ansible-core minor of the matrix runs (noxfile.py, sessions e2e-X).
    config.addinivalue_line("markers", "compat: the end-to-end set run on every supported ansible-core minor: ad hoc, "
                            "module_defaults, check mode with diff, the batch module, the roles, the policy set, worker/module-process parity")


# The files that take longest, longest first (minutes each in `make test`'s JUnit files). The whole suites run on
# pytest-xdist workers with `--dist loadfile --no-loadscope-reorder` (noxfile.py): each file goes whole to the next
# worker that is nearly idle, in collection order. Long files first, so that short ones fill the end and the workers
# finish together, rather than one worker running a long file alone at the end.
LONGEST_FIRST = ("test_bench.py", "test_faults.py", "test_replication.py", "test_role.py", "test_ief_tenant.py",
                 "test_policies.py", "test_bad_input.py", "test_soak.py", "test_keyset_key.py", "test_auth.py",
                 "test_in_process.py", "test_keyset.py", "test_policy.py", "test_live_suite.py")


def pytest_collection_modifyitems(config, items):  # pylint: disable=unused-argument
    """Put the tests of LONGEST_FIRST's files first, in its order; the other files keep theirs (tests/fidelity
    included: this hook sees every item of the session). Within a file the order does not change."""
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items[:] = sorted(items, key=lambda item: rank.get(item.path.name, len(rank)))


def collections_path(tmp_root: Path) -> str:
    """The tree `make test` built, or a symlinked one for a direct pytest run from the repository."""
    given = os.environ.get("ANSIBLE_COLLECTIONS_PATH")
    if given and (Path(given) / "ansible_collections" / "entra" / "b2c").exists():
        return given
    link = tmp_root / "ansible_collections" / "entra" / "b2c"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.exists():
        link.symlink_to(REPO_ROOT)
    return str(tmp_root)


@dataclass
class Run:
    """One CLI run: exit code, screen output and the recorded task results."""

    rc: int
    stdout: str
    stderr: str
    results: list = field(default_factory=list)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def task(self, name: str) -> dict:
        matches = [entry for entry in self.results if entry["task"] == name]
        assert matches, "no result for task %r; tasks seen: %s\n%s" % (
            name, [entry["task"] for entry in self.results], self.output[-3000:])
        return matches[-1]

    def result(self, name: str = "key") -> dict:
        return self.task(name)["result"]


class Ansible:
    """Runs ansible-playbook and ansible against the emulator with the collection on the collections path."""

    def __init__(self, emulator, workdir: Path, collections: str):
        self.emulator = emulator
        self.workdir = workdir
        self.collections = collections
        self.bin_dir = Path(sys.executable).parent
        self.counter = 0
        # Secrets the test itself made (certificate passwords, private keys): scanned for like the emulator's own.
        self.secrets: set = set()
        # E2E_VERBOSITY=3 runs the whole suite at -vvv (the leak scan below then covers Ansible's debug output).
        self.verbosity = int(os.environ.get("E2E_VERBOSITY", "0") or 0)
        # Other emulated tenants of the test (the second_tenant fixture adds its own): their secrets are scanned for too.
        self.other_emulators: list = []

    def connection(self, **overrides) -> dict:
        values = {
            "tenant_id": self.emulator.tenant_id,
            "client_id": self.emulator.client_id,
            "client_secret": self.emulator.client_secret,
            "graph_endpoint": self.emulator.url,
            "authority_host": self.emulator.url,
            "ca_path": self.emulator.ca_path,
        }
        values.update(overrides)
        return {key: value for key, value in values.items() if value is not None}

    def env(self, extra_env=None) -> dict:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("AZURE_", "REQUESTS_CA"))}
        env.update({
            "ANSIBLE_COLLECTIONS_PATH": self.collections,
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACKS_DIR),
            "ANSIBLE_CALLBACKS_ENABLED": "record_results",
            "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "ANSIBLE_HOME": str(self.workdir / "ansible-home"),
            "ANSIBLE_LOCAL_TEMP": str(self.workdir / "ansible-tmp"),
            "PATH": str(self.bin_dir) + os.pathsep + os.environ.get("PATH", ""),
        })
        env.update(extra_env or {})
        return env

    def _execute(self, argv, extra_env=None, timeout=180) -> Run:
        self.counter += 1
        results_file = self.workdir / ("results-%d.jsonl" % self.counter)
        env = self.env(extra_env)
        env["E2E_RESULTS_FILE"] = str(results_file)
        done = subprocess.run(argv, cwd=self.workdir, env=env, capture_output=True, text=True, timeout=timeout,
                              check=False, stdin=subprocess.DEVNULL)
        results = []
        recorded = ""
        if results_file.exists():
            recorded = results_file.read_text(encoding="utf-8")
            results = [json.loads(line) for line in recorded.splitlines() if line]
        self.assert_no_secret_in(done.stdout + done.stderr + recorded)
        return Run(done.returncode, done.stdout, done.stderr, results)

    def assert_no_secret_in(self, text: str) -> None:
        """Every run is scanned for every secret in play: client secrets, tokens, private key parts, passwords."""
        known = set(self.emulator.control.secrets()) | self.secrets
        for other in self.other_emulators:
            known |= set(other.control.secrets())
        leaked = sorted({describe_secret(secret) for secret in known if len(secret) >= 8 and secret in text})
        assert not leaked, "secrets leaked into the output: %s" % ", ".join(leaked)

    def playbook(self, tasks, defaults=None, check=False, diff=False, extra_env=None, verbosity=0,
                 extra_args=(), hosts="localhost", inventory=None, play_extra=None) -> Run:
        """Run one play of `tasks`; `defaults` (the connection by default) goes to module_defaults group/entra.b2c.graph."""
        play = {
            "name": "e2e",
            "hosts": hosts,
            "gather_facts": False,
            "tasks": tasks,
        }
        graph_defaults = self.connection() if defaults is None else defaults
        if graph_defaults:
            play["module_defaults"] = {"group/entra.b2c.graph": graph_defaults}
        play.update(play_extra or {})
        self.counter += 1
        path = self.workdir / ("play-%d.yml" % self.counter)
        path.write_text(yaml.safe_dump([play], sort_keys=False), encoding="utf-8")
        argv = [str(self.bin_dir / "ansible-playbook"), str(path)]
        if inventory:
            argv += ["-i", str(inventory)]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        verbosity = verbosity or self.verbosity
        if verbosity:
            argv.append("-" + "v" * verbosity)
        argv += list(extra_args)
        return self._execute(argv, extra_env)

    def adhoc(self, module_args: str, check=False, diff=False, extra_env=None, module="entra.b2c.b2c_keyset_key",
              verbosity=0) -> Run:
        argv = [str(self.bin_dir / "ansible"), "localhost", "-m", module, "-a", module_args]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        verbosity = verbosity or self.verbosity
        if verbosity:
            argv.append("-" + "v" * verbosity)
        return self._execute(argv, extra_env)


def describe_secret(secret: str) -> str:
    """Name a leaked secret without printing it: its length and a short hash."""
    return "%d chars sha256:%s" % (len(secret), hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12])


def key_task(name="key", **args) -> dict:
    """A b2c_keyset_key task that never aborts the play, so later tasks and assertions still see its result."""
    return {"name": name, "entra.b2c.b2c_keyset_key": args, "ignore_errors": True}


@pytest.fixture(scope="session")
def emulator():
    with tempfile.TemporaryDirectory(prefix="b2c-emulator-") as state_dir:
        emu = Emulator(latency_ms=0, state_dir=state_dir, apps=[TENANT_APP])
        emu.start()
        try:
            yield emu
        finally:
            emu.stop()


# The second tenant of the promotion tests: its own domain, GUID, port, CA and state, beside `emulator`.
SECOND_TENANT_DOMAIN = "emulatorb2ctest.onmicrosoft.com"


@pytest.fixture(scope="session")
def second_emulator():
    """A second emulated B2C tenant, started beside `emulator` (per xdist worker) only by the tests that ask for it.
    Its ready app holds TENANT_APP's permissions under its own client id and secret, as each real tenant has its own
    app registration."""
    with tempfile.TemporaryDirectory(prefix="b2c-emulator-second-") as state_dir:
        emu = Emulator(latency_ms=0, state_dir=state_dir, tenant_domain=SECOND_TENANT_DOMAIN,
                       permissions=list(TENANT_APP["permissions"]))
        emu.start()
        try:
            yield emu
        finally:
            emu.stop()


@pytest.fixture()
def second_tenant(second_emulator, ansible):  # pylint: disable=redefined-outer-name
    """The second tenant, empty, its secrets added to the leak scan of the test's runs."""
    second_emulator.control.reset()
    ansible.other_emulators.append(second_emulator)
    return second_emulator


@pytest.fixture()
def control(emulator):
    emulator.control.reset()
    return emulator.control


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture()
def ansible(emulator, control, session_dir, tmp_path):  # pylint: disable=unused-argument,redefined-outer-name
    return Ansible(emulator, tmp_path, collections_path(session_dir))


def routes(control, method_route=None) -> list:
    """The request log as route names (optionally only one route)."""
    return [entry["route"] for entry in control.requests() if method_route in (None, entry["route"])]


def keyset_keys(control, keyset_id) -> list:
    for keyset in control.state()["keysets"]:
        if keyset["id"] == keyset_id:
            return keyset["keys"]
    return []


@pytest.fixture()
def replication_delay(control):
    """Turn on B2C's replication delay for this test: `replication_delay(3)` makes key operations on a set created
    less than 3 s before answer AADB2C95052 (`error="AADB2C90073"`, `get_fails=True` for the variants). The `control`
    fixture of the next test resets it."""

    def turn_on(seconds: float = 3.0, error: str = "AADB2C95052", get_fails: bool = False) -> dict:
        return control.configure(replication_delay=seconds, replication_error=error, replication_get_fails=get_fails)

    return turn_on
