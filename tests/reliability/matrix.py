# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fault matrix: every call the modules make x every fault, injected once and on every attempt.

Each case is one real module execution through ansible-playbook, against a key set of its own, with the emulator's
scripted fault aimed at that key set (calls that name no key set, such as the token request, run alone). Then the
faults are cleared and the same task runs again. A case passes when:

- the fault was hit at all (a case that tests nothing fails);
- no key set ever holds more keys than the job needs (B2C keys cannot be deleted: a duplicate is permanent);
- a success left exactly the state the job asks for;
- a failure is a clean module failure whose message names the call and the cause (and Graph's request id when the
  service answered), and names the key set with changed=true when the run created it before failing;
- the fault-free re-run succeeds, ends in exactly the state asked for, and reports a change only if one was left;

and, as a stricter expectation reported apart ("gaps"), a fault injected once is absorbed by the client's retry budget.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

from .harness import COLLECTION, UploadMaterial, crashed, keysets_by_id, results_by_host, service_id, write_inventory

ONCE = "once"
PERSISTENT = "persistent"
INTENSITIES = (ONCE, PERSISTENT)
# More than any retry budget of the client (8 attempts for answers, 3 for transport failures).
PERSISTENT_REPEAT = 12
# The client's words when it does not resend a key-adding request that got no answer (plugins/module_utils/_core/graph.py).
NOT_RESENT = "the request was not sent again"
# The module's per-request timeout in the "slow" cases, and the delay of a slow answer (longer: the client times out).
# Other cases keep a roomy timeout, so that a busy machine does not turn them into timeout cases.
TIMEOUT = 2
ROOMY_TIMEOUT = 30
SLOW_DELAY = 3.0
# Later than twice the timeout: past any wait of one timeout's length before the client reads the state again.
VERY_SLOW_DELAY = 5.0
# After a run, wait this long past the longest delayed answer before counting keys: a request the client gave up on
# may still land on the server. Only a delay fault answers late: every other fault is served (and committed or not)
# before the client sees it, so a run without one is counted at once.
SETTLE_MARGIN = 0.5


@dataclass(frozen=True)
class Fault:
    key: str
    label: str
    item: dict
    causes: tuple  # words one of which a failure message must hold to say what went wrong
    writes_only: bool = False  # commit-then-fail needs a write to commit
    graph_only: bool = False  # a Graph error envelope; the token endpoint speaks Entra's shape

    @property
    def answered(self) -> bool:
        """The service sent an HTTP answer (so Graph's request id can be quoted)."""
        return "status" in self.item


FAULTS = (
    # Entra ID words throttling as AADSTS90055 "temporarily_unavailable: too many incoming requests".
    Fault("429ra", "429 + Retry-After", {"status": 429, "retry_after": 1}, ("429", "too many", "throttl")),
    Fault("429", "429", {"status": 429}, ("429", "too many", "throttl")),
    Fault("503", "503", {"status": 503}, ("503",)),
    Fault("504", "504", {"status": 504}, ("504",)),
    Fault("drop", "reset", {"drop": True}, ("dropped", "connection")),
    Fault("slow", "slow (3 s > timeout 2 s)", {"delay": SLOW_DELAY}, ("timeout", "timed out", "time out")),
    Fault("veryslow", "very slow (5 s > 2 x timeout)", {"delay": VERY_SLOW_DELAY}, ("timeout", "timed out", "time out")),
    Fault("commit500", "commit + 500", {"commit": True, "status": 500}, ("500",), writes_only=True),
    Fault("commitdrop", "commit + reset", {"commit": True, "drop": True}, ("dropped", "connection"), writes_only=True),
    Fault("401", "401 expired token", {"status": 401, "code": "InvalidAuthenticationToken",
                                       "message": "Lifetime validation failed, the token is expired."},
          ("401", "token"), graph_only=True),
)


@dataclass(frozen=True)
class Call:
    key: str
    route: str  # the emulator's route name: what the fault is aimed at
    module: str
    label: str
    kind: str  # which task variant of the play runs the case (see case_tasks)
    markers: tuple  # one of which a failure message must quote to say which call failed ({authority}, {tenant})
    write: bool = False
    keyed: bool = True  # the request names the key set, so a fault can be aimed at one case among many
    identity: bool = False  # Entra ID, not Graph

    @property
    def graph(self) -> bool:
        return not self.identity


CALLS = (
    Call("discovery", "discovery", "b2c_keyset_key", "OIDC discovery (GET)", "key", ("{authority}/{tenant}",),
         keyed=False, identity=True),
    Call("token", "token", "b2c_keyset_key", "token (POST)", "key", ("{authority}", "Entra ID"), keyed=False,
         identity=True),
    Call("list", "keysets.list", "b2c_keyset_info", "list key sets (GET)", "list", ("GET /trustFramework/keySets",),
         keyed=False),
    Call("get", "keysets.get", "b2c_keyset_key", "get key set (GET)", "key", ("GET /trustFramework/keySets/",)),
    Call("create", "keysets.create", "b2c_keyset_key", "create key set (POST)", "key",
         ("POST /trustFramework/keySets",), write=True),
    Call("generate", "keys.generate", "b2c_keyset_key", "generateKey (POST)", "key", ("/generateKey",), write=True),
    Call("batch", "keys.generate", "b2c_keyset_key_batch", "generateKey, batch (POST)", "batch", ("/generateKey",),
         write=True),
    Call("secret", "keys.uploadSecret", "b2c_keyset_secret", "uploadSecret (POST)", "secret", ("/uploadSecret",),
         write=True),
    Call("cert", "keys.uploadCertificate", "b2c_keyset_certificate", "uploadCertificate (POST)", "certificate",
         ("/uploadCertificate",), write=True),
    Call("pkcs12", "keys.uploadPkcs12", "b2c_keyset_certificate", "uploadPkcs12 (POST)", "pkcs12", ("/uploadPkcs12",),
         write=True),
    Call("delete", "keysets.delete", "b2c_keyset", "delete key set (DELETE)", "delete",
         ("DELETE /trustFramework/keySets/",), write=True),
)
CALLS_BY_KEY = {call.key: call for call in CALLS}
FAULTS_BY_KEY = {fault.key: fault for fault in FAULTS}


def applies(call: Call, fault: Fault) -> bool:
    return (call.write or not fault.writes_only) and (call.graph or not fault.graph_only)


@dataclass(frozen=True)
class Case:
    call: Call
    fault: Fault
    intensity: str

    @property
    def name(self) -> str:
        """The key set's bare name: it says which case made it when one is looked at in the emulator."""
        return "R-%s-%s-%s" % (self.call.key, self.fault.key, self.intensity)

    @property
    def keyset_id(self) -> str:
        return service_id(self.name)

    @property
    def timeout(self) -> int:
        return TIMEOUT if "delay" in self.fault.item else ROOMY_TIMEOUT

    @property
    def responses(self) -> list:
        return [dict(self.fault.item)] * (1 if self.intensity == ONCE else PERSISTENT_REPEAT)

    @property
    def expected(self) -> dict:
        """The state the job asks for: key set id -> number of keys, or None for a set that must not exist."""
        kind = self.call.kind
        if kind == "delete":
            return {self.keyset_id: None, self.keyset_id + ".bak": 1}
        if kind == "batch":
            return {self.keyset_id: 1, service_id(self.name + "-b"): 1}
        return {self.keyset_id: 1}

    def seed(self, now: int) -> list:
        """Key sets to exist before the run: the set to delete, the set the list must show, the set a read finds
        valid (a read fault is then tested alone: with a 2 s timeout a busy machine could turn the write that would
        follow into a timeout case of its own)."""
        if self.call.kind in ("delete", "list") or self.call.key == "get":
            return [{"id": self.keyset_id, "keys": [{"use": "sig", "kty": "RSA", "nbf": now - 86400,
                                                     "exp": now + 90 * 86400}]}]
        return []


def all_cases(calls=CALLS, faults=FAULTS, intensities=INTENSITIES) -> list:
    return [Case(call, fault, intensity) for call in calls for fault in faults for intensity in intensities
            if applies(call, fault)]


def select(spec: list) -> list:
    """Cases from (call key, fault key, intensity) triples."""
    return [Case(CALLS_BY_KEY[call], FAULTS_BY_KEY[fault], intensity) for call, fault, intensity in spec]


def case_tasks() -> list:
    """One task per module variant; each host (case) runs the one its case_kind names."""
    keyset = "{{ case_keyset }}"
    variants = {
        "key": ("b2c_keyset_key", {"keyset": keyset, "use": "sig", "valid_for": "30d"}),
        "batch": ("b2c_keyset_key_batch", {"use": "sig", "valid_for": "30d",
                                           "keysets": [{"keyset": keyset}, {"keyset": keyset + "-b"}]}),
        "secret": ("b2c_keyset_secret", {"keyset": keyset, "use": "sig", "secret": "{{ case_secret }}",
                                         "valid_for": "30d"}),
        "certificate": ("b2c_keyset_certificate", {"keyset": keyset, "certificate": "{{ case_certificate }}"}),
        "pkcs12": ("b2c_keyset_certificate", {"keyset": keyset, "pkcs12": "{{ case_pkcs12 }}",
                                              "pkcs12_password": "{{ case_pkcs12_password }}"}),
        "delete": ("b2c_keyset", {"keyset": keyset, "state": "absent"}),
        "list": ("b2c_keyset_info", {}),
    }
    return [{"name": "case", COLLECTION + module: args, "when": "case_kind == %r" % kind, "ignore_errors": True}
            for kind, (module, args) in variants.items()]


def play_vars(material: UploadMaterial, secret: str) -> dict:
    return {"case_secret": secret, "case_certificate": material.certificate_pem, "case_pkcs12": material.pkcs12_b64,
            "case_pkcs12_password": material.pkcs12_password}


@dataclass
class Outcome:
    case: Case
    ok: bool
    msg: Optional[str]
    attempts: int  # requests that reached the faulted route for this case
    faults_hit: int
    seconds: float  # from the case's first request to its last
    keys_after: dict  # key set id -> key count (None: absent) after the faulted run
    rerun_ok: bool
    rerun_changed: bool
    keys_final: dict
    created: bool = False  # the faulted run created the case's key set
    problems: list = field(default_factory=list)  # broken promises: duplicates, crashes, unclear failures, ...
    gaps: list = field(default_factory=list)  # a single fault that failed the task (a clean failure, but avoidable)
    # A single fault that left a key-adding request unanswered: never sent again by design (it may still land), so
    # the task failed asking for a re-run. Not a gap: a retry is exactly what could add a second key.
    held_back: list = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        """Keys beyond what the job needs, after either run."""
        extra = 0
        for counts in (self.keys_after, self.keys_final):
            for keyset, wanted in self.case.expected.items():
                if wanted is not None:  # a set the job removes may stay, with its keys, when the removal fails
                    extra = max(extra, (counts.get(keyset) or 0) - wanted)
        return extra


def run_cases(runner, cases: list, material: UploadMaterial, secret: str, forks: int = 16) -> list:
    """Run the cases in one faulted play (one host per case), then the fault-free re-run; evaluate each case.

    Cases whose call names no key set must run alone: their fault would hit whichever case asks first.
    """
    if any(not case.call.keyed for case in cases) and len(cases) > 1:
        raise ValueError("a case whose call names no key set must run alone on its emulator")
    control = runner.emulator.control
    runner.secrets |= material.secrets | {secret}
    now = int(time.time())
    seeds = [keyset for case in cases for keyset in case.seed(now)]
    if seeds:
        control.seed(seeds)
    before = keysets_by_id(control)
    control.clear_faults()
    for case in cases:
        control.add_fault(case.call.route, case.responses, keyset=case.keyset_id if case.call.keyed else None)
    control.clear_requests()

    inventory = write_inventory(runner.workdir / ("cases-%d.yml" % (runner.counter + 1)),
                                {case.name: {"case_keyset": case.name, "case_kind": case.call.kind,
                                             "case_timeout": case.timeout} for case in cases})
    play = dict(tasks=case_tasks(), defaults=runner.connection(timeout="{{ case_timeout }}"), hosts="all",
                inventory=inventory,
                play_extra={"strategy": "free", "vars": play_vars(material, secret)},
                extra_args=["--forks", str(max(1, min(forks, len(cases))))])
    first = runner.playbook(**play)
    time.sleep(settle_seconds(cases))
    log = control.requests()
    after = keysets_by_id(control)
    control.clear_faults()
    control.clear_requests()
    second = runner.playbook(**play)
    final = keysets_by_id(control)

    first_results, second_results = results_by_host(first), results_by_host(second)
    return [evaluate(case, before, after, final, first_results.get(case.name), second_results.get(case.name),
                     [entry for entry in log if not case.call.keyed or entry.get("keyset") in case.expected],
                     {"tenant": runner.emulator.tenant_id, "authority": runner.emulator.url})
            for case in cases]


def settle_seconds(cases: list) -> float:
    """How long a request of these cases may still be on its way to landing once the play is over: the longest
    delay fault among them (plus a margin), or nothing when none of them answers late."""
    delays = [case.fault.item["delay"] for case in cases if "delay" in case.fault.item]
    return max(delays) + SETTLE_MARGIN if delays else 0.0


def _counts(keysets: dict, case: Case) -> dict:
    return {keyset: (len(keysets[keyset]) if keyset in keysets else None) for keyset in case.expected}


def job_done(counts: dict, expected: dict) -> bool:
    """Every set the job wants holds its keys (duplicates are judged apart) and every set it removes is gone."""
    return all(counts.get(keyset) is None if wanted is None else (counts.get(keyset) or 0) >= wanted
               for keyset, wanted in expected.items())


def _entry_result(case: Case, entry: Optional[dict]) -> dict:
    """The part of a task result about the case's own key set (a batch reports one entry per set)."""
    result = (entry or {}).get("result") or {}
    if case.call.kind == "batch":
        for item in result.get("results") or []:
            if item.get("keyset") == case.keyset_id:
                return item
    return result


def evaluate(case: Case, before: dict, after: dict, final: dict, first: Optional[dict], second: Optional[dict],
             log: list, where: Optional[dict] = None) -> Outcome:
    call, fault = case.call, case.fault
    hits = [entry for entry in log if entry["route"] == call.route and (not call.keyed or entry.get("keyset") == case.keyset_id)]
    stamps = [entry["ts"] for entry in log]
    ok = first is not None and first["status"] == "ok"
    result = (first or {}).get("result") or {}
    own = _entry_result(case, first)
    msg = own.get("msg") if case.call.kind == "batch" and own.get("failed") else result.get("msg")
    outcome = Outcome(
        case=case, ok=ok, msg=None if ok else msg, attempts=len(hits),
        faults_hit=sum(1 for entry in hits if entry.get("fault")),
        seconds=round(max(stamps) - min(stamps), 1) if stamps else 0.0,
        keys_after=_counts(after, case), rerun_ok=second is not None and second["status"] == "ok",
        rerun_changed=bool(((second or {}).get("result") or {}).get("changed")), keys_final=_counts(final, case),
        created=case.keyset_id not in before and case.keyset_id in after and case.call.kind not in ("delete", "list"))
    problems = outcome.problems

    if first is None:
        problems.append("no result recorded for the faulted run")
    if not outcome.faults_hit:
        problems.append("the fault was never hit: the case tested nothing")
    for keyset, wanted in case.expected.items():
        if wanted is None:
            continue
        after_run, after_rerun = outcome.keys_after[keyset] or 0, outcome.keys_final[keyset] or 0
        if after_run > wanted:
            problems.append("DUPLICATE: after the faulted run %s holds %d keys, the job needs %d" % (
                keyset, after_run, wanted))
        if after_rerun > max(after_run, wanted):
            problems.append("DUPLICATE: the re-run left %s with %d keys, the job needs %d" % (
                keyset, after_rerun, wanted))
    if ok and not job_done(outcome.keys_after, case.expected):
        problems.append("succeeded but left %s instead of %s" % (outcome.keys_after, case.expected))
    if not ok and first is not None:
        problems.extend(_failure_problems(case, first, own, msg, before, after, where or {}))
    if case.intensity == ONCE and not ok and NOT_RESENT in (msg or ""):
        outcome.held_back.append("a single %s on %s: not sent again, re-run asked for" % (fault.label, call.label))
    elif case.intensity == ONCE and not ok:
        outcome.gaps.append("a single %s on %s was not absorbed by the retry budget: %s" % (fault.label, call.label, msg))

    if not outcome.rerun_ok:
        problems.append("the fault-free re-run failed: %s" % ((second or {}).get("result") or {}).get("msg"))
    if not job_done(outcome.keys_final, case.expected):  # (a duplicate is reported above)
        problems.append("the re-run left %s instead of %s" % (outcome.keys_final, case.expected))
    left_to_do = not job_done(outcome.keys_after, case.expected)
    if outcome.rerun_ok and outcome.rerun_changed != left_to_do:
        problems.append("the re-run reported changed=%s although %s" % (
            outcome.rerun_changed, "work was left" if left_to_do else "nothing was left to do"))
    return outcome


def _failure_problems(case: Case, first: dict, own: dict, msg, before: dict, after: dict, where: dict) -> list:
    """What is wrong with a failure: a crash, a message that does not say what failed, a created set not named."""
    call, fault = case.call, case.fault
    problems = []
    if crashed(first):
        problems.append("the module crashed instead of failing cleanly")
    if not isinstance(msg, str) or not msg.strip():
        return problems + ["failed without a message"]
    lowered = msg.lower()
    if not any(word.lower() in lowered for word in fault.causes):
        problems.append("the message does not name the cause (%s): %s" % (fault.label, msg))
    markers = [marker.format(tenant=where.get("tenant", ""), authority=where.get("authority", "")).lower()
               for marker in call.markers]
    if not any(marker in lowered for marker in markers):
        problems.append("the message does not name the call (%s): %s" % (" or ".join(call.markers), msg))
    if call.graph and fault.answered and "request-id" not in lowered:
        problems.append("the message does not quote Graph's request id: %s" % msg)
    if case.keyset_id not in before and case.keyset_id in after and call.kind not in ("delete", "list"):
        if own.get("keyset") != case.keyset_id or own.get("changed") is not True:
            problems.append("the run created %s before failing but reported keyset=%r changed=%r" % (
                case.keyset_id, own.get("keyset"), own.get("changed")))
    return problems
