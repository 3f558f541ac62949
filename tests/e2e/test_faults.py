# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A representative part of the fault matrix (tests/reliability/matrix.py; `make reliability` runs all of it).

Every case is a real module run through ansible-playbook with a scripted emulator fault, judged by the matrix's rules:
no duplicate key ever, a clean failure that names the call and the cause, a created key set reported, a fault-free
re-run that completes the job with exactly the keys needed.
"""

from __future__ import annotations

import secrets

import pytest

from reliability import matrix
from reliability.harness import make_upload_material

ONCE, PERSISTENT = matrix.ONCE, matrix.PERSISTENT
# generateKey adds a key that can never be deleted: every fault, once; the other writes and the reads, a sample.
KEYED = [("generate", fault.key, ONCE) for fault in matrix.FAULTS if "delay" not in fault.item] + [
    # On every attempt, where the client gives up fast: the key set it created must be reported, the re-run finish.
    ("generate", "429ra", PERSISTENT), ("generate", "drop", PERSISTENT), ("generate", "401", PERSISTENT),
    ("generate", "commit500", PERSISTENT), ("create", "commitdrop", PERSISTENT), ("create", "503", ONCE),
    ("get", "504", ONCE), ("get", "401", PERSISTENT), ("get", "slow", ONCE), ("batch", "commit500", ONCE),
    ("batch", "drop", PERSISTENT), ("secret", "commitdrop", ONCE), ("secret", "429ra", PERSISTENT),
    ("cert", "commit500", ONCE), ("pkcs12", "commitdrop", ONCE), ("pkcs12", "401", ONCE),
    ("delete", "commitdrop", ONCE), ("delete", "503", ONCE), ("delete", "drop", PERSISTENT),
]
# A key-adding POST that got no answer (reset, 504) may still commit: it is never sent again. When no key lands, the
# task fails saying so, and the re-run (which reads the set first) adds the one key.
UNANSWERED = ("drop", "504")
# An answer later than the timeout on a key-adding POST: the client gives up waiting and reads the set until the key
# lands, instead of sending the POST again (the first one lands too).
SLOW_WRITES = [("generate", "slow", ONCE), ("secret", "slow", ONCE), ("cert", "slow", PERSISTENT)]


@pytest.fixture(scope="module")
def material():
    return make_upload_material()


def run(ansible, spec, material):
    return matrix.run_cases(ansible, matrix.select(spec), material, "rel-" + secrets.token_urlsafe(12), forks=8)


def report(outcomes) -> str:
    return "\n".join("%s: %s" % (outcome.case.name, problem) for outcome in outcomes
                     for problem in outcome.problems + outcome.gaps)


def unanswered_key_post(case) -> bool:
    return case.call.route.startswith("keys.") and case.fault.key in UNANSWERED


def test_keyed_faults_keep_every_promise(ansible, material):
    outcomes = run(ansible, KEYED, material)
    assert len(outcomes) == len(KEYED)
    assert not [outcome for outcome in outcomes if outcome.problems], report(outcomes)
    assert sum(outcome.duplicates for outcome in outcomes) == 0
    # A fault injected once is absorbed by the retry budget on every Graph call here, but a key-adding POST that got
    # no answer: that one fails saying the key may still land, without sending the POST again; the re-run adds it.
    assert not [outcome for outcome in outcomes if outcome.case.intensity == ONCE and not outcome.ok
                and not unanswered_key_post(outcome.case)], report(outcomes)
    unanswered = [outcome for outcome in outcomes if unanswered_key_post(outcome.case)]
    assert len(unanswered) >= 2
    for outcome in unanswered:
        assert outcome.attempts == 1, report([outcome])
        assert not outcome.ok and "may still add it" in outcome.msg and "re-run the task" in outcome.msg
        assert outcome.keys_after[outcome.case.keyset_id] == 0
        assert outcome.rerun_ok and outcome.rerun_changed and outcome.keys_final[outcome.case.keyset_id] == 1
    # Failing on every attempt after creating the key set: the failure names it, the re-run adds exactly one key.
    created = {outcome.case.name: outcome for outcome in outcomes}["R-generate-429ra-persistent"]
    assert not created.ok and created.keys_after == {created.case.keyset_id: 0}
    assert "gave up after 8 attempts" in created.msg and "request-id" in created.msg
    assert created.rerun_ok and created.rerun_changed and created.keys_final == {created.case.keyset_id: 1}


def test_a_slow_write_never_adds_a_second_key(ansible, material):
    outcomes = run(ansible, SLOW_WRITES, material)
    assert sum(outcome.duplicates for outcome in outcomes) == 0, report(outcomes)
    assert all(outcome.ok and outcome.attempts == 1 for outcome in outcomes), report(outcomes)


def test_a_very_slow_write_never_adds_a_second_key(ansible, material):
    outcomes = run(ansible, [("generate", "veryslow", ONCE)], material)
    assert sum(outcome.duplicates for outcome in outcomes) == 0, report(outcomes)
    assert all(outcome.ok and outcome.attempts == 1 for outcome in outcomes), report(outcomes)


@pytest.mark.parametrize("spec", [("token", "503", PERSISTENT), ("token", "drop", ONCE), ("list", "429ra", ONCE),
                                  ("discovery", "slow", ONCE)], ids="-".join)
def test_faults_on_calls_without_a_key_set(ansible, material, spec):
    """Token, discovery and list name no key set: each case runs alone, its fault hits the next matching request."""
    (outcome,) = run(ansible, [spec], material)
    assert not outcome.problems, report([outcome])
    if outcome.case.call.key == "list":
        assert outcome.ok and outcome.attempts == 2


def test_a_single_token_endpoint_fault_is_absorbed(ansible, material):
    (outcome,) = run(ansible, [("token", "503", ONCE)], material)
    assert outcome.ok, report([outcome])


def test_a_throttled_discovery_says_so(ansible, material):
    (outcome,) = run(ansible, [("discovery", "429", PERSISTENT)], material)
    assert not outcome.problems, report([outcome])
