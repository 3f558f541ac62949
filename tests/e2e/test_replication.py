# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""B2C's replication delay (issue 11 part 1): a key set the run itself created answers AADB2C95052 to key operations
for its first seconds. The module-side retry is not built yet: the runs that must survive it are strict xfails, so
they start failing loudly (XPASS) the day the retry lands and must then lose their mark."""

from __future__ import annotations

import pytest

from conftest import key_task, keyset_keys, routes

NOT_YET = pytest.mark.xfail(strict=True, reason="issue 11 part 1: the module-side retry of a key operation answered "
                                                "AADB2C95052/AADB2C90073 right after the run created the set is not built yet")


def batch_task(name="batch", **args):
    return {"name": name, "entra.b2c.b2c_keyset_key_batch": args, "ignore_errors": True}


def test_the_delay_is_really_on(ansible, control, replication_delay):
    """The harness works: a run that creates a set and adds at once meets the delay (and fails today)."""
    replication_delay(3)
    ansible.playbook([key_task(keyset="Fresh", use="sig", valid_for="30d")])
    answers = [(item["route"], item["status"]) for item in control.requests() if item["route"].startswith("keys.")]
    assert answers[0] == ("keys.generate", 400), answers


def test_check_mode_predicts_the_new_key(ansible, control, replication_delay):
    replication_delay(3)
    result = ansible.playbook([key_task(keyset="Fresh", use="sig", valid_for="30d")], check=True, diff=True).result()
    assert result["changed"] is True and result["reason"] == "keyset_missing" and result["key"] is None
    assert control.state()["keysets"] == []


@NOT_YET
@pytest.mark.parametrize("error", ["AADB2C95052", "AADB2C90073"])
def test_key_module_ends_with_one_key(ansible, control, replication_delay, error):
    replication_delay(3, error=error)
    result = ansible.playbook([key_task(keyset="Fresh", use="sig", valid_for="30d")]).result()
    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is True and result["reason"] == "keyset_missing"
    assert len(keyset_keys(control, "B2C_1A_Fresh")) == 1


@NOT_YET
def test_secret_module_ends_with_one_key(ansible, control, replication_delay):
    replication_delay(3)
    ansible.secrets.add("replicated-secret-value-1")
    task = {"name": "key", "entra.b2c.b2c_keyset_secret": {"keyset": "FreshSecret", "use": "sig",
                                                           "secret": "replicated-secret-value-1"}, "ignore_errors": True}
    result = ansible.playbook([task]).result()
    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is True and len(keyset_keys(control, "B2C_1A_FreshSecret")) == 1


@NOT_YET
def test_batch_module_ends_with_one_key_per_set(ansible, control, replication_delay):
    replication_delay(3)
    task = batch_task(keysets=[{"keyset": "FreshSig", "use": "sig"}, {"keyset": "FreshEnc", "use": "enc"}], valid_for="30d")
    result = ansible.playbook([task]).result("batch")
    assert result.get("failed") is not True, result.get("msg")
    assert [len(keyset_keys(control, name)) for name in ("B2C_1A_FreshSig", "B2C_1A_FreshEnc")] == [1, 1]


@NOT_YET
def test_role_ends_with_the_starter_pack(ansible, control, replication_delay):
    replication_delay(3)
    include = {"name": "policy_keys", "ansible.builtin.include_role": {"name": "entra.b2c.policy_keys"}}
    run = ansible.playbook([include])
    assert run.rc == 0, run.output[-3000:]
    assert [len(keyset_keys(control, name)) for name in
            ("B2C_1A_TokenSigningKeyContainer", "B2C_1A_TokenEncryptionKeyContainer")] == [1, 1]
    assert routes(control).count("keys.generate") >= 2
