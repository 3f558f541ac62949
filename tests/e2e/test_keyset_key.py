# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""b2c_keyset_key end to end: real ansible-playbook / ansible runs against the emulator."""

from __future__ import annotations

import time

import pytest
from conftest import key_task, keyset_keys, routes

DAY = 86400
WRITE_ROUTES = {"keysets.create", "keys.generate", "keysets.replace", "keysets.delete", "keys.uploadSecret",
                "keys.uploadCertificate", "keys.uploadPkcs12", "keys_v2.patch"}


def writes(control) -> list:
    return [route for route in routes(control) if route in WRITE_ROUTES]


def seed(control, name, *keys):
    control.seed([{"id": name, "keys": list(keys)}])


@pytest.mark.compat
def test_check_apply_check_apply_sequence(ansible, control):
    task = key_task(keyset="TokenSigningKeyContainer", use="sig", valid_for="365d", renew_before="30d")

    first_check = ansible.playbook([task], check=True).result()
    assert first_check["changed"] is True
    assert first_check["reason"] == "keyset_missing"
    assert first_check["key"] is None
    assert first_check["keyset"] == "B2C_1A_TokenSigningKeyContainer"
    assert writes(control) == []
    assert control.state()["keysets"] == []

    applied = ansible.playbook([task]).result()
    assert applied["changed"] is True
    assert applied["reason"] == "keyset_missing"
    key = applied["key"]
    assert key["use"] == "sig" and key["kty"] == "RSA" and key["kid"] and key["n"] and key["e"]
    assert key["exp"] - key["nbf"] == 365 * DAY
    assert key["not_before"].endswith("Z") and key["expires"].endswith("Z")
    assert writes(control) == ["keysets.create", "keys.generate"]
    assert [k["kid"] for k in applied["keyset_keys"]] == [key["kid"]] and "keys" not in applied  # one name for the list
    stored = keyset_keys(control, "B2C_1A_TokenSigningKeyContainer")
    assert [k["kid"] for k in stored] == [key["kid"]]

    control.clear_requests()
    second_check = ansible.playbook([task], check=True).result()
    assert second_check["changed"] is False
    assert second_check["reason"] == "valid"
    assert second_check["key"]["kid"] == key["kid"]

    again = ansible.playbook([task]).result()
    assert again["changed"] is False
    assert again["reason"] == "valid"
    assert again["key"]["kid"] == key["kid"]
    assert writes(control) == []
    assert len(keyset_keys(control, "B2C_1A_TokenSigningKeyContainer")) == 1


def test_no_change_run_makes_one_token_request_and_one_read(ansible, control):
    now = int(time.time())
    seed(control, "B2C_1A_Sig", {"use": "sig", "kty": "RSA", "nbf": now - DAY, "exp": now + 90 * DAY})
    control.clear_requests()
    result = ansible.playbook([key_task(keyset="Sig", use="sig")]).result()
    assert result["changed"] is False, result
    graph_and_token = [route for route in routes(control) if route not in ("discovery", "jwks")]
    assert graph_and_token == ["token", "keysets.get"]


def test_expired_key_gets_a_successor(ansible, control):
    now = int(time.time())
    seed(control, "B2C_1A_Sig", {"use": "sig", "kty": "RSA", "nbf": now - 400 * DAY, "exp": now - DAY})
    result = ansible.playbook([key_task(keyset="Sig", use="sig", valid_for="90d")]).result()
    assert result["changed"] is True
    assert result["reason"] == "expired"
    assert len(result["keyset_keys"]) == 2
    assert result["key"]["exp"] > now


def test_key_expiring_within_renew_before_is_renewed_ahead(ansible, control):
    now = int(time.time())
    seed(control, "B2C_1A_Sig", {"use": "sig", "kty": "RSA", "nbf": now - 300 * DAY, "exp": now + 10 * DAY})
    untouched = ansible.playbook([key_task(keyset="Sig", use="sig", renew_before="5d")]).result()
    assert untouched["changed"] is False and untouched["reason"] == "valid"

    renewed = ansible.playbook([key_task(keyset="Sig", use="sig", renew_before="30d", valid_for="365d")]).result()
    assert renewed["changed"] is True
    assert renewed["reason"] == "expiring"
    assert len(keyset_keys(control, "B2C_1A_Sig")) == 2

    settled = ansible.playbook([key_task(keyset="Sig", use="sig", renew_before="30d", valid_for="365d")]).result()
    assert settled["changed"] is False
    assert settled["key"]["kid"] == renewed["key"]["kid"]


def test_not_yet_valid_key_does_not_count_for_now(ansible, control):
    now = int(time.time())
    seed(control, "B2C_1A_Sig", {"use": "sig", "kty": "RSA", "nbf": now + 10 * DAY})
    result = ansible.playbook([key_task(keyset="Sig", use="sig")]).result()
    assert result["changed"] is True
    assert result["reason"] == "not_yet_valid"


def test_future_activation_is_idempotent(ansible, control):
    nbf = int(time.time()) + 20 * DAY
    task = key_task(keyset="Sig", use="sig", nbf=nbf, valid_for="30d")
    first = ansible.playbook([task]).result()
    second = ansible.playbook([task]).result()
    assert first["changed"] is True and first["key"]["nbf"] == nbf
    assert second["changed"] is False and second["key"]["kid"] == first["key"]["kid"]


def test_disabled_key_does_not_count(ansible, control):
    now = int(time.time())
    seed(control, "B2C_1A_Sig", {"use": "sig", "kty": "RSA", "nbf": now - DAY, "status": "disabled"})
    result = ansible.playbook([key_task(keyset="Sig", use="sig")]).result()
    assert result["changed"] is True
    assert result["reason"] == "no_key"


def test_missing_keyset_with_create_keyset_false_fails_without_writing(ansible, control):
    run = ansible.playbook([key_task(keyset="Nowhere", use="sig", create_keyset=False)])
    entry = run.task("key")
    assert entry["status"] == "failed"
    assert "B2C_1A_Nowhere does not exist" in entry["result"]["msg"]
    assert "create_keyset" in entry["result"]["msg"]
    assert writes(control) == []


def test_mixed_kty_is_refused_before_any_write(ansible, control):
    seed(control, "B2C_1A_Sig", {"use": "sig", "kty": "RSA", "nbf": 1, "exp": 2})
    entry = ansible.playbook([key_task(keyset="Sig", use="sig", kty="oct")]).task("key")
    assert entry["status"] == "failed"
    assert "AADB2C95032" in entry["result"]["msg"] and "RSA" in entry["result"]["msg"]
    assert writes(control) == []


def test_mixed_use_is_refused_before_any_write(ansible, control):
    seed(control, "B2C_1A_Sig", {"use": "sig", "kty": "RSA", "status": "disabled"})
    entry = ansible.playbook([key_task(keyset="Sig", use="enc")]).task("key")
    assert entry["status"] == "failed"
    assert "AADB2C95042" in entry["result"]["msg"]
    assert writes(control) == []


def test_diff_shows_public_facts_only(ansible, control):
    run = ansible.playbook([key_task(keyset="Enc", use="enc", valid_for="30d")], diff=True)
    result = run.result()
    assert result["diff"]["before"] == {"keyset": None, "keyset_keys": []}
    after = result["diff"]["after"]
    assert after["keyset"] == "B2C_1A_Enc"
    assert [k["kid"] for k in after["keyset_keys"]] == [result["key"]["kid"]]
    for private in ("d", "p", "q", "dp", "dq", "qi", "k"):
        assert private not in after["keyset_keys"][0]
    assert "B2C_1A_Enc" in run.stdout  # the diff callback rendered it


@pytest.mark.compat
def test_check_mode_diff_shows_the_planned_key(ansible, control):
    result = ansible.playbook([key_task(keyset="Enc", use="enc", valid_for="30d")], check=True, diff=True).result()
    assert result["changed"] is True and result["key"] is None
    planned = result["diff"]["after"]["keyset_keys"]
    assert len(planned) == 1 and planned[0]["use"] == "enc" and "kid" not in planned[0]
    assert control.state()["keysets"] == []


@pytest.mark.compat
def test_adhoc_command(ansible, control):
    conn = ansible.connection()
    args = " ".join("%s=%s" % item for item in conn.items())
    run = ansible.adhoc("keyset=Adhoc use=sig " + args)
    assert run.rc == 0, run.output
    assert run.results[-1]["result"]["changed"] is True
    again = ansible.adhoc("keyset=Adhoc use=sig " + args, check=True)
    assert again.rc == 0 and again.results[-1]["result"]["changed"] is False
    assert len(keyset_keys(control, "B2C_1A_Adhoc")) == 1


def test_invalid_times_fail_before_any_request(ansible, control):
    cases = [
        (dict(nbf="2030-01-02", exp="2030-01-01"), "nbf"),
        (dict(exp="2001-01-01"), "exp"),
        (dict(valid_for="ninety days"), "valid_for"),
        (dict(nbf="yesterday-ish"), "nbf"),
        (dict(renew_before="-3d"), "renew_before"),
        (dict(kty="EC"), "kty"),
    ]
    run = ansible.playbook([key_task(name="case-%d" % i, keyset="Sig", use="sig", **args)
                            for i, (args, _option) in enumerate(cases)])
    for i, (_args, option) in enumerate(cases):
        entry = run.task("case-%d" % i)
        assert entry["status"] == "failed", entry
        assert option in entry["result"]["msg"], entry["result"]["msg"]
    assert control.requests() == []


def test_retry_after_on_read_is_honoured(ansible, control):
    control.add_fault("keysets.get", [{"status": 429, "retry_after": 2}])
    result = ansible.playbook([key_task(keyset="Throttled", use="sig")]).result()
    assert result["changed"] is True, result
    reads = [entry for entry in control.requests() if entry["route"] == "keysets.get"]
    assert [entry["status"] for entry in reads][:2] == [429, 400]  # throttled, then AADB2C90073: missing
    assert reads[1]["ts"] - reads[0]["ts"] >= 2.0


def test_throttled_generate_is_retried_once_the_service_allows(ansible, control):
    control.add_fault("keys.generate", [{"status": 429, "retry_after": 1}])
    result = ansible.playbook([key_task(keyset="Throttled", use="sig")]).result()
    assert result["changed"] is True, result
    assert [e["status"] for e in control.requests() if e["route"] == "keys.generate"] == [429, 200]
    assert len(keyset_keys(control, "B2C_1A_Throttled")) == 1


def test_commit_then_fail_on_generate_leaves_exactly_one_new_key(ansible, control):
    seed(control, "B2C_1A_Sig")
    control.add_fault("keys.generate", [{"commit": True, "status": 500}])
    result = ansible.playbook([key_task(keyset="Sig", use="sig", valid_for="10d")]).result()
    assert result["changed"] is True, result
    stored = keyset_keys(control, "B2C_1A_Sig")
    assert len(stored) == 1
    assert result["key"]["kid"] == stored[0]["kid"]
    assert [e["route"] for e in control.requests() if e["route"] == "keys.generate"] == ["keys.generate"]


def test_dropped_connection_after_commit_leaves_exactly_one_new_key(ansible, control):
    seed(control, "B2C_1A_Sig")
    control.add_fault("keys.generate", [{"commit": True, "drop": True}])
    result = ansible.playbook([key_task(keyset="Sig", use="sig")]).result()
    assert result["changed"] is True, result
    assert len(keyset_keys(control, "B2C_1A_Sig")) == 1


def test_failure_before_commit_is_retried_after_checking_nothing_landed(ansible, control):
    seed(control, "B2C_1A_Sig")
    control.add_fault("keys.generate", [{"status": 503}])
    result = ansible.playbook([key_task(keyset="Sig", use="sig")]).result()
    assert result["changed"] is True, result
    assert [e["status"] for e in control.requests() if e["route"] == "keys.generate"] == [503, 200]
    assert len(keyset_keys(control, "B2C_1A_Sig")) == 1


def test_the_generic_aadb2c_code_still_reads_as_missing(ansible, control):
    """Some B2C answers carry only the code "AADB2C": a missing set is then known by the message alone."""
    control.configure(generic_error_code=True)
    result = ansible.playbook([key_task(keyset="Generic", use="sig", valid_for="30d")]).result()
    assert result["changed"] is True and result["reason"] == "keyset_missing", result.get("msg")
    assert len(keyset_keys(control, "B2C_1A_Generic")) == 1
    reads = [entry["status"] for entry in control.requests() if entry["route"] == "keysets.get"]
    assert reads[0] == 400
    absent = ansible.playbook([{"name": "gone", "entra.b2c.b2c_keyset": {"keyset": "NeverThere", "state": "absent"},
                                "ignore_errors": True}]).result("gone")
    assert absent.get("failed") is not True and absent["changed"] is False, absent.get("msg")
