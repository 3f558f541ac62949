# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The benchmark in quick mode: request counts and imports per module process, never wall time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
BENCH = REPO_ROOT / "tests" / "perf" / "bench.py"
QUICK_SETS = 4  # key sets of workloads 2 and 3 in quick mode
QUICK_TENANTS = 4  # hosts of workload 4 in quick mode


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    out, raw = tmp / "performance.md", tmp / "raw.json"
    done = subprocess.run([sys.executable, str(BENCH), "--quick", "--quiet", "--out", str(out), "--json", str(raw),
                           "--workdir", str(tmp / "work")],
                          capture_output=True, text=True, timeout=900, check=False, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    return {"doc": out.read_text(encoding="utf-8"), "raw": json.loads(raw.read_text(encoding="utf-8"))}


def runs(bench, workload: int, variant: str) -> list:
    measured = bench["raw"]["workloads"][str(workload)]["variants"]
    assert variant in measured, "variant %s of workload %d was not measured: %s" % (variant, workload, list(measured))
    return measured[variant]


def routes(bench, workload: int, variant: str) -> dict:
    return runs(bench, workload, variant)[0]["routes"]


def without_token(found: dict) -> dict:
    return {route: count for route, count in found.items() if route not in ("token", "discovery")}


def test_no_change_task_is_one_token_and_one_read(bench):
    found = routes(bench, 1, "a")
    assert found["token"] == 1
    assert found.get("discovery", 0) <= 1
    assert without_token(found) == {"keysets.get": 1}


def test_token_cache_leaves_one_read(bench):
    assert routes(bench, 1, "b") == {"keysets.get": 1}


def test_batch_module_reads_every_set_with_no_token_request(bench):
    assert routes(bench, 1, "c") == {"keysets.get": 1}
    assert routes(bench, 2, "c") == {"keysets.get": QUICK_SETS}
    assert len(runs(bench, 2, "c")[0]["probes"]) == 1  # one module process for the whole play
    tenants = runs(bench, 4, "c")[0]
    assert tenants["routes"] == {"keysets.get": 2 * QUICK_TENANTS}
    assert len(tenants["probes"]) == QUICK_TENANTS


def test_loop_without_cache_asks_one_token_per_key_set(bench):
    found = routes(bench, 2, "a")
    assert found["token"] == QUICK_SETS
    assert without_token(found) == {"keysets.get": QUICK_SETS}
    assert routes(bench, 2, "b") == {"keysets.get": QUICK_SETS}


def test_diy_baseline_does_the_same_work(bench):
    assert routes(bench, 1, "diy") == {"token": 1, "keysets.get": 1}
    assert routes(bench, 2, "diy") == {"token": 1, "keysets.get": QUICK_SETS}
    assert routes(bench, 3, "diy") == {"token": 1, "keysets.get": QUICK_SETS, "keys.generate": QUICK_SETS}
    assert routes(bench, 4, "diy") == {"token": QUICK_TENANTS, "keysets.get": 2 * QUICK_TENANTS}


def test_every_variant_generates_one_key_per_expired_set(bench):
    variants = bench["raw"]["workloads"]["3"]["variants"]
    assert {"a", "b", "diy"} <= set(variants)
    for variant in variants:
        found = routes(bench, 3, variant)
        assert found["keys.generate"] == QUICK_SETS, (variant, found)
        assert found["keysets.get"] == QUICK_SETS, (variant, found)
        assert "keysets.create" not in found, (variant, found)


def test_keyset_info_reads_a_hundred_sets_in_one_request(bench):
    assert without_token(routes(bench, 5, "info")) == {"keysets.list": 1}
    assert routes(bench, 5, "info-cached") == {"keysets.list": 1}


def test_msal_and_cryptography_only_imported_to_acquire_a_token(bench):
    for workload, variant in ((1, "b"), (2, "b"), (5, "info-cached"), (1, "c"), (2, "c")):
        probes = runs(bench, workload, variant)[0]["probes"]
        assert probes, (workload, variant)
        for probe in probes:
            assert probe["imported"]["msal"] is False, (workload, variant, probe)
            assert probe["imported"]["cryptography"] is False, (workload, variant, probe)
            assert probe["imported"]["requests"] is True, (workload, variant, probe)
    # The probe can see msal at all: a run that acquires a token imports it.
    assert all(probe["imported"]["msal"] for probe in runs(bench, 1, "a")[0]["probes"])


def test_report_is_written_with_its_tables(bench):
    doc = bench["doc"]
    assert "## Machine" in doc and "## Targets" in doc
    for number in range(1, 6):
        assert "## Workload %d:" % number in doc
    assert "| no-change task (workload 1, a): one token request and one read |" in doc
    assert "**no**" not in doc.split("## Targets", 1)[1].split("| wall time", 1)[0]  # the count targets are met


def test_the_default_path_runs_no_module_process(bench):
    """d and e run in Ansible's worker (the action plugins' default): same requests as c, and no module process."""
    assert routes(bench, 1, "e") == {"keysets.get": 1}
    assert routes(bench, 2, "d") == {"keysets.get": QUICK_SETS}
    assert routes(bench, 3, "e") == {"keysets.get": QUICK_SETS, "keys.generate": QUICK_SETS}
    assert routes(bench, 4, "e") == {"keysets.get": 2 * QUICK_TENANTS}
    for workload in (1, 2, 3, 4):
        for variant in ("d", "e"):
            assert runs(bench, workload, variant)[0]["probes"] == []
    assert len(runs(bench, 2, "b")[0]["probes"]) == QUICK_SETS  # forced module processes: one per task


def test_the_document_names_the_default_path_as_recommended(bench):
    assert "b2c_keyset_key_batch (one task), token cache, in the worker (recommended)" in bench["doc"]


def test_an_unchanged_policy_set_is_listed_and_read_never_uploaded(bench):
    """Workload 6: DIY uploads all ten files; b2c_policies lists once, reads each policy once, uploads none."""
    assert routes(bench, 6, "diy") == {"token": 1, "policies.put": 10}
    for variant in ("p", "q"):
        found = routes(bench, 6, variant)
        assert found["token"] == 1, (variant, found)
        assert without_token(found) == {"policies.list": 1, "policies.get": 10}, (variant, found)
    assert len(runs(bench, 6, "p")[0]["probes"]) == 1 and runs(bench, 6, "q")[0]["probes"] == []
    assert "## Workload 6:" in bench["doc"]
    assert ("| unchanged set of 10 policies (workload 6, q): one token, one list, at most one read per policy, no write "
            "|") in bench["doc"]


def test_the_cost_of_the_policy_defaults_is_measured(bench):
    """Workload 6: a first deploy one upload at a time (s, the default) and with parallel_uploads 4 (s4) makes the same
    ten uploads; a changed Extensions re-uploads the 7 relying parties above it (r, the default) or not (r0). Before
    uploading policies that name key sets (the first deploy: the Base names both), b2c_policies lists the tenant's key
    sets once to refuse a missing one before any write; the Extensions and the relying parties name none."""
    for variant in ("s", "s4"):
        found = without_token(routes(bench, 6, variant))
        assert found == {"policies.list": 1, "keysets.list": 1, "policies.put": 10}, (variant, found)
    assert without_token(routes(bench, 6, "r")) == {"policies.list": 1, "policies.get": 10, "policies.put": 8}
    assert without_token(routes(bench, 6, "r0")) == {"policies.list": 1, "policies.get": 10, "policies.put": 1}
    for row in ("| first deploy into an empty tenant: one upload per policy (workload 6, s) |",
                "| Extensions changed, reupload_dependents false: it alone (workload 6, r0) |"):
        assert row in bench["doc"] and bench["doc"].split(row, 1)[1].split("\n", 1)[0].endswith("| yes |"), row
    assert "first deploy, parallel_uploads 4 (s4, opt-in) against one at a time (s, the default)" in bench["doc"]


# Workload 7, the ief_tenant role over the LocalAccounts starter pack. The reads of a run on a tenant that holds
# everything: the two key sets read by the batch module; the apps found by name (2 lists), Microsoft Graph's service
# principal and the two apps' (3), each app's grants (2); one policy list and a read of each of the 6 policies.
TENANT_READS = {"keysets.get": 2, "applications.list": 2, "servicePrincipals.list": 3, "grants.list": 2,
                "policies.list": 1, "policies.get": 6}
TENANT_READ_ROUTES = ("keysets.get", "keysets.list", "applications.list", "applications.byUniqueName.get",
                      "servicePrincipals.list", "grants.list", "policies.list", "policies.get")


def test_the_whole_tenant_from_empty_then_nothing_then_one_edited_file(bench):
    first = routes(bench, 7, "t1")
    # one token: one task plans the whole tenant with reads only, then writes the keys, the apps and the policies
    assert first["token"] == 1 and first.get("discovery", 0) <= 1, first
    first_writes = {route: count for route, count in without_token(first).items() if route not in TENANT_READ_ROUTES}
    assert first_writes == {
        "keysets.create": 2, "keys.generate": 2,  # the role's two default key sets, one generated key each
        "applications.upsert": 2, "applications.patch": 1,  # the two IEF apps; the first's ID URI needs its appId
        "servicePrincipals.upsert": 2,  # created apps are not looked up again
        "grants.create": 3,  # admin consent: both apps -> Microsoft Graph, the Proxy -> IdentityExperienceFramework
        "policies.put": 6,  # the whole pack, nothing read first: the tenant has none
    }, first
    # the plan's reads, once: the apps looked for by name and by their uniqueName (the upsert's key, not found),
    # Microsoft Graph's service principal, the policy list; created apps are not searched for service principals or
    # grants. The apply replays the plan's reads but for each key set it adds a key to, read again under its lock.
    # The key sets the policies name are those the key half ensures, so they are never listed.
    assert {route: count for route, count in first.items() if route in TENANT_READ_ROUTES} == {
        "keysets.get": 4, "applications.list": 2, "applications.byUniqueName.get": 2, "servicePrincipals.list": 1,
        "policies.list": 1}

    # nothing to do: the plan is the whole run
    again = routes(bench, 7, "t2")
    assert again["token"] == 1, again
    assert without_token(again) == TENANT_READS, again  # reads only: not one write
    # one edited file: the plan reads the set once, the apply uploads
    edited = routes(bench, 7, "t3")
    assert edited["token"] == 1, edited
    assert without_token(edited) == dict(TENANT_READS, **{"policies.put": 4}), edited  # Extensions + 3 relying parties
    for variant in ("t1", "t2", "t3"):
        assert runs(bench, 7, variant)[0]["probes"] == [], variant  # the role's modules run in the worker
    doc = bench["doc"]
    assert "## Workload 7:" in doc
    for row in ("| whole tenant from empty: 2 key sets and their keys, 2 apps (and one ID URI), 2 service principals, "
                "3 grants, 6 uploads, nothing more (workload 7, t1) |",
                "| whole tenant, second run: no write (workload 7, t2) |",
                "| whole tenant, one edited file: it and the relying parties above it, nothing else (workload 7, t3) |"):
        assert row in doc and doc.split(row, 1)[1].split("\n", 1)[0].endswith("| yes |"), row


def test_tasks_after_the_first_pay_no_import(bench):
    """Workload 8 (quick mode: this environment's ansible-core only): the floor makes no request, one no-change task
    one read, 20 separate tasks 20 reads; the task probe saw every task's run() in a forked worker, and no task after
    the first import requests, msal, cryptography or our code (the parent loaded the action plugin before forking)."""
    variants = bench["raw"]["workloads"]["8"]["variants"]
    (core,) = {key.split("-", 1)[1] for key in variants}
    assert routes(bench, 8, "floor-" + core) == {}
    assert routes(bench, 8, "one-" + core) == {"keysets.get": 1}
    assert routes(bench, 8, "many-" + core) == {"keysets.get": 20}
    tasks = bench["raw"]["extra"]["overhead"][core]["tasks"]
    assert [record["task"] for record in tasks] == ["Policy key %02d" % index for index in range(1, 21)]
    assert all(record["in_worker"] for record in tasks)
    assert all(record["loaded_at_start"]["requests"] for record in tasks)  # inherited from the parent
    assert [record["task"] for record in tasks[1:] if record["paid"]] == []
    assert "| no-change task ≤ 1.20× floor (workload 8, ansible-core %s) |" % core in bench["doc"]
    assert "## Workload 8:" in bench["doc"]


def test_the_whole_tenant_with_nothing_to_change_is_measured_against_the_floor(bench):
    """Workload 9 (quick mode: this environment's ansible-core only): the floor makes no request; `ansible-playbook
    entra.b2c.ief_tenant` on a tenant that holds everything asks for a token, reads, and runs tasks of the role (the
    benchmark itself fails a run of it that writes). Its target, 1.5x the floor with one token, is reported, not
    asserted: quick mode's times are no measure, and the role's requests are its own business."""
    variants = bench["raw"]["workloads"]["9"]["variants"]
    (core,) = {key.split("-", 1)[1] for key in variants}
    assert set(variants) == {"floor-" + core, "role-" + core}
    assert routes(bench, 9, "floor-" + core) == {}
    assert routes(bench, 9, "role-" + core).get("token", 0) >= 1
    figures = bench["raw"]["extra"]["tenant_floor"][core]
    assert figures["floor"]["methods"] == {} and figures["floor"]["tasks"]["roles"] == {}
    assert sum(figures["role"]["methods"].values()) >= 1
    assert figures["role"]["tasks"]["roles"].get("entra.b2c.ief_tenant", 0) >= 1
    assert figures["role"]["tasks"]["recap"]["failed"] == 0
    assert "## Workload 9:" in bench["doc"]
    assert "| no-change `entra.b2c.ief_tenant` run ≤ 1.5× floor (workload 9, ansible-core %s) |" % core in bench["doc"]


def test_exporting_the_tenant_is_one_token_and_its_reads(bench):
    """Workload 10: on workload 7's tenant, one b2c_tenant_export task asks for one token and reads the policy list,
    each of the 6 policies, the key set list and the two IEF apps by name, and writes nothing. The benchmark itself
    fails when a second export into the same directory changes something or the role run from the export writes."""
    assert set(bench["raw"]["workloads"]["10"]["variants"]) == {"floor", "export"}
    assert routes(bench, 10, "floor") == {}
    found = routes(bench, 10, "export")
    assert found["token"] == 1 and found.get("discovery", 0) <= 1, found
    assert without_token(found) == {"policies.list": 1, "policies.get": 6, "keysets.list": 1, "applications.list": 2}
    assert runs(bench, 10, "export")[0]["probes"] == []  # in the worker
    figures = bench["raw"]["extra"]["tenant_export"]
    assert figures["again"]["recap"]["changed"] == 0 and without_token(figures["again"]["routes"]) == without_token(found)
    # the round trip, the export's contract: the role run from the repository reads, and writes nothing
    round_trip = without_token(figures["round-trip"]["routes"])
    assert round_trip and set(round_trip) <= set(TENANT_READ_ROUTES), round_trip
    assert "ief_tenant.yml" in figures["again"]["files"]
    doc = bench["doc"]
    assert "## Workload 10:" in doc
    for row in ("| export of a 6-policy tenant: one token and its reads (workload 10) |",
                "| `entra.b2c.ief_tenant` run from the export: no write (workload 10) |"):
        assert row in doc and doc.split(row, 1)[1].split("\n", 1)[0].endswith("| yes |"), row
