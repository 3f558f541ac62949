# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""b2c_keyset_secret end to end: real ansible-playbook runs against the emulator."""

from __future__ import annotations

import json
import time

from conftest import keyset_keys, routes

DAY = 86400
# Distinctive values, so a leak anywhere in the output is found by a plain search.
SECRET = "s3cr3t-Policy-Value-7f1c9a"
ROTATED_1 = "rotated-Value-1-c04e"
ROTATED_2 = "rotated-Value-2-9b1d"
# Plays reach them through variables, as a vault would hold them: a literal value in a play would be shown by
# ansible-core itself (2.19+ quotes the play's source around a failed task).
SECRET_VARS = {"policy_secret": SECRET, "rotated_1": ROTATED_1, "rotated_2": ROTATED_2}
WRITE_ROUTES = {"keysets.create", "keys.generate", "keysets.replace", "keysets.delete", "keys.uploadSecret",
                "keys.uploadCertificate", "keys.uploadPkcs12", "keys_v2.patch"}


def secret_task(name="secret", **args) -> dict:
    """A b2c_keyset_secret task that never aborts the play, so later tasks and assertions still see its result."""
    args.setdefault("secret", "{{ policy_secret }}")
    return {"name": name, "entra.b2c.b2c_keyset_secret": args, "ignore_errors": True}


def play(ansible, tasks, **kwargs):
    """Run a play with SECRET_VARS in an extra-vars file (scanned for by the harness like the emulator's secrets)."""
    path = ansible.workdir / "secrets.json"
    path.write_text(json.dumps(SECRET_VARS), encoding="utf-8")
    ansible.secrets.update(SECRET_VARS.values())
    return ansible.playbook(tasks, extra_args=["-e", "@%s" % path], **kwargs)


def writes(control) -> list:
    return [route for route in routes(control) if route in WRITE_ROUTES]


def seed(control, name, *keys):
    control.seed([{"id": name, "keys": list(keys)}])


def stored_secrets(emulator, keyset_id) -> dict:
    """kid -> the k the emulator stored. Graph never returns k, so this reads the in-process store directly."""
    store = emulator.service.store
    with store.lock:
        keyset = store._keysets.get(keyset_id) or {"keys": []}  # pylint: disable=protected-access
        return {key["kid"]: key.get("k") for key in keyset["keys"]}


def assert_no_secret(run):
    recorded = json.dumps(run.results)
    for secret in SECRET_VARS.values():
        assert secret not in run.output and secret not in recorded


def test_check_apply_check_apply_sequence(ansible, control, emulator):
    task = secret_task(keyset="RestApiKey", use="sig", valid_for="365d", renew_before="30d")

    first_check = play(ansible, [task], check=True).result("secret")
    assert first_check["changed"] is True
    assert first_check["reason"] == "keyset_missing"
    assert first_check["key"] is None
    assert first_check["keyset"] == "B2C_1A_RestApiKey"
    assert writes(control) == []
    assert control.state()["keysets"] == []

    applied = play(ansible, [task]).result("secret")
    assert applied["changed"] is True
    assert applied["reason"] == "keyset_missing"
    key = applied["key"]
    assert key["use"] == "sig" and key["kty"] == "oct" and key["kid"]
    assert "k" not in key
    assert key["exp"] - key["nbf"] == 365 * DAY
    assert writes(control) == ["keysets.create", "keys.uploadSecret"]
    assert stored_secrets(emulator, "B2C_1A_RestApiKey") == {key["kid"]: SECRET}
    assert applied["keyset_keys"] == [key] and "keys" not in applied  # one name for the list

    control.clear_requests()
    second_check = play(ansible, [task], check=True).result("secret")
    assert second_check["changed"] is False
    assert second_check["reason"] == "valid"
    assert second_check["key"]["kid"] == key["kid"]

    again = play(ansible, [task]).result("secret")
    assert again["changed"] is False
    assert again["reason"] == "valid"
    assert again["key"]["kid"] == key["kid"]
    assert writes(control) == []
    assert len(keyset_keys(control, "B2C_1A_RestApiKey")) == 1


def test_update_secret_always_uploads_on_every_run(ansible, control, emulator):
    seed(control, "B2C_1A_Rotate", {"use": "enc", "kty": "oct", "nbf": int(time.time()) - DAY})
    old_kid = keyset_keys(control, "B2C_1A_Rotate")[0]["kid"]
    task = secret_task(keyset="Rotate", use="enc", secret="{{ rotated_1 }}", update_secret="always")

    checked = play(ansible, [task], check=True).result("secret")
    assert checked["changed"] is True and checked["reason"] == "update_secret" and checked["key"] is None
    assert writes(control) == []

    first = play(ansible, [task]).result("secret")
    # B2C activates the key with the latest nbf; two uploads within one second tie, and which of them wins is not
    # documented: space them so the second one is the newest.
    time.sleep(1.1)
    second = play(ansible, [secret_task(keyset="Rotate", use="enc", secret="{{ rotated_2 }}",
                                        update_secret="always")]).result("secret")
    for result in (first, second):
        assert result["changed"] is True, result
        assert result["reason"] == "update_secret"
    assert writes(control) == ["keys.uploadSecret", "keys.uploadSecret"]
    stored = stored_secrets(emulator, "B2C_1A_Rotate")
    assert len(stored) == 3
    assert stored[first["key"]["kid"]] == ROTATED_1
    assert stored[second["key"]["kid"]] == ROTATED_2
    assert old_kid not in (first["key"]["kid"], second["key"]["kid"])

    # Back to the default: the newest key qualifies and nothing is uploaded.
    settled = play(ansible, [secret_task(keyset="Rotate", use="enc", secret="{{ rotated_2 }}")]).result("secret")
    assert settled["changed"] is False and settled["reason"] == "valid"
    assert settled["key"]["kid"] == second["key"]["kid"]


def test_expired_secret_is_replaced_by_uploading_it_again(ansible, control, emulator):
    now = int(time.time())
    seed(control, "B2C_1A_Idp", {"use": "sig", "kty": "oct", "nbf": now - 400 * DAY, "exp": now - DAY})
    result = play(ansible, [secret_task(keyset="Idp", use="sig", valid_for="90d")]).result("secret")
    assert result["changed"] is True, result
    assert result["reason"] == "expired"
    assert len(result["keyset_keys"]) == 2
    assert result["key"]["exp"] - result["key"]["nbf"] == 90 * DAY and result["key"]["exp"] > now
    assert stored_secrets(emulator, "B2C_1A_Idp")[result["key"]["kid"]] == SECRET


def test_secret_never_appears_in_output(ansible, control):
    seed(control, "B2C_1A_Rsa", {"use": "sig", "kty": "RSA"})
    run = play(ansible, [
        secret_task(name="apply", keyset="Leak", use="sig", valid_for="30d"),
        secret_task(name="always", keyset="Leak", use="sig", update_secret="always"),
        secret_task(name="refused", keyset="Rsa", use="sig"),
        {"name": "registered", "register": "registered",
         "entra.b2c.b2c_keyset_secret": {"keyset": "Leak", "use": "sig", "secret": "{{ policy_secret }}"}},
        {"name": "echo", "ansible.builtin.debug": {"var": "registered"}},
    ], diff=True, verbosity=3)
    assert run.task("apply")["status"] == "ok" and run.result("apply")["changed"] is True
    assert run.task("always")["status"] == "ok" and run.result("always")["changed"] is True
    assert run.task("refused")["status"] == "failed"
    assert run.result("registered")["changed"] is False
    # ansible-core before 2.19 also returns the module arguments (invocation) and shows them at -vvv: masked there.
    assert_no_secret(run)


def test_mixed_kty_or_use_is_refused_before_any_write(ansible, control):
    seed(control, "B2C_1A_Rsa", {"use": "sig", "kty": "RSA", "status": "disabled"})
    seed(control, "B2C_1A_Enc", {"use": "enc", "kty": "oct"})
    run = play(ansible, [
        secret_task(name="rsa", keyset="Rsa", use="sig"),
        secret_task(name="rsa-always", keyset="Rsa", use="sig", update_secret="always"),
        secret_task(name="use", keyset="Enc", use="sig"),
    ])
    for name in ("rsa", "rsa-always"):
        entry = run.task(name)
        assert entry["status"] == "failed"
        assert "AADB2C95032" in entry["result"]["msg"] and "RSA" in entry["result"]["msg"]
        assert "kty=" not in entry["result"]["msg"]  # this module has no kty option to suggest
    entry = run.task("use")
    assert entry["status"] == "failed"
    assert "AADB2C95042" in entry["result"]["msg"] and "use=enc" in entry["result"]["msg"]
    assert writes(control) == []


def test_invalid_arguments_fail_before_any_request(ansible, control):
    cases = [
        (dict(secret=""), "secret"),
        (dict(secret="   "), "secret"),
        (dict(valid_for="ninety days"), "valid_for"),
        (dict(nbf="2030-01-02", exp="2030-01-01"), "nbf"),
        (dict(exp="2001-01-01"), "exp"),
        (dict(update_secret="sometimes"), "update_secret"),
    ]
    run = play(ansible, [secret_task(name="case-%d" % i, keyset="Api", use="sig", **args)
                         for i, (args, _option) in enumerate(cases)])
    for i, (_args, option) in enumerate(cases):
        entry = run.task("case-%d" % i)
        assert entry["status"] == "failed", entry
        assert option in entry["result"]["msg"], entry["result"]["msg"]
    assert control.requests() == []


def test_missing_keyset_with_create_keyset_false_fails_without_writing(ansible, control):
    entry = play(ansible, [secret_task(keyset="Nowhere", use="sig", create_keyset=False)]).task("secret")
    assert entry["status"] == "failed"
    assert "B2C_1A_Nowhere does not exist" in entry["result"]["msg"]
    assert writes(control) == []


def test_commit_then_fail_on_upload_leaves_exactly_one_key(ansible, control, emulator):
    seed(control, "B2C_1A_Api")
    control.add_fault("keys.uploadSecret", [{"commit": True, "status": 500}])
    result = play(ansible, [secret_task(keyset="Api", use="sig", valid_for="10d")]).result("secret")
    assert result["changed"] is True, result
    stored = stored_secrets(emulator, "B2C_1A_Api")
    assert list(stored) == [result["key"]["kid"]]
    assert routes(control).count("keys.uploadSecret") == 1


def test_check_mode_diff_shows_the_planned_key_without_the_secret(ansible, control):
    run = play(ansible, [secret_task(keyset="Planned", use="enc", valid_for="30d")], check=True, diff=True)
    result = run.result("secret")
    assert result["changed"] is True and result["key"] is None
    assert result["diff"]["before"] == {"keyset": None, "keyset_keys": []}
    planned = result["diff"]["after"]["keyset_keys"]
    assert len(planned) == 1
    assert planned[0]["use"] == "enc" and planned[0]["kty"] == "oct" and "k" not in planned[0]
    assert planned[0]["exp"] - planned[0]["nbf"] == 30 * DAY
    assert control.state()["keysets"] == []
    assert_no_secret(run)


def test_secret_in_the_group_defaults_is_never_a_credential(ansible, control):
    """`secret` is this module's value to upload, never an alias of client_secret: the app's secret set under that name
    in module_defaults does not authenticate (test_public_names.py: the other modules refuse the option)."""
    emu = ansible.emulator
    defaults = ansible.connection(client_secret=None, tenant_id=None, client_id=None, secret=emu.client_secret)
    task = {"name": "secret", "entra.b2c.b2c_keyset_secret": {"keyset": "Api", "use": "sig"}, "ignore_errors": True}
    alone = ansible.playbook([task], defaults=defaults).task("secret")
    assert alone["status"] == "failed" and "no credentials" in alone["result"]["msg"]
    assert writes(control) == []
