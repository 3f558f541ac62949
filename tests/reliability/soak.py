# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The soak: many b2c_keyset_key runs with randomly scripted faults against a handful of key sets.

The runs go in rounds: one ansible-playbook per round, one host per key set, so each run is one real module execution
whose faults are aimed at its own key set. Before a round a seeded RNG decides, per key set, whether to take its keys
out of service (disabled through Graph's keys_v2 PATCH, as an administrator would) and which faults to script for its
run. After the round every run is judged against the state before it:

- needed: the run began without a key that satisfies the request (set missing, or every key disabled);
- extra keys: keys added beyond one per needing run (the target is none, ever);
- missing: a run reported success but its key set holds no satisfying key, or its `key` is not one of them.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

from .harness import COLLECTION, GraphAdmin, crashed, keysets_by_id, results_by_host, service_id, write_inventory
from .matrix import FAULTS_BY_KEY, ROOMY_TIMEOUT, SLOW_DELAY, TIMEOUT

# Faults per route a b2c_keyset_key run can meet, with how often each is picked.
ROUTE_WEIGHTS = (("keysets.get", 3), ("keysets.create", 2), ("keys.generate", 5))
READ_FAULTS = ("429ra", "429", "503", "504", "drop", "slow", "401")
WRITE_FAULTS = READ_FAULTS + ("commit500", "commitdrop")
# Bursts longer than one answer stay short where each answer costs a backoff; "persistent" forms fail fast.
BURSTS = ((1, 6), (2, 3), (3, 1))
PERSISTENT = {
    "429ra": {"status": 429, "retry_after": 90},  # asks for more than the client's 60 s budget: it gives up at once
    "drop": {"drop": True},
    "slow": {"delay": SLOW_DELAY},
    "401": FAULTS_BY_KEY["401"].item,
    "commit500": FAULTS_BY_KEY["commit500"].item,
    "commitdrop": FAULTS_BY_KEY["commitdrop"].item,
}
TOKEN_FAULTS = ("429", "503", "504", "drop")

# Failure causes, recognised from the module's message (first match wins). Graph failures start with "Graph ";
# anything else that names the authority host is the token endpoint's (Entra ID).
CAUSES = (
    ("throttled (429)", ("http 429",)),
    ("token rejected (401)", ("http 401",)),
    ("server error (5xx)", ("http 500", "http 503", "http 504")),
    ("timeout", ("no answer within the timeout", "timed out")),
    ("connection dropped", ("connection failed or was dropped",)),
)


@dataclass(frozen=True)
class SoakConfig:
    runs: int = 500
    keysets: int = 10
    seed: int = 20251127
    fault_rate: float = 0.6  # share of runs with a scripted fault on their key set
    persistent_rate: float = 0.1  # share of those faults repeated on every attempt
    need_rate: float = 0.3  # chance per key set and round that its keys are disabled first
    token_fault_rate: float = 0.15  # chance per round of a one-off token endpoint fault (hits whichever run asks first)
    kinds: tuple = WRITE_FAULTS  # the fault kinds to draw from (keys of matrix.FAULTS)


@dataclass
class RunRecord:
    round: int
    keyset: str
    needed: bool
    new_keys: int
    ok: bool
    changed: bool
    fault: Optional[str]
    cause: Optional[str] = None
    msg: Optional[str] = None
    problems: list = field(default_factory=list)


@dataclass
class SoakReport:
    config: SoakConfig
    records: list = field(default_factory=list)
    faults_scripted: int = 0
    faults_hit: int = 0
    token_faults: int = 0
    keys_disabled: int = 0
    seconds: float = 0.0

    @property
    def runs(self) -> int:
        return len(self.records)

    @property
    def needed(self) -> int:
        return sum(record.needed for record in self.records)

    @property
    def generated(self) -> int:
        return sum(record.new_keys for record in self.records)

    @property
    def extra_keys(self) -> int:
        return sum(max(0, record.new_keys - int(record.needed)) for record in self.records)

    @property
    def failures(self) -> Counter:
        return Counter(record.cause for record in self.records if not record.ok)

    @property
    def problems(self) -> list:
        return ["round %d, %s: %s" % (record.round, record.keyset, problem)
                for record in self.records for problem in record.problems]


def classify(msg, authority: str = "") -> str:
    text = str(msg or "").lower()
    if not text.startswith("graph ") and ("entra id" in text or (authority and authority.lower() in text)):
        return "token endpoint (Entra ID)"
    for cause, words in CAUSES:
        if any(word in text for word in words):
            return cause
    return "other"


def _satisfying(keys: list, now: int) -> list:
    """Keys that satisfy the soak's request (use sig, RSA, valid now, not disabled)."""
    return [key for key in keys if key.get("status") != "disabled" and key.get("use") == "sig"
            and str(key.get("kty", "")).upper() == "RSA" and (key.get("nbf") or 0) <= now
            and (key.get("exp") is None or key["exp"] > now)]


def _pick_fault(rng: random.Random, config: SoakConfig, exists: bool, needed: bool):
    """(route, fault key, responses) for one run, or None; only routes this run will call are picked."""
    if rng.random() >= config.fault_rate:
        return None
    routes = [(route, weight) for route, weight in ROUTE_WEIGHTS
              if route == "keysets.get" or (route == "keysets.create" and not exists)
              or (route == "keys.generate" and needed)]
    route = rng.choices([route for route, _weight in routes], [weight for _route, weight in routes])[0]
    kinds = [kind for kind in (READ_FAULTS if route == "keysets.get" else WRITE_FAULTS) if kind in config.kinds]
    if not kinds:
        return None
    kind = rng.choice(kinds)
    if kind in PERSISTENT and rng.random() < config.persistent_rate:
        return route, kind + "*", [dict(PERSISTENT[kind])] * 12
    count = rng.choices([count for count, _weight in BURSTS], [weight for _count, weight in BURSTS])[0]
    return route, kind + ("" if count == 1 else "x%d" % count), [dict(FAULTS_BY_KEY[kind].item)] * count


def soak_task() -> dict:
    arguments = {"keyset": "{{ soak_keyset }}", "use": "sig", "valid_for": "30d"}
    return {"name": "soak", COLLECTION + "b2c_keyset_key": arguments, "ignore_errors": True}


def run_soak(runner, config: SoakConfig, progress=None) -> SoakReport:
    control = runner.emulator.control
    admin = GraphAdmin(runner.emulator)
    rng = random.Random(config.seed)
    report = SoakReport(config)
    names = ["Soak%02d" % index for index in range(config.keysets)]
    started = time.monotonic()
    rounds = math.ceil(config.runs / config.keysets)
    for number in range(1, rounds + 1):
        take = min(config.keysets, config.runs - report.runs)
        _run_round(runner, control, admin, rng, config, report, number, names[:take])
        if progress:
            progress(number, rounds, report)
    report.seconds = time.monotonic() - started
    return report


def _run_round(runner, control, admin, rng, config, report, number, names) -> None:
    now = int(time.time())
    state = keysets_by_id(control)
    for name in names:
        keys = state.get(service_id(name))
        if keys and rng.random() < config.need_rate:
            report.keys_disabled += admin.disable_keys(service_id(name), keys)
    before = keysets_by_id(control)

    control.clear_faults()
    control.clear_requests()
    plans, hosts = {}, {}
    for name in names:
        keyset = service_id(name)
        exists = keyset in before
        needed = not exists or not _satisfying(before[keyset], now)
        fault = _pick_fault(rng, config, exists, needed)
        if fault:
            control.add_fault(fault[0], fault[2], keyset=keyset)
            report.faults_scripted += 1
        plans[name] = (needed, fault)
        slow = fault is not None and "delay" in fault[2][0]
        hosts[name] = {"soak_keyset": name, "soak_timeout": TIMEOUT if slow else ROOMY_TIMEOUT}
    if rng.random() < config.token_fault_rate:
        control.add_fault("token", [dict(FAULTS_BY_KEY[rng.choice(TOKEN_FAULTS)].item)])
        report.token_faults += 1

    inventory = write_inventory(runner.workdir / ("soak-%d.yml" % number), hosts)
    run = runner.playbook([soak_task()], defaults=runner.connection(timeout="{{ soak_timeout }}"), hosts="all",
                          inventory=inventory, play_extra={"strategy": "free"},
                          extra_args=["--forks", str(len(names))])
    if any(fault and "delay" in fault[2][0] for _needed, fault in plans.values()):
        time.sleep(SLOW_DELAY + 0.5)  # a request the client gave up on may still land: count it in this round
    report.faults_hit += sum(1 for entry in control.requests() if entry.get("fault"))
    after = keysets_by_id(control)
    results = results_by_host(run)
    check_now = int(time.time())
    for name in names:
        keyset = service_id(name)
        needed, fault = plans[name]
        entry = results.get(name)
        report.records.append(_judge(number, keyset, needed, fault, entry, before.get(keyset) or [],
                                     after.get(keyset) or [], check_now, runner.emulator.url))


def _judge(number, keyset, needed, fault, entry, keys_before, keys_after, now, authority) -> RunRecord:
    result = (entry or {}).get("result") or {}
    ok = entry is not None and entry["status"] == "ok"
    record = RunRecord(round=number, keyset=keyset, needed=needed, new_keys=len(keys_after) - len(keys_before), ok=ok,
                       changed=bool(result.get("changed")), fault=fault[1] if fault else None)
    problems = record.problems
    if entry is None:
        problems.append("no result recorded")
        return record
    extra = record.new_keys - int(needed)
    if extra > 0:
        problems.append("EXTRA KEY: %d key(s) added, %d needed (fault %s)" % (record.new_keys, int(needed), record.fault))
    if ok:
        satisfying = {key["kid"] for key in _satisfying(keys_after, now)}
        if not satisfying:
            problems.append("MISSING: reported success but the key set holds no satisfying key")
        elif (result.get("key") or {}).get("kid") not in satisfying:
            problems.append("reported key %s is not a satisfying key of the set" % (result.get("key") or {}).get("kid"))
        if record.changed != needed:
            problems.append("reported changed=%s on a run that %s a key" % (
                record.changed, "needed" if needed else "did not need"))
    else:
        record.msg = result.get("msg")
        record.cause = classify(record.msg, authority)
        if crashed(entry):
            problems.append("the module crashed: %s" % (record.msg or result.get("module_stderr", ""))[:300])
        elif record.cause == "other":
            problems.append("failure without a recognisable cause: %s" % record.msg)
    return record
