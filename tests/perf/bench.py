# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The performance benchmark: the collection against a hand-written ansible.builtin.uri playbook, on the emulator.

    python tests/perf/bench.py [--quick] [--out docs/performance.md] [--latency-ms 30] [--rounds 3] [--core-env VENV]

Runs the real ansible-playbook (from this interpreter's bin directory) against the in-process emulator with the given
latency on every request, and writes docs/performance.md. Every request figure is counted from the emulator's request
log of one run; wall times are medians over alternating rounds; memory and imports are recorded per module process by
tests/perf/module_probe.py (ansible_python_interpreter points at a wrapper that runs it). Workload 8, the overhead of a
task above ansible-playbook itself (tests/perf/overhead.py), and workload 9, the whole tenant with nothing to change
against the same floor (tests/perf/tenant_floor.py), also run in each environment given with --core-env
(scripts/bench.sh gives the oldest ansible-core's). Workload 10, exporting the tenant workload 7 deploys, and the round
trip from the export, is tests/perf/tenant_export.py. See docs/performance.md for the method and tests/e2e/test_bench.py
for the quick check in the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

PERF_DIR = Path(__file__).resolve().parent
REPO_ROOT = PERF_DIR.parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests"))
sys.path.insert(0, str(PERF_DIR))

from emulator import Emulator  # noqa: E402  pylint: disable=wrong-import-position
from emulator.apps import IEF_APP_PERMISSIONS  # noqa: E402  pylint: disable=wrong-import-position
from emulator.identity import READ_WRITE_ALL  # noqa: E402  pylint: disable=wrong-import-position
from emulator.policies import POLICY_READ_WRITE  # noqa: E402  pylint: disable=wrong-import-position

import overhead  # noqa: E402  pylint: disable=wrong-import-position
import report  # noqa: E402  pylint: disable=wrong-import-position
import tenant_export  # noqa: E402  pylint: disable=wrong-import-position
import tenant_floor  # noqa: E402  pylint: disable=wrong-import-position

PLAYBOOKS = PERF_DIR / "playbooks"
POLICY_SET = REPO_ROOT / "tests" / "policies" / "basic"
STARTER_SET = REPO_ROOT / "tests" / "policies" / "LocalAccounts"  # workload 7: a starter pack, placeholders untouched
STARTER_POLICIES = 6  # its policies: Base, Localization, Extensions and 3 relying parties
STARTER_KEYSETS = 2  # the role's default key sets: TokenSigningKeyContainer, TokenEncryptionKeyContainer
STARTER_RELYING_PARTIES = 3  # the policies above the Extensions policy (what reupload_dependents uploads with it)
DAY = 86400
POLICY_COUNT = 10  # the custom policy set of workload 6
# The app of the custom policy workload: key sets and policies (the emulator's ready app holds the key set permission).
POLICY_APP = {"client_id": "5b0c6f1e-8d4a-4f3b-9a2e-6c7d8e9f0a1b", "permissions": [READ_WRITE_ALL, POLICY_READ_WRITE],
              "display_name": "entra.b2c bench keys and policies"}
# The app of the whole-tenant workload: key sets, policies, and the IEF app registrations with their grants.
TENANT_APP = {"client_id": "0c4f2a6e-3d5b-4e7f-8a9b-1c2d3e4f5a6b",
              "permissions": [READ_WRITE_ALL, POLICY_READ_WRITE, *IEF_APP_PERMISSIONS],
              "display_name": "entra.b2c bench whole tenant"}

# The states of the workloads on the whole-tenant app whose tenant _tenant_state sets before each run: 7, 9 (whose
# role runs find the tenant as workload 7's t2 does) and 10 (which exports that tenant).
TENANT_STATES = ("tenant", tenant_floor.STATE, tenant_export.STATE)

# Environment variables that would change what a run measures: credentials, CA overrides, and any Ansible setting
# of the caller's shell (pipelining, callbacks, ...). The benchmark runs Ansible's defaults. PYTHONDONTWRITEBYTECODE
# too: without the .pyc cache every run compiles the collection's code (and an environment's that was installed without
# .pyc files) from source again, which a user's runs after the first never do.
SCRUBBED_PREFIXES = ("AZURE_", "ANSIBLE_", "REQUESTS_CA", "CURL_CA", "ENTRA_B2C_", "PYTHONPROFILEIMPORTTIME", "B2C_BENCH_",
                     "PYTHONDONTWRITEBYTECODE")


@dataclass
class Variant:
    key: str
    label: str
    playbook: str
    token_cache: bool = False
    module: Optional[str] = None  # the collection module it runs (None: DIY and the floor)
    in_worker: bool = False  # the default: the action plugin runs the module in Ansible's worker process
    # policy workload: the tenant before each run ("": the workload's, every policy in place; "empty": no policy;
    # "base_changed": the Extensions policy differs), the uploads the run must make, and extra variables for the play.
    # Whole-tenant workload: "empty" is a reset tenant (no key set, app or policy), "deployed" one where a run of the
    # role went through, "edited" the same after one edit to the Extensions file.
    tenant: str = ""
    puts: Optional[int] = None
    extra_vars: tuple = ()
    # workload 8 (task overhead): the ansible-core minor whose environment runs it (this interpreter's, or one given
    # with --core-env), and the number of b2c_keyset_key tasks of its generated play (workdir/overhead-N.yml; 0: the
    # floor, one debug task)
    core: str = ""
    tasks: Optional[int] = None
    # workload 9: a file of extra variables in the scratch directory (-e @file); its playbook may be the collection's,
    # by its name (no .yml)
    vars_file: str = ""
    # workload 10's round trip: the directory of the scratch directory the run starts in (the exported repository),
    # and its file of extra variables, given before vars_file (so the connection of vars_file is the one used)
    cwd: str = ""
    cwd_vars_file: str = ""

    @property
    def forced_module_process(self) -> bool:
        """One of ours, made to run as a module process (ENTRA_B2C_IN_PROCESS=false) for comparison."""
        return self.module is not None and not self.in_worker


DIY = Variant("diy", "DIY: uri token + uri GET loop + conditional uri POST", "diy.yml")
LOOP = Variant("a", "b2c_keyset_key in a loop, no token cache, module process", "keyset_key.yml",
               module="b2c_keyset_key")
LOOP_CACHED = Variant("b", "b2c_keyset_key in a loop, token cache, module process", "keyset_key.yml", token_cache=True,
                      module="b2c_keyset_key")
BATCH = Variant("c", "b2c_keyset_key_batch (one task), token cache, module process", "keyset_key_batch.yml",
                token_cache=True, module="b2c_keyset_key_batch")
WORKER_LOOP = Variant("d", "b2c_keyset_key in a loop, token cache, in the worker", "keyset_key.yml", token_cache=True,
                      module="b2c_keyset_key", in_worker=True)
WORKER_BATCH = Variant("e", "b2c_keyset_key_batch (one task), token cache, in the worker", "keyset_key_batch.yml",
                       token_cache=True, module="b2c_keyset_key_batch", in_worker=True)
INFO = Variant("info", "b2c_keyset_info, no token cache", "keyset_info.yml", module="b2c_keyset_info")
INFO_CACHED = Variant("info-cached", "b2c_keyset_info, token cache", "keyset_info.yml", token_cache=True, module="b2c_keyset_info")
FLOOR = Variant("floor", "floor: ansible-playbook with no module process", "floor.yml")
DIY_POLICIES = Variant("diy", "DIY: uri token + a uri PUT of every policy file, bases first", "diy_policies.yml")
POLICIES = Variant("p", "b2c_policies (one task), no token cache, module process", "policies.yml",
                   module="b2c_policies")
WORKER_POLICIES = Variant("q", "b2c_policies (one task), no token cache, in the worker", "policies.yml",
                          module="b2c_policies", in_worker=True)
FIRST_SEQUENTIAL = Variant("s", "first deploy into an empty tenant, uploads one at a time (the default), in the worker",
                           "policies.yml", module="b2c_policies", in_worker=True, tenant="empty", puts=POLICY_COUNT)
FIRST_PARALLEL = Variant("s4", "first deploy into an empty tenant, parallel_uploads 4 (opt-in, unproven), in the worker",
                         "policies.yml", module="b2c_policies", in_worker=True, tenant="empty", puts=POLICY_COUNT,
                         extra_vars=(("bench_parallel_uploads", "4"),))
# The Extensions policy changed: with reupload_dependents (the default) it and the 7 relying parties above it.
BASE_CHANGED = Variant("r", "Extensions changed, reupload_dependents (the default), in the worker", "policies.yml",
                       module="b2c_policies", in_worker=True, tenant="base_changed", puts=POLICY_COUNT - 2)
BASE_CHANGED_ALONE = Variant("r0", "Extensions changed, reupload_dependents false, in the worker", "policies.yml",
                             module="b2c_policies", in_worker=True, tenant="base_changed", puts=1,
                             extra_vars=(("bench_reupload_dependents", "false"),))
# Workload 7: the entra.b2c.ief_tenant role over our LocalAccounts-shaped set, placeholders as the pack ships them.
TENANT_FIRST = Variant("t1", "first run into an empty tenant: key sets, IEF apps, policies", "ief_tenant.yml",
                       module="b2c_ief_apps", in_worker=True, tenant="empty", puts=STARTER_POLICIES)
TENANT_AGAIN = Variant("t2", "second run, nothing to change", "ief_tenant.yml", module="b2c_ief_apps", in_worker=True,
                       tenant="deployed", puts=0)
TENANT_EDITED = Variant("t3", "one file edited (Extensions), reupload_dependents (the default)", "ief_tenant.yml",
                        module="b2c_ief_apps", in_worker=True, tenant="edited", puts=1 + STARTER_RELYING_PARTIES)
# Workload 10's untimed runs after the rounds: the same export again (the last timed export's directory kept), and the
# role run from that repository as its ief_tenant.yml says, with the workload's connection.
EXPORT_AGAIN = Variant(tenant_export.AGAIN, "b2c_tenant_export into the same directory again", tenant_export.PLAYBOOK,
                       in_worker=True, tenant="deployed", vars_file=tenant_export.VARS_FILE)
EXPORT_ROUND_TRIP = Variant(tenant_export.ROUND_TRIP, "%s run from the export" % tenant_export.ROUND_TRIP_PLAYBOOK,
                            tenant_export.ROUND_TRIP_PLAYBOOK, in_worker=True, tenant="deployed",
                            vars_file=tenant_export.VARS_FILE, cwd=tenant_export.DEST,
                            cwd_vars_file=tenant_export.REPOSITORY_VARS)
RECOMMENDED = ("e", "c", "b")  # the first of these a workload measures is its recommended path


@dataclass
class Workload:
    number: int
    title: str
    hosts: dict  # host name -> list of {keyset, use}
    state: str  # "valid": nothing to change; "expired": every set needs a key; "info": sets for the info module
    variants: list
    forks: int = 5
    info_keysets: int = 0
    policies: int = 0  # "policies": the size of the custom policy set, all in the tenant already; "tenant": of the pack

    @property
    def keysets(self) -> int:
        return sum(len(items) for items in self.hosts.values()) or self.info_keysets

    @property
    def units(self) -> int:
        """What the per-unit figures divide by: the policies of a policy workload, else the key sets."""
        return self.policies or self.keysets

    @property
    def expected_generates(self) -> int:
        return self.keysets if self.state == "expired" else 0


@dataclass
class RunResult:
    variant: str
    wall_s: float
    routes: Counter
    probes: list
    graph_ms: float
    output: str = ""
    probe_dir: Optional[Path] = None
    http_errors: int = 0  # answers with status >= 400 (none expected: every key set of a workload exists)
    error_routes: Counter = field(default_factory=Counter)  # those answers by route
    methods: Counter = field(default_factory=Counter)  # the Graph requests (no token, discovery) by HTTP method

    @property
    def module_processes(self) -> int:
        return len(self.probes)


@dataclass
class Measured:
    workload: Workload
    runs: dict = field(default_factory=dict)  # variant key -> [RunResult]
    labels: dict = field(default_factory=dict)  # variant key -> label


def build_workloads(quick: bool, cores: tuple = ("",)) -> list:
    sets = 4 if quick else 20
    tenants = 4 if quick else 50
    forks = 2 if quick else 10
    loop_variants = [LOOP, DIY, LOOP_CACHED, BATCH, WORKER_LOOP, WORKER_BATCH]

    def bench_sets(prefix, count):
        return [{"keyset": "%s%02d" % (prefix, index), "use": "sig" if index % 2 else "enc"} for index in range(1, count + 1)]

    starter = [("TokenSigningKeyContainer", "sig"), ("TokenEncryptionKeyContainer", "enc")]
    return [
        Workload(1, "one task, nothing to change", {"tenant": bench_sets("One", 1)}, "valid", loop_variants),
        Workload(2, "a play over %d key sets, nothing to change" % sets, {"tenant": bench_sets("Steady", sets)}, "valid",
                 loop_variants),
        Workload(3, "a play over %d key sets, every set needs a new key" % sets, {"tenant": bench_sets("Renew", sets)},
                 "expired", loop_variants),
        Workload(4, "%d tenants as inventory hosts, forks %d, the two starter-pack sets each, nothing to change" % (tenants, forks),
                 {"T%02d" % index: [{"keyset": "T%02d_%s" % (index, name), "use": use} for name, use in starter]
                  for index in range(tenants)}, "valid", loop_variants, forks=forks),
        Workload(5, "b2c_keyset_info over a tenant with 100 key sets", {}, "info", [INFO, INFO_CACHED], info_keysets=100),
        Workload(6, "a set of %d custom policies, nothing to change" % POLICY_COUNT, {"tenant": []}, "policies",
                 [DIY_POLICIES, POLICIES, WORKER_POLICIES, FIRST_SEQUENTIAL, FIRST_PARALLEL, BASE_CHANGED,
                  BASE_CHANGED_ALONE], policies=POLICY_COUNT),
        Workload(7, "the whole tenant with the ief_tenant role: the LocalAccounts starter pack, its key sets and IEF "
                    "apps", {"tenant": []}, "tenant", [TENANT_FIRST, TENANT_AGAIN, TENANT_EDITED],
                 policies=STARTER_POLICIES),
        Workload(overhead.WORKLOAD, "task overhead: one no-change task and %d separate tasks against the "
                                    "`ansible-playbook` floor, per ansible-core" % overhead.TASKS,
                 {"tenant": bench_sets("Task", overhead.TASKS)}, "overhead",
                 [Variant(key, label, playbook, token_cache=True, module="b2c_keyset_key", in_worker=True, core=core,
                          tasks=tasks) for core in cores for key, label, playbook, tasks in overhead.variants(core)]),
        Workload(tenant_floor.WORKLOAD, "the whole tenant with nothing to change: `ansible-playbook %s` against the "
                                        "`ansible-playbook` floor, per ansible-core" % tenant_floor.PLAYBOOK,
                 {"tenant": []}, tenant_floor.STATE,
                 [Variant(key, label, playbook, in_worker=True, tenant="" if tenant_floor.is_floor(key) else "deployed",
                          core=core, vars_file=tenant_floor.VARS_FILE)
                  for core in cores for key, label, playbook in tenant_floor.variants(core)], policies=STARTER_POLICIES),
        Workload(tenant_export.WORKLOAD, "exporting a %d-policy tenant: one `b2c_tenant_export` task against the "
                                         "`ansible-playbook` floor" % STARTER_POLICIES,
                 {"tenant": []}, tenant_export.STATE,
                 [Variant(key, label, playbook, in_worker=True, tenant=tenant, vars_file=tenant_export.VARS_FILE)
                  for key, label, playbook, tenant in tenant_export.variants()], policies=STARTER_POLICIES),
    ]


def policy_files(directory: Path, tenant: str) -> list:
    """The test set of tests/policies/basic rendered for the tenant, plus relying parties up to POLICY_COUNT, written
    to `directory`; returns [{id, path}] in an order that uploads bases first (what DIY's list must spell out)."""
    directory.mkdir(parents=True, exist_ok=True)
    order = [("TrustFrameworkBase", "B2C_1A_Basic_Base"), ("TrustFrameworkLocalization", "B2C_1A_Basic_Localization"),
             ("TrustFrameworkExtensions", "B2C_1A_Basic_Extensions"), ("SignIn", "B2C_1A_Basic_SignIn"),
             ("SignInForApi", "B2C_1A_Basic_SignInForApi")]
    texts = {name: (POLICY_SET / (name + ".xml")).read_text(encoding="utf-8").replace("{{ b2c_tenant }}", tenant)
             for name, _policy_id in order}
    for index in range(POLICY_COUNT - len(order)):
        name, policy_id = "SignIn%d" % index, "B2C_1A_Basic_SignIn%d" % index
        texts[name] = texts["SignIn"].replace("B2C_1A_Basic_SignIn", policy_id)
        order.append((name, policy_id))
    files = []
    for name, policy_id in order:
        path = directory / (name + ".xml")
        path.write_text(texts[name], encoding="utf-8")
        files.append({"id": policy_id, "path": str(path)})
    return files


class Bench:
    def __init__(self, args):
        self.args = args
        self.workdir = Path(args.workdir).resolve()
        self.bin_dir = Path(sys.executable).parent
        self.emulator = None
        self.control = None
        self.public_rsa: dict = {}
        self.counter = 0
        self.log = args.log
        self.collections = ""
        self.wrapper = self.workdir / "python-probe"  # ansible_python_interpreter: runs modules through the probe
        self.token_cache = self.workdir / "cache" / "tokens.json"
        self.ansible_cfg = self.workdir / "ansible.cfg"
        self.env: dict = {}
        self.policy_app = dict(POLICY_APP, client_secret=secrets.token_urlsafe(30))
        self.policy_files: list = []
        self.tenant_app = dict(TENANT_APP, client_secret=secrets.token_urlsafe(30))
        self.tenant_policy_dir = self.workdir / "ief-policies"  # a copy of the starter pack that t3 edits
        self.overhead_extra: dict = {}  # workload 8's probe runs (overhead.probe_runs)
        self.tenant_floor_extra: dict = {}  # workload 9's requests by method and tasks (tenant_floor.figures)
        self.tenant_export_extra: dict = {}  # workload 10's second export and round trip (tenant_export.figures)
        # workload 8 on more than one ansible-core: the bin directory of each environment (--core-env), by minor
        self.core_bins = {core: Path(venv).resolve() / "bin" for core, venv in getattr(args, "core_envs", {}).items()}

    # -- set-up ------------------------------------------------------------------------------------------------------

    def prepare(self) -> None:
        marker = self.workdir / ".entra-b2c-bench"
        if self.workdir.exists() and any(self.workdir.iterdir()) and not marker.exists():
            raise SystemExit("--workdir %s is not empty and was not made by this benchmark: give another one" % self.workdir)
        shutil.rmtree(self.workdir, ignore_errors=True)
        for sub in ("probes", "tmp", "home", "cache"):
            (self.workdir / sub).mkdir(parents=True, mode=0o700)  # cache: the token cache wants a private directory
        marker.touch()
        self.collections = self._collections_path()
        self.wrapper.write_text(
            "#!/bin/sh\n"
            "# Written by tests/perf/bench.py: run each module process through tests/perf/module_probe.py.\n"
            'if [ -n "${B2C_BENCH_IMPORTTIME:-}" ]; then\n'
            '    exec %(python)s -X importtime %(probe)s "$@"\n'
            "fi\n"
            'exec %(python)s %(probe)s "$@"\n' % {"python": _shell_quote(sys.executable),
                                                  "probe": _shell_quote(str(PERF_DIR / "module_probe.py"))},
            encoding="utf-8")
        self.wrapper.chmod(0o755)
        overhead.write_playbooks(self.workdir)
        # An empty configuration: Ansible's defaults, whatever ansible.cfg the caller's directories hold.
        self.ansible_cfg.write_text("[defaults]\n", encoding="utf-8")
        self.env = {key: value for key, value in os.environ.items() if not key.startswith(SCRUBBED_PREFIXES)}
        self.env.update({
            "ANSIBLE_COLLECTIONS_PATH": self.collections,
            "ANSIBLE_HOME": str(self.workdir / "home"),
            "ANSIBLE_LOCAL_TEMP": str(self.workdir / "tmp"),
            "ANSIBLE_REMOTE_TMP": str(self.workdir / "tmp"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "ANSIBLE_CONFIG": str(self.ansible_cfg),
            "PATH": str(self.bin_dir) + os.pathsep + os.environ.get("PATH", ""),
        })

    def _collections_path(self) -> str:
        given = os.environ.get("ANSIBLE_COLLECTIONS_PATH", "")
        for entry in given.split(os.pathsep):
            # a source tree has galaxy.yml, an installed tarball MANIFEST.json
            collection = Path(entry) / "ansible_collections" / "entra" / "b2c"
            if entry and any((collection / name).exists() for name in ("galaxy.yml", "MANIFEST.json")):
                return entry
        root = self.workdir / "collections"
        link = root / "ansible_collections" / "entra" / "b2c"
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO_ROOT)
        return str(root)

    def start_emulator(self) -> None:
        self.emulator = Emulator(latency_ms=self.args.latency_ms, state_dir=str(self.workdir / "emulator"),
                                 apps=[self.policy_app, self.tenant_app])
        self.emulator.start()
        self.control = self.emulator.control
        self.policy_files = policy_files(self.workdir / "policies", self.emulator.tenant_domain)
        self.tenant_policy_dir.mkdir()
        for source in sorted(STARTER_SET.glob("*.xml")):
            shutil.copyfile(source, self.tenant_policy_dir / source.name)
        tenant_floor.write_vars(self.workdir, self.emulator, self.tenant_app, self.tenant_policy_dir)
        tenant_export.write_vars(self.workdir)
        # One RSA public key for every seeded key: responses are realistic in size without generating 200 keys.
        seeded = self.control.seed([{"id": "B2C_1A_BenchTemplate", "keys": [{"use": "sig", "kty": "RSA"}]}])
        self.public_rsa = {name: seeded[0]["keys"][0][name] for name in ("n", "e")}
        self.control.reset()

    def stop_emulator(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()

    # -- state ---------------------------------------------------------------------------------------------------------

    def seed(self, workload: Workload) -> None:
        self.control.reset()
        now = int(time.time())
        keysets = []
        if workload.state == "policies":
            keysets = [{"id": "B2C_1A_TokenSigningKeyContainer", "keys": [self._key("sig", now - 65 * DAY, now + 300 * DAY)]},
                       {"id": "B2C_1A_TokenEncryptionKeyContainer", "keys": [self._key("enc", now - 65 * DAY, now + 300 * DAY)]}]
            self.control.seed_policies([{"content": text} for text in self._policy_texts()])
        elif workload.state in TENANT_STATES:
            pass  # an empty tenant: the role's first run creates everything (see _tenant_state)
        elif workload.state == "info":
            for index in range(1, workload.info_keysets + 1):
                keysets.append({"id": "B2C_1A_Audit%03d" % index, "keys": [
                    self._key("sig", now - 400 * DAY, now - 35 * DAY),
                    self._key("sig", now - 35 * DAY, now + 330 * DAY)]})
        else:
            expires = now - DAY if workload.state == "expired" else now + 300 * DAY
            for items in workload.hosts.values():
                for item in items:
                    keysets.append({"id": "B2C_1A_" + item["keyset"],
                                    "keys": [self._key(item["use"], now - 65 * DAY, expires)]})
        for start in range(0, len(keysets), 50):
            self.control.seed(keysets[start:start + 50])
        self.control.clear_requests()

    def _policy_texts(self) -> list:
        """The policy files in upload order (Base, Localization, Extensions, then the relying parties)."""
        return [Path(item["path"]).read_text(encoding="utf-8") for item in self.policy_files]

    def _key(self, use: str, nbf: int, exp: int) -> dict:
        return dict(self.public_rsa, use=use, kty="RSA", nbf=nbf, exp=exp)

    def inventory(self, workload: Workload) -> Path:
        emu = self.emulator
        hosts = workload.hosts or {"tenant": []}
        app = self.policy_app if workload.state == "policies" else {"client_id": emu.client_id,
                                                                    "client_secret": emu.client_secret}
        if workload.state in TENANT_STATES:
            app = self.tenant_app
        data = {"all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": str(self.wrapper),
                "bench_graph_url": emu.url,
                "bench_authority_url": emu.url,
                "bench_tenant_id": emu.tenant_id,
                "bench_client_id": app["client_id"],
                "bench_client_secret": app["client_secret"],
                "bench_ca_path": emu.ca_path,
                "bench_expected_keysets": workload.info_keysets,
                "bench_policies": self.policy_files,
                "bench_policy_dir": str(self.workdir / "policies"),
                "bench_tenant_domain": emu.tenant_domain,
                "bench_tenant_policy_dir": str(self.tenant_policy_dir),
            },
            "hosts": {name: {"bench_keysets": items} for name, items in hosts.items()},
        }}
        path = self.workdir / ("inventory-%d.json" % workload.number)
        path.write_text(json.dumps(data, indent=1), encoding="utf-8")
        path.chmod(0o600)  # holds the emulator app's secret
        return path

    # -- running -------------------------------------------------------------------------------------------------------

    def run(self, workload: Workload, variant: Variant, inventory: Path, profile: bool = False,
            importtime: bool = False, keep_payload: bool = False, probe: bool = True,
            extra_env: Optional[dict] = None) -> RunResult:
        """One ansible-playbook run; with probe, every module process runs through module_probe.py."""
        if workload.state == "expired":
            self.seed(workload)
        if workload.state in TENANT_STATES:
            self._tenant_state(workload, variant, inventory)
            if workload.state == tenant_export.STATE:
                tenant_export.before_run(self.workdir, variant.key)
        elif variant.tenant == "empty":
            self.control.clear_policies()
        elif variant.tenant:  # base_changed: every policy in place, the Extensions policy as it was before an edit
            texts = self._policy_texts()
            self.control.seed_policies([{"content": text} for text in texts])
            self.control.seed_policies([{"content": texts[2].replace(">3600<", ">1800<")}])
        self.control.clear_requests()
        self.counter += 1
        probe_dir = self.workdir / "probes" / ("%03d-w%d-%s" % (self.counter, workload.number, variant.key))
        probe_dir.mkdir()
        env = dict(self.env, B2C_BENCH_PROBE_DIR=str(probe_dir))
        if variant.forced_module_process:
            env["ENTRA_B2C_IN_PROCESS"] = "false"
        if profile:
            env["B2C_BENCH_PROFILE"] = "1"
        if importtime:
            env["B2C_BENCH_IMPORTTIME"] = "1"
        if keep_payload:  # the AnsiballZ scripts stay in probe_dir/remote for report.payload_compile
            env.update(ANSIBLE_KEEP_REMOTE_FILES="1", ANSIBLE_REMOTE_TMP=str(probe_dir / "remote"))
        bin_dir = self.core_bins.get(variant.core, self.bin_dir)
        if bin_dir != self.bin_dir:
            env["PATH"] = str(bin_dir) + os.pathsep + env["PATH"]
        env.update(extra_env or {})
        if variant.tasks is not None:  # workload 8's, generated
            playbook = str(self.workdir / variant.playbook)
        elif variant.playbook.endswith(".yml"):
            playbook = str(PLAYBOOKS / variant.playbook)
        else:  # the collection's, by its name
            playbook = variant.playbook
        argv = [str(bin_dir / "ansible-playbook"), playbook, "-i", str(inventory), "--forks", str(workload.forks)]
        if variant.cwd_vars_file:  # relative to the run's directory, as its user gives it
            argv += ["-e", "@%s" % variant.cwd_vars_file]
        if variant.vars_file:
            argv += ["-e", "@%s" % (self.workdir / variant.vars_file)]
        if variant.token_cache:
            argv += ["-e", "bench_token_cache=%s" % self.token_cache]
        for name, value in variant.extra_vars:
            argv += ["-e", "%s=%s" % (name, value)]
        if variant.in_worker or not probe:
            # The controller's own Python, as on a default localhost (the probe's wrapper would be another interpreter,
            # which makes the action plugins fall back to a module process).
            argv += ["-e", "ansible_python_interpreter={{ ansible_playbook_python }}"]
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=self.workdir / variant.cwd, env=env, capture_output=True, text=True, check=False,
                              stdin=subprocess.DEVNULL, timeout=900)
        wall = time.perf_counter() - started
        requests = self.control.requests()
        output = done.stdout + done.stderr
        if done.returncode != 0:
            raise RuntimeError("workload %d, %s: ansible-playbook exited %d\n%s" % (
                workload.number, variant.label, done.returncode, output[-4000:]))
        probes = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(probe_dir.glob("*.json"))]
        result = RunResult(variant.key, wall, Counter(entry["route"] for entry in requests), probes,
                           sum(entry.get("duration_ms") or 0 for entry in requests), output, probe_dir,
                           sum(1 for entry in requests if (entry.get("status") or 0) >= 400),
                           Counter("%s %s" % (entry["route"], entry.get("status"))
                                   for entry in requests if (entry.get("status") or 0) >= 400),
                           Counter(entry.get("method") for entry in requests if entry["route"] not in report.TOKEN_ROUTES))
        self._check(workload, variant, result)
        return result

    def _tenant_state(self, workload: Workload, variant: Variant, inventory: Path) -> None:
        """The whole-tenant workload's tenant before a run: reset to empty (t1); as the role left it (t2; an untimed
        first run when the tenant is empty); that, with the Extensions file edited since (t3: its token lifetime
        toggles between 3600 and 1800 s, so each t3 run finds exactly one edited file)."""
        if variant.tenant == "empty":
            self.control.reset()  # no key set, app registration, grant or policy (the apps of start-up stay)
            return
        if not self.control.policies():
            self.run(workload, TENANT_FIRST, inventory, probe=False)
        if variant.tenant == "edited":
            path = self.tenant_policy_dir / "TrustFrameworkExtensions.xml"
            text = path.read_text(encoding="utf-8")
            old, new = ("\">3600<", "\">1800<") if "\">3600<" in text else ("\">1800<", "\">3600<")
            edited = text.replace('"token_lifetime_secs' + old, '"token_lifetime_secs' + new)
            if edited == text:
                raise RuntimeError("%s: no token_lifetime_secs item to edit" % path)
            path.write_text(edited, encoding="utf-8")

    @staticmethod
    def _check(workload: Workload, variant: Variant, result: RunResult) -> None:
        """Fail loudly when a run did not do the work it stands for (a benchmark of a broken playbook means nothing)."""
        problems = []
        if variant.key == "floor" or variant.tasks == 0:
            return
        if workload.state in (tenant_floor.STATE, tenant_export.STATE) and variant.tenant == "empty":
            return  # workload 9's or 10's set-up, workload 7's first run: what it writes is workload 7's to check
        if workload.state == "overhead" and result.routes != Counter({"keysets.get": variant.tasks}):
            problems.append("requests %s, expected keysets.get %d (no token request: the cache is warm)" % (
                report.route_text(result.routes), variant.tasks))
        generated = result.routes.get("keys.generate", 0)
        if workload.state not in TENANT_STATES and generated != workload.expected_generates:  # see tenant_problems
            problems.append("%d keys.generate, expected %d" % (generated, workload.expected_generates))
        if workload.state == "tenant":
            problems.extend(tenant_problems(variant, result.routes))
        if workload.state == tenant_floor.STATE:
            problems.extend(tenant_floor.problems(variant.key, result.routes, report.writes(result.routes)))
        if workload.state == tenant_export.STATE:
            problems.extend(tenant_export.problems(variant.key, result.routes, report.writes(result.routes),
                                                   result.output))
        if workload.state == "policies":
            # DIY uploads every file on every run; ours reads them and uploads none: the set is unchanged.
            uploads = result.routes.get("policies.put", 0)
            expected = workload.policies if variant.key == "diy" else variant.puts or 0
            if uploads != expected:
                problems.append("%d policies.put, expected %d" % (uploads, expected))
        errors = result.http_errors
        if workload.state == "tenant" and variant.tenant == "empty":
            # an empty tenant answers with not found, and nothing else: the read of each key set the role ensures
            # (AADB2C90073), in the plan and again under its lock before its key is added, and each IEF app's
            # look-up by its uniqueName, in the plan (the apply replays it)
            missing = {prefix: sum(count for route, count in result.error_routes.items() if route.startswith(prefix))
                       for prefix in ("keysets.get ", "applications.byUniqueName.get ")}
            if missing == {"keysets.get ": 2 * STARTER_KEYSETS, "applications.byUniqueName.get ": 2} and errors == sum(
                    missing.values()):
                errors = 0
        if errors:
            problems.append("%d answers with an HTTP error status: %s" % (errors, report.route_text(result.error_routes)))
        if problems:
            raise RuntimeError("workload %d, %s: %s\n%s" % (
                workload.number, variant.label, "; ".join(problems), result.output[-3000:]))

    def say(self, text: str) -> None:
        if self.log:
            print(text, file=sys.stderr, flush=True)

    # -- the whole benchmark ---------------------------------------------------------------------------------------

    def selected(self, workloads: list) -> list:
        return [workload for workload in workloads if not self.args.only or workload.number in self.args.only]

    def warm_up(self, workloads: list) -> None:
        """Untimed runs on workload 1: fill the token cache the cached variants rely on, warm the file caches."""
        one = workloads[0]
        self.seed(one)
        inventory = self.inventory(one)
        for variant in one.variants if not self.args.quick else [LOOP_CACHED]:
            self.say("warm-up: %s" % variant.label)
            self.run(one, variant, inventory)

    def measure(self, workloads: list) -> list:
        measured = []
        for workload in self.selected(workloads) if self.args.rounds > 0 else []:
            result = Measured(workload)
            variants = list(workload.variants)
            if workload.number == 1 and not self.args.quick:
                variants.append(FLOOR)
            result.labels = {variant.key: variant.label for variant in workload.variants + variants}
            self.seed(workload)
            inventory = self.inventory(workload)
            # One untimed run each: another environment's first run compiles .pyc (the first run of workloads 9 and 10
            # also deploys the tenant, untimed, see _tenant_state).
            if workload.state in ("overhead", tenant_floor.STATE, tenant_export.STATE):
                for variant in variants:
                    if not self.args.quick or variant.core in self.core_bins:
                        self.run(workload, variant, inventory, probe=False)
            for round_index in range(self.args.rounds):
                shift = round_index % len(variants)
                for variant in variants[shift:] + variants[:shift]:
                    run = self.run(workload, variant, inventory, probe=False)
                    result.runs.setdefault(variant.key, []).append(run)
                    self.say("workload %d round %d %-62s %6.2f s  %s" % (
                        workload.number, round_index + 1, variant.label, run.wall_s, dict(sorted(run.routes.items()))))
            if workload.state == "overhead":
                self.overhead_extra = overhead.probe_runs(self, workload, variants, inventory)
            if workload.state == tenant_floor.STATE:
                self.tenant_floor_extra = tenant_floor.figures(result)
            if workload.state == tenant_export.STATE:
                # untimed, into the last timed export's directory: each run is checked (_check) as it ends
                again = self.run(workload, EXPORT_AGAIN, inventory, probe=False)
                round_trip = self.run(workload, EXPORT_ROUND_TRIP, inventory, probe=False)
                self.say("workload %d, untimed: %s %s; %s %s" % (
                    workload.number, EXPORT_AGAIN.label, dict(sorted(again.routes.items())), EXPORT_ROUND_TRIP.label,
                    dict(sorted(round_trip.routes.items()))))
                self.tenant_export_extra = tenant_export.figures(result, again, round_trip,
                                                                 self.workdir / tenant_export.DEST)
            # The per-process figures come from one more, untimed run whose module processes run through the probe.
            for variant in variants:
                if variant.in_worker:  # no module process to probe: its runs already say so (probes [])
                    continue
                probed = self.run(workload, variant, inventory)
                for run in result.runs[variant.key]:
                    run.probes, run.probe_dir = probed.probes, probed.probe_dir
            measured.append(result)
        return measured

    def profile(self, workloads: list) -> dict:
        """Workload 2 under cProfile (module processes only), and the import time of workload 1's module processes."""
        numbers = [workload.number for workload in self.selected(workloads)]
        profiles, imports, payloads = {}, {}, {}
        if 2 in numbers:
            steady = workloads[1]
            self.seed(steady)
            inventory = self.inventory(steady)
            for variant in (LOOP, BATCH):
                self.say("profile: workload 2, %s" % variant.label)
                profiles[variant.key] = report.load_profile(self.run(steady, variant, inventory, profile=True).probe_dir)
        if 1 in numbers:
            one = workloads[0]
            self.seed(one)
            inventory = self.inventory(one)
            for variant in (LOOP, LOOP_CACHED, BATCH, DIY):
                self.say("import time: workload 1, %s" % variant.label)
                samples = []
                for sample in range(self.args.import_samples):
                    run = self.run(one, variant, inventory, importtime=True, keep_payload=sample == 0)
                    samples.append(report.load_imports(run.probe_dir))
                    for script in sorted((run.probe_dir / "remote").glob("*/AnsiballZ_*.py")):
                        payloads.setdefault(script.stem.replace("AnsiballZ_", ""), report.payload_compile(script))
                imports[variant.key] = report.median_imports(samples)
        return {"profiles": profiles, "imports": imports, "payloads": payloads}


def tenant_problems(variant: Variant, routes: Counter) -> list:
    """What a whole-tenant run (workload 7) did wrong: t1 creates exactly TENANT_FIRST_WRITES, t2 writes nothing,
    t3 uploads the edited policy and the relying parties above it and writes nothing else."""
    written = {route: count for route, count in routes.items() if report.is_write(route)}
    if variant.tenant == "empty":
        expected = report.TENANT_FIRST_WRITES
    elif variant.tenant == "edited":
        expected = {"policies.put": variant.puts}
    else:
        expected = {}
    if written != expected:
        return ["writes %s, expected %s" % (report.route_text(written), report.route_text(expected))]
    return []


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def machine_facts(latency_ms: float) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    from ansible.release import __version__ as ansible_version  # pylint: disable=import-outside-toplevel

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "ansible_core": ansible_version,
        "system": "%s %s" % (platform.system(), platform.release()),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "latency_ms": latency_ms,
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--quick", action="store_true",
                        help="one round, 4 key sets, 4 tenants, no profile: a check of the counts, not of the times")
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "performance.md"), help="the Markdown report to write")
    parser.add_argument("--json", help="also write the raw figures here")
    parser.add_argument("--workdir", default=str(REPO_ROOT / "build" / "bench"), help="scratch directory (emptied)")
    parser.add_argument("--latency-ms", type=float, default=30.0, help="emulator latency per request (default 30)")
    parser.add_argument("--rounds", type=int, help="alternating rounds per workload (default 3; 1 with --quick; 0: only the profile runs)")
    parser.add_argument("--only", type=lambda text: [int(part) for part in text.split(",")],
                        help="comma-separated workload numbers to run (default all)")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="skip the cProfile and import-time runs")
    parser.add_argument("--import-samples", type=int, default=2, help="runs per import-time figure (median)")
    parser.add_argument("--quiet", dest="log", action="store_false", help="no progress lines on stderr")
    parser.add_argument("--core-env", dest="core_env_dirs", action="append", default=[], metavar="VENV",
                        help="also run workloads %d and %d in this virtual environment's ansible-core (its "
                             "bin/ansible-playbook; scripts/bench.sh gives the oldest minor's); the other workloads run "
                             "in this interpreter's" % (overhead.WORKLOAD, tenant_floor.WORKLOAD))
    parser.add_argument("--render", metavar="RESULTS_JSON",
                        help="measure nothing: write the document again from an earlier run's results.json (in --workdir)")
    args = parser.parse_args(argv)
    if args.only and not args.render and Path(args.out).resolve() == (REPO_ROOT / "docs" / "performance.md").resolve():
        # the report holds only the workloads measured: docs/performance.md is the page of all of them
        parser.error("--only measures part of the workloads: give --out another file than docs/performance.md")
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    if args.quick:
        args.profile = False
    args.core_envs = {overhead.core_of(venv): venv for venv in args.core_env_dirs}
    return args


def load_raw(path: str) -> tuple:
    """The measurements of an earlier run (its results.json), to render the document again without measuring."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    measured = []
    for number, entry in sorted(data["workloads"].items(), key=lambda item: int(item[0])):
        workload = Workload(int(number), entry["title"], entry["hosts"], entry["state"], [], forks=entry["forks"],
                            info_keysets=entry["info_keysets"], policies=entry.get("policies", 0))
        runs = {key: [RunResult(key, run["wall_s"], Counter(run["routes"]), run["probes"], run["graph_ms"]) for run in items]
                for key, items in entry["variants"].items()}
        measured.append(Measured(workload, runs, entry["labels"]))
    return measured, data["extra"], data["machine"]


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.render:
        measured, extra, facts = load_raw(args.render)
    else:
        bench = Bench(args)
        workloads = build_workloads(args.quick, tuple(sorted(set(args.core_envs) | {overhead.core_of(None)},
                                                             key=overhead.version_key)))
        bench.prepare()
        started = time.perf_counter()
        bench.start_emulator()
        try:
            bench.warm_up(workloads)
            measured = bench.measure(workloads)
            extra = bench.profile(workloads) if args.profile else {}
            if bench.overhead_extra:
                extra["overhead"] = bench.overhead_extra
            if bench.tenant_floor_extra:
                extra["tenant_floor"] = bench.tenant_floor_extra
            if bench.tenant_export_extra:
                extra["tenant_export"] = bench.tenant_export_extra
        finally:
            bench.stop_emulator()
        facts = machine_facts(args.latency_ms)
        facts.update(duration_s=round(time.perf_counter() - started), quick=args.quick, rounds=args.rounds)
        raw = json.dumps(report.raw(measured, extra, facts), indent=1, default=str)
        (bench.workdir / "results.json").write_text(raw, encoding="utf-8")
        if args.json:
            Path(args.json).write_text(raw, encoding="utf-8")
    command = "python tests/perf/bench.py --quick" if facts["quick"] else "make bench"
    document = report.render(measured, extra, facts, command, RECOMMENDED)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(document, encoding="utf-8")
    if args.log:
        print("wrote %s (measured in %d s)" % (out, facts["duration_s"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
