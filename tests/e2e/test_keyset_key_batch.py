# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""b2c_keyset_key_batch: the batch form, end to end."""

from __future__ import annotations

import time

import pytest
from conftest import keyset_keys, routes

DAY = 86400


def batch_task(name="batch", **args):
    return {"name": name, "entra.b2c.b2c_keyset_key_batch": args, "ignore_errors": True}


STARTER = [{"keyset": "TokenSigningKeyContainer", "use": "sig"}, {"keyset": "TokenEncryptionKeyContainer", "use": "enc"}]


@pytest.mark.compat
def test_starter_pack_check_apply_check_apply(ansible, control):
    task = batch_task(keysets=STARTER, valid_for="365d", renew_before="30d")
    check = ansible.playbook([task], check=True).result("batch")
    assert check["changed"] is True
    assert [r["reason"] for r in check["results"]] == ["keyset_missing", "keyset_missing"]
    assert control.state()["keysets"] == []

    applied = ansible.playbook([task]).result("batch")
    assert applied["changed"] is True
    assert [(r["keyset"], r["key"]["use"]) for r in applied["results"]] == [
        ("B2C_1A_TokenSigningKeyContainer", "sig"), ("B2C_1A_TokenEncryptionKeyContainer", "enc")]

    control.clear_requests()
    again = ansible.playbook([task], check=True).result("batch")
    assert again["changed"] is False
    final = ansible.playbook([task]).result("batch")
    assert final["changed"] is False and [r["reason"] for r in final["results"]] == ["valid", "valid"]
    assert [r for r in routes(control) if r not in ("discovery",)] == ["token", "keysets.get", "keysets.get"] * 2


def test_twenty_sets_one_token_parallel_reads(ansible, control):
    now = int(time.time())
    control.seed([{"id": "B2C_1A_S%02d" % i, "keys": [{"use": "sig", "kty": "RSA", "nbf": now - DAY,
                                                       "exp": now + (5 if i % 2 else 90) * DAY}]} for i in range(20)])
    control.clear_requests()
    result = ansible.playbook([batch_task(use="sig", renew_before="30d", valid_for="365d",
                                          keysets=[{"keyset": "S%02d" % i} for i in range(20)])]).result("batch")
    assert result["changed"] is True
    assert [r["reason"] for r in result["results"]] == ["expiring" if i % 2 else "valid" for i in range(20)]
    log = routes(control)
    assert log.count("token") == 1 and log.count("keysets.get") == 20 and log.count("keys.generate") == 10


def test_entry_overrides_and_defaults(ansible, control):
    keysets = [{"keyset": "A", "valid_for": "10d"}, {"keyset": "B", "use": "enc", "exp": int(time.time()) + 5 * DAY}]
    result = ansible.playbook([batch_task(use="sig", valid_for="365d", keysets=keysets)]).result("batch")
    first, second = result["results"]
    assert first["key"]["use"] == "sig" and first["key"]["exp"] - first["key"]["nbf"] == 10 * DAY
    assert second["key"]["use"] == "enc" and second["key"]["exp"] - second["key"]["nbf"] < 6 * DAY


def test_one_failing_entry_does_not_stop_the_others(ansible, control):
    control.seed([{"id": "B2C_1A_Oct", "keys": [{"use": "sig", "kty": "oct"}]}])
    entry = ansible.playbook([batch_task(use="sig", keysets=[{"keyset": "Oct"}, {"keyset": "Fresh"}])]).task("batch")
    assert entry["status"] == "failed"
    assert "1 of 2 key sets failed" in entry["result"]["msg"] and "AADB2C95032" in entry["result"]["msg"]
    results = entry["result"]["results"]
    assert results[0]["failed"] is True and results[1]["changed"] is True
    assert len(keyset_keys(control, "B2C_1A_Fresh")) == 1 and len(keyset_keys(control, "B2C_1A_Oct")) == 1


def test_bad_entries_fail_before_any_request(ansible, control):
    cases = {
        "no-use": dict(keysets=[{"keyset": "A"}]),
        "twice": dict(use="sig", keysets=[{"keyset": "A"}, {"keyset": "B2C_1A_A"}]),
        "bad-time": dict(use="sig", keysets=[{"keyset": "A", "exp": "not a date"}]),
        "bad-name": dict(use="sig", keysets=[{"keyset": "../x"}]),
    }
    run = ansible.playbook([batch_task(name=name, **args) for name, args in cases.items()])
    messages = {name: run.task(name)["result"]["msg"] for name in cases}
    assert "keysets[0].use" in messages["no-use"]
    assert "listed twice" in messages["twice"]
    assert "keysets[0]" in messages["bad-time"] and "exp" in messages["bad-time"]
    assert "keyset" in messages["bad-name"]
    assert control.requests() == []


@pytest.mark.compat
def test_diff_lists_every_set(ansible, control):
    result = ansible.playbook([batch_task(keysets=STARTER)], diff=True).result("batch")
    before, after = result["diff"]["before"]["keysets"], result["diff"]["after"]["keysets"]
    assert [b["keyset"] for b in before] == [None, None]
    assert [a["keyset"] for a in after] == ["B2C_1A_TokenSigningKeyContainer", "B2C_1A_TokenEncryptionKeyContainer"]
