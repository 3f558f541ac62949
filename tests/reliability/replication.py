# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""B2C's replication delay: every module that adds keys, against new key sets that refuse keys as missing for their
first seconds (the emulator's replication_delay, tests/emulator/README.md).

One play per delay and variant, one host per module variant, each creating a key set of its own; then a re-run. A run
keeps its promises when it succeeds with exactly one key per set, reports changed and how long it waited
(`replication_wait`), and the re-run changes nothing. A set that stays unready past the client's budget must fail
cleanly, saying so, with nothing added, and a re-run once the set is ready adds the one key.

Measured for each run: the landing time (from the set's create to the start of the key request that succeeded) and
the overshoot (landing time minus the delay: how long after the set was ready the key was asked for).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Optional

from . import matrix
from .harness import keysets_by_id, results_by_host, service_id, write_inventory

DELAYS = (5.0, 20.0)
# (label, replication_error, replication_get_fails)
VARIANTS = (("AADB2C95052", "AADB2C95052", False), ("AADB2C90073", "AADB2C90073", False),
            ("AADB2C95052, GET fails too", "AADB2C95052", True))
KINDS = ("key", "batch", "secret", "certificate", "pkcs12")
KEY_ROUTES = {"key": "keys.generate", "batch": "keys.generate", "secret": "keys.uploadSecret",
              "certificate": "keys.uploadCertificate", "pkcs12": "keys.uploadPkcs12"}
MODULES = {"key": "b2c_keyset_key", "batch": "b2c_keyset_key_batch", "secret": "b2c_keyset_secret",
           "certificate": "b2c_keyset_certificate", "pkcs12": "b2c_keyset_certificate (PKCS#12)"}
# The client's words when a set never became ready (plugins/module_utils/_core/graph.py).
NOT_READY = "the key set exists (created moments ago) but B2C has not made it ready for keys yet"
NOTHING_ADDED = "no key was added"
# Past the client's budget (REPLICATION_BUDGET, 60 s of waiting).
OVER_BUDGET_DELAY = 70.0


@dataclass
class ReplicationRun:
    kind: str
    delay: float
    variant: str
    ok: bool
    msg: Optional[str]
    changed: bool
    keys: dict  # key set id -> key count
    reported_wait: Optional[float]  # the run's replication_wait (per set: the batch reports one per entry)
    landing: list  # per set: seconds from its create to the start of the key request that succeeded
    attempts: int  # key requests sent, all sets of the run
    rerun_ok: bool = False
    rerun_changed: bool = False
    keys_final: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    @property
    def overshoot(self) -> list:
        return [round(landing - self.delay, 1) for landing in self.landing]


@dataclass
class ReplicationReport:
    runs: list = field(default_factory=list)
    over_budget: Optional[ReplicationRun] = None
    seconds: float = 0.0

    @property
    def problems(self) -> list:
        runs = self.runs + ([self.over_budget] if self.over_budget else [])
        return ["%s, %.0f s, %s: %s" % (MODULES[run.kind], run.delay, run.variant, problem)
                for run in runs for problem in run.problems]

    @property
    def overshoots(self) -> list:
        return [value for run in self.runs for value in run.overshoot]


def _keysets(kind: str, name: str) -> list:
    return [service_id(name), service_id(name + "-b")] if kind == "batch" else [service_id(name)]


def _landing(log: list, keyset_id: str, route: str) -> Optional[float]:
    created = [entry["ts"] for entry in log if entry["route"] == "keysets.create" and entry.get("keyset") == keyset_id
               and entry["status"] == 201]
    landed = [entry["ts"] for entry in log if entry["route"] == route and entry.get("keyset") == keyset_id
              and entry["status"] == 200]
    return round(landed[0] - created[0], 1) if created and landed else None


def _reported_waits(kind: str, result: dict) -> list:
    if kind == "batch":
        return [entry.get("replication_wait") for entry in result.get("results") or []]
    return [result.get("replication_wait")]


def run_play(runner, kinds, delay: float, variant: tuple, material, secret: str, tag: str) -> list:
    """One play: a host per kind, each creating its own set against the replication delay; then the re-run."""
    label, error, get_fails = variant
    control = runner.emulator.control
    runner.secrets |= material.secrets | {secret}
    names = {kind: "P-%s-%s" % (kind, tag) for kind in kinds}
    inventory = write_inventory(runner.workdir / ("replication-%s.yml" % tag),
                                {name: {"case_keyset": name, "case_kind": kind, "case_timeout": matrix.ROOMY_TIMEOUT}
                                 for kind, name in names.items()})
    play = dict(tasks=matrix.case_tasks(), defaults=runner.connection(timeout="{{ case_timeout }}"), hosts="all",
                inventory=inventory, play_extra={"strategy": "free", "vars": matrix.play_vars(material, secret)},
                extra_args=["--forks", str(len(kinds))])
    control.configure(replication_delay=delay, replication_error=error, replication_get_fails=get_fails)
    control.clear_requests()
    first = results_by_host(runner.playbook(**play))
    log = control.requests()
    after = keysets_by_id(control)
    second = results_by_host(runner.playbook(**play))
    final = keysets_by_id(control)
    control.configure(replication_delay=0)

    runs = []
    for kind, name in names.items():
        keysets, route = _keysets(kind, name), KEY_ROUTES[kind]
        entry, again = first.get(name) or {}, second.get(name) or {}
        result = entry.get("result") or {}
        run = ReplicationRun(
            kind=kind, delay=delay, variant=label, ok=entry.get("status") == "ok", msg=result.get("msg"),
            changed=result.get("changed") is True,
            keys={keyset: len(after.get(keyset, [])) for keyset in keysets},
            reported_wait=max((wait or 0.0 for wait in _reported_waits(kind, result)), default=None),
            landing=[value for value in (_landing(log, keyset, route) for keyset in keysets) if value is not None],
            attempts=sum(1 for item in log if item["route"] == route and item.get("keyset") in keysets),
            rerun_ok=again.get("status") == "ok", rerun_changed=(again.get("result") or {}).get("changed") is True,
            keys_final={keyset: len(final.get(keyset, [])) for keyset in keysets})
        _judge(run, keysets, _reported_waits(kind, result))
        runs.append(run)
    return runs


def _judge(run: ReplicationRun, keysets: list, waits: list) -> None:
    problems = run.problems
    if not run.ok:
        problems.append("failed: %s" % run.msg)
    if not run.changed:
        problems.append("reported changed=false")
    for keyset in keysets:
        if run.keys[keyset] != 1:
            problems.append("%s holds %d keys after the run, the job needs 1" % (keyset, run.keys[keyset]))
        if run.keys_final[keyset] != 1:
            problems.append("%s holds %d keys after the re-run" % (keyset, run.keys_final[keyset]))
    if run.ok and not all(waits):
        problems.append("the run waited but did not report replication_wait: %s" % waits)
    if run.ok and len(run.landing) != len(keysets):
        problems.append("no successful key request after the create in the request log")
    if not run.rerun_ok or run.rerun_changed:
        problems.append("the re-run %s" % ("failed" if not run.rerun_ok else "reported changed=true"))


def run_over_budget(runner, material, secret: str, tag: str = "over") -> ReplicationRun:
    """A set that stays unready past the budget: one clean failure that says so, nothing added, the set reported; a
    re-run once the set is ready adds the one key."""
    control = runner.emulator.control
    name = "P-key-%s" % tag
    task = {"name": "case", matrix.COLLECTION + "b2c_keyset_key": {"keyset": name, "use": "sig", "valid_for": "30d"},
            "ignore_errors": True}
    control.configure(replication_delay=OVER_BUDGET_DELAY, replication_error="AADB2C95052", replication_get_fails=False)
    control.clear_requests()
    entry = runner.playbook([task]).task("case")
    log = control.requests()
    keyset = service_id(name)
    after = keysets_by_id(control)
    result = entry.get("result") or {}
    created = [item["ts"] for item in log if item["route"] == "keysets.create"]
    if created:  # the re-run comes once the set is ready, as the message asks
        time.sleep(max(0.0, created[0] + OVER_BUDGET_DELAY + 1 - time.time()))
    again = runner.playbook([task]).task("case")
    control.configure(replication_delay=0)
    final = keysets_by_id(control)
    run = ReplicationRun(
        kind="key", delay=OVER_BUDGET_DELAY, variant="AADB2C95052", ok=entry.get("status") == "ok",
        msg=result.get("msg"), changed=result.get("changed") is True, keys={keyset: len(after.get(keyset, []))},
        reported_wait=result.get("replication_wait"), landing=[],
        attempts=sum(1 for item in log if item["route"] == "keys.generate"),
        rerun_ok=again.get("status") == "ok", rerun_changed=(again.get("result") or {}).get("changed") is True,
        keys_final={keyset: len(final.get(keyset, []))})
    if run.ok:
        run.problems.append("succeeded although the set was not ready within the budget")
    elif NOT_READY not in (run.msg or "") or NOTHING_ADDED not in (run.msg or ""):
        run.problems.append("the failure does not say the set is not ready and nothing was added: %s" % run.msg)
    if not run.changed or result.get("keyset") != keyset:
        run.problems.append("the failure does not name the key set it created (changed=%s, keyset=%r)" % (
            run.changed, result.get("keyset")))
    if run.keys[keyset] != 0:
        run.problems.append("%s holds %d keys after the failed run" % (keyset, run.keys[keyset]))
    if not run.rerun_ok or not run.rerun_changed or run.keys_final[keyset] != 1:
        run.problems.append("the re-run once ready: ok=%s changed=%s keys=%d" % (
            run.rerun_ok, run.rerun_changed, run.keys_final[keyset]))
    return run


def run_replication(runner, material, secret: str, delays=DELAYS, variants=VARIANTS, kinds=KINDS,
                    over_budget: bool = True, progress=None) -> ReplicationReport:
    started = time.monotonic()
    report = ReplicationReport()
    for delay in delays:
        for number, variant in enumerate(variants):
            report.runs += run_play(runner, kinds, delay, variant, material, secret, "%d-%d" % (delay, number))
            if progress:
                progress("%.0f s, %s: %d runs so far, %d problems" % (delay, variant[0], len(report.runs),
                                                                      len(report.problems)))
    if over_budget:
        report.over_budget = run_over_budget(runner, material, secret)
    report.seconds = time.monotonic() - started
    return report


def summarize(values: list) -> str:
    if not values:
        return "n/a"
    return "median %.1f s, max %.1f s" % (statistics.median(values), max(values))
