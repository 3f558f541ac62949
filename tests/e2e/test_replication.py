# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""B2C's replication delay (issue 11 part 1): a key set the run itself created answers AADB2C95052 (or AADB2C90073) to
key operations for its first seconds. Every module that adds keys waits for it, within its own budget of about a
minute, and ends the run with exactly one key; a set that existed before the run is not waited for."""

from __future__ import annotations

import time

import pytest

from conftest import key_task, keyset_keys, routes
from reliability.harness import make_upload_material

# What a run that gives up on a set that never became ready says (plugins/module_utils/_core/graph.py).
NOT_READY = "the key set exists (created moments ago) but B2C has not made it ready for keys yet: gave up after"
NOTHING_ADDED = "no key was added: run the task again in a few minutes"
# Seconds of waiting a run spends at most on one key set's replication (REPLICATION_BUDGET).
BUDGET = 60


def batch_task(name="batch", **args):
    return {"name": name, "entra.b2c.b2c_keyset_key_batch": args, "ignore_errors": True}


def key_answers(control, route="keys.generate", keyset=None) -> list:
    """The statuses of one key route's requests, in order (optionally for one key set)."""
    return [entry["status"] for entry in control.requests()
            if entry["route"] == route and keyset in (None, entry.get("keyset"))]


def assert_waited_then_added_once(control, result, keyset_id, route="keys.generate"):
    """Refused while replicating, then one success: one key, and the wait in the result."""
    answers = key_answers(control, route, keyset_id)
    assert answers[-1] == 200 and answers.count(200) == 1, answers
    assert answers[0] in (400, 404), answers  # the first attempt met the delay: the test tests something
    assert len(keyset_keys(control, keyset_id)) == 1
    assert result["replication_wait"] > 0, result
    if "key" in result:
        assert result["key"]["kid"] == keyset_keys(control, keyset_id)[0]["kid"]


def test_check_mode_predicts_one_new_key_and_writes_nothing(ansible, control, replication_delay):
    replication_delay(3)
    result = ansible.playbook([key_task(keyset="Fresh", use="sig", valid_for="30d")], check=True, diff=True).result()
    assert result["changed"] is True and result["reason"] == "keyset_missing" and result["key"] is None
    assert result["diff"]["after"]["keyset"] == "B2C_1A_Fresh"
    planned = result["diff"]["after"]["keyset_keys"]
    assert len(planned) == 1 and planned[0]["use"] == "sig" and planned[0]["kty"] == "RSA"
    assert "replication_wait" not in result
    assert control.state()["keysets"] == [] and routes(control, "keysets.create") == []


@pytest.mark.parametrize("error, get_fails, generic", [
    pytest.param("AADB2C95052", False, False, marks=pytest.mark.compat), ("AADB2C90073", False, False),
    ("AADB2C95052", True, False), ("AADB2C90073", True, False), ("AADB2C95052", False, True),
], ids=["95052", "90073", "95052-get-fails", "90073-get-fails", "generic-code"])
def test_key_module_ends_with_one_key_and_says_how_long_it_waited(ansible, control, replication_delay, error,
                                                                  get_fails, generic):
    replication_delay(3, error=error, get_fails=get_fails)
    control.configure(generic_error_code=generic)
    run = ansible.playbook([key_task(keyset="Fresh", use="sig", valid_for="30d")], verbosity=1)
    result = run.result()
    assert result.get("failed") is not True and "msg" not in result, result.get("msg")
    assert result["changed"] is True and result["reason"] == "keyset_missing"
    assert_waited_then_added_once(control, result, "B2C_1A_Fresh")
    assert '"replication_wait": %s' % result["replication_wait"] in run.stdout  # what -v shows
    if get_fails:
        assert 400 in key_answers(control, "keysets.get", "B2C_1A_Fresh")  # the reconcile read met the delay too

    again = ansible.playbook([key_task(keyset="Fresh", use="sig", valid_for="30d")]).result()
    assert again["changed"] is False and "replication_wait" not in again
    assert len(keyset_keys(control, "B2C_1A_Fresh")) == 1


def test_secret_module_ends_with_one_key(ansible, control, replication_delay):
    replication_delay(3)
    ansible.secrets.add("replicated-secret-value-1")
    task = {"name": "key", "entra.b2c.b2c_keyset_secret": {"keyset": "FreshSecret", "use": "sig", "valid_for": "30d",
                                                           "secret": "replicated-secret-value-1"}, "ignore_errors": True}
    result = ansible.playbook([task]).result()
    assert result.get("failed") is not True and "msg" not in result, result.get("msg")
    assert result["changed"] is True
    assert_waited_then_added_once(control, result, "B2C_1A_FreshSecret", "keys.uploadSecret")


@pytest.mark.parametrize("form", ["certificate", "pkcs12"])
def test_certificate_module_ends_with_one_key(ansible, control, replication_delay, form):
    replication_delay(3, get_fails=True)
    material = make_upload_material()
    ansible.secrets |= material.secrets
    args = {"keyset": "FreshCert"}
    if form == "certificate":
        args["certificate"] = "{{ upload_certificate }}"
    else:
        args.update(pkcs12="{{ upload_pkcs12 }}", pkcs12_password="{{ upload_pkcs12_password }}")
    play_vars = {"upload_certificate": material.certificate_pem, "upload_pkcs12": material.pkcs12_b64,
                 "upload_pkcs12_password": material.pkcs12_password}
    task = {"name": "key", "entra.b2c.b2c_keyset_certificate": args, "ignore_errors": True}
    result = ansible.playbook([task], play_extra={"vars": play_vars}).result()
    assert result.get("failed") is not True and "msg" not in result, result.get("msg")
    assert result["changed"] is True
    route = "keys.uploadCertificate" if form == "certificate" else "keys.uploadPkcs12"
    assert_waited_then_added_once(control, result, "B2C_1A_FreshCert", route)


@pytest.mark.compat
def test_batch_module_ends_with_one_key_per_set(ansible, control, replication_delay):
    replication_delay(3, error="AADB2C90073")
    task = batch_task(keysets=[{"keyset": "FreshSig", "use": "sig"}, {"keyset": "FreshEnc", "use": "enc"}],
                      valid_for="30d")
    result = ansible.playbook([task]).result("batch")
    assert result.get("failed") is not True and "msg" not in result, result.get("msg")
    assert result["changed"] is True
    for entry in result["results"]:
        assert_waited_then_added_once(control, entry, entry["keyset"])


def test_role_ends_with_the_starter_pack(ansible, control, replication_delay):
    replication_delay(3)
    include = {"name": "policy_keys", "ansible.builtin.include_role": {"name": "entra.b2c.policy_keys"}}
    run = ansible.playbook([include])
    assert run.rc == 0, run.output[-3000:]
    for name in ("B2C_1A_TokenSigningKeyContainer", "B2C_1A_TokenEncryptionKeyContainer"):
        answers = key_answers(control, keyset=name)
        assert answers[0] == 400 and answers.count(200) == 1, answers
        assert len(keyset_keys(control, name)) == 1


def test_a_set_that_existed_before_the_run_is_not_waited_for(ansible, control, replication_delay):
    """Only the run that created the set (or found it just created) waits: a set that existed and is missing now was
    deleted, or made by another task moments ago; the failure says both, and a re-run later settles it."""
    replication_delay(30)
    run = ansible.playbook([{"name": "set", "entra.b2c.b2c_keyset": {"keyset": "Made"}},
                            key_task(keyset="Made", use="sig", valid_for="30d")])
    entry = run.task("key")
    result = entry["result"]
    assert entry["status"] == "failed" and result["changed"] is False
    assert "(HTTP 400, AADB2C95052); B2C does not know the key set (yet): it was deleted meanwhile, or created moments " \
           "ago by another task or job and not replicated yet; run the task again in a minute [request-id" in result["msg"]
    assert key_answers(control) == [400] and keyset_keys(control, "B2C_1A_Made") == []


def test_past_the_budget_one_clear_failure_and_a_later_re_run_adds_the_key(ansible, control, replication_delay):
    """A set that does not replicate within the budget: the run fails saying so, names the set it created, adds
    nothing; a re-run once the set is ready adds the one key."""
    delay = BUDGET + 5
    replication_delay(delay)
    entry = ansible.playbook([key_task(keyset="Slow", use="sig", valid_for="30d")]).task("key")
    result = entry["result"]
    assert entry["status"] == "failed"
    assert result["changed"] is True and result["keyset"] == "B2C_1A_Slow" and result["reason"] == "keyset_missing"
    assert result["msg"].startswith("Graph POST /trustFramework/keySets/B2C_1A_Slow/generateKey failed: ")
    assert NOT_READY in result["msg"] and NOTHING_ADDED in result["msg"] and "request-id" in result["msg"]
    assert BUDGET - 5 <= result["replication_wait"] <= BUDGET
    assert set(key_answers(control)) == {400} and keyset_keys(control, "B2C_1A_Slow") == []

    (created,) = [entry["ts"] for entry in control.requests() if entry["route"] == "keysets.create"]
    time.sleep(max(0.0, created + delay + 1 - time.time()))
    again = ansible.playbook([key_task(keyset="Slow", use="sig", valid_for="30d")]).result()
    assert again.get("failed") is not True and "msg" not in again, again.get("msg")
    assert again["changed"] is True and len(keyset_keys(control, "B2C_1A_Slow")) == 1
