# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""b2c_keyset_info end to end: tenant and single-set reports and the expiring list, through the real CLIs."""

from __future__ import annotations

import json
import time

from conftest import keyset_keys

DAY = 86400
PRIVATE = ("d", "p", "q", "dp", "dq", "qi", "k")
NOT_GRAPH = ("discovery", "jwks", "token")


def info_task(task="info", **args) -> dict:
    """A b2c_keyset_info task that never aborts the play, so the test sees its result either way."""
    return {"name": task, "entra.b2c.b2c_keyset_info": args, "ignore_errors": True}


def graph_calls(control) -> list:
    return [(entry["route"], entry["keyset"]) for entry in control.requests() if entry["route"] not in NOT_GRAPH]


def graph_routes(control) -> list:
    return [route for route, _keyset in graph_calls(control)]


def by_id(result) -> dict:
    return {keyset["id"]: keyset for keyset in result["keysets"]}


def seed_audit_tenant(control) -> int:
    """One key set per case an audit must tell apart; returns the seeding time."""
    now = int(time.time())
    control.seed([
        {"id": "B2C_1A_Fine", "keys": [{"use": "sig", "kty": "RSA", "nbf": now - DAY, "exp": now + 200 * DAY}]},
        {"id": "B2C_1A_Expiring", "keys": [{"use": "sig", "kty": "RSA", "nbf": now - 300 * DAY, "exp": now + 10 * DAY}]},
        {"id": "B2C_1A_Expired", "keys": [{"use": "enc", "kty": "RSA", "nbf": now - 300 * DAY, "exp": now - 2 * DAY}]},
        {"id": "B2C_1A_Empty", "keys": []},
        {"id": "B2C_1A_DisabledOnly", "keys": [{"use": "sig", "kty": "oct", "nbf": now - DAY, "status": "disabled"}]},
        {"id": "B2C_1A_NeverExpires", "keys": [{"use": "sig", "kty": "oct", "nbf": now - DAY}]},
        {"id": "B2C_1A_Gone.bak", "keys": [{"use": "sig", "kty": "RSA", "nbf": now - 300 * DAY, "exp": now - DAY}]},
    ])
    return now


def test_whole_tenant_in_one_graph_request(ansible, control):
    now = seed_audit_tenant(control)
    control.clear_requests()
    run = ansible.playbook([info_task()])
    result = run.result("info")
    assert run.task("info")["status"] == "ok" and result["changed"] is False
    assert graph_routes(control) == ["keysets.list"]
    assert [entry["route"] for entry in control.requests() if entry["route"] == "token"] == ["token"]

    keysets = by_id(result)
    assert list(keysets) == [keyset["id"] for keyset in control.state()["keysets"]]  # the service's order
    assert "expiring" not in result  # not asked for: absent, not an empty list

    fine = keysets["B2C_1A_Fine"]
    assert fine["valid"] is True
    assert fine["active_key"] == fine["keyset_keys"][0]
    assert fine["active_key"]["kid"] == keyset_keys(control, "B2C_1A_Fine")[0]["kid"]
    assert 199.9 <= fine["active_key"]["expires_in_days"] <= 200.0
    assert fine["active_key"]["expires"].endswith("Z") and fine["active_key"]["exp"] == now + 200 * DAY

    expired = keysets["B2C_1A_Expired"]
    assert expired["valid"] is False and expired["active_key"] is None
    assert -2.01 <= expired["keyset_keys"][0]["expires_in_days"] < -1.99
    assert keysets["B2C_1A_Empty"] == {
        "id": "B2C_1A_Empty", "keyset_keys": [], "active_key": None, "valid": False}
    assert keysets["B2C_1A_DisabledOnly"]["valid"] is False
    never = keysets["B2C_1A_NeverExpires"]
    assert never["valid"] is True and never["active_key"]["expires_in_days"] is None
    assert never["active_key"]["expires"] is None
    assert keysets["B2C_1A_Gone.bak"]["valid"] is False  # backups are reported like any set

    for keyset in result["keysets"]:
        for key in keyset["keyset_keys"]:
            assert not set(PRIVATE) & set(key), key


def test_paged_listing_is_followed(ansible, control):
    control.configure(page_size=2)
    control.seed([{"id": "B2C_1A_Set%d" % i, "keys": []} for i in range(5)])
    control.clear_requests()
    result = ansible.playbook([info_task()]).result("info")
    assert [keyset["id"] for keyset in result["keysets"]] == ["B2C_1A_Set%d" % i for i in range(5)]
    assert graph_routes(control) == ["keysets.list"] * 3


def test_expiring_within_lists_what_needs_attention(ansible, control):
    seed_audit_tenant(control)
    control.clear_requests()
    result = ansible.playbook([info_task(expiring_within="30d")]).result("info")
    assert graph_routes(control) == ["keysets.list"]
    assert [(entry["id"], entry["reason"]) for entry in result["expiring"]] == [
        ("B2C_1A_Expiring", "expiring"),
        ("B2C_1A_Expired", "no_valid_key"),
        ("B2C_1A_Empty", "no_valid_key"),
        ("B2C_1A_DisabledOnly", "no_valid_key"),
    ]  # not Fine, not NeverExpires, and never a backup set
    soon = result["expiring"][0]
    assert 9.9 <= soon["expires_in_days"] <= 10.0
    assert soon["active_key"] == by_id(result)["B2C_1A_Expiring"]["active_key"]
    for entry in result["expiring"][1:]:
        assert entry["active_key"] is None and entry["expires_in_days"] is None

    narrow = ansible.playbook([info_task(expiring_within="5d")]).result("info")
    assert "B2C_1A_Expiring" not in [entry["id"] for entry in narrow["expiring"]]
    wide = ansible.playbook([info_task(expiring_within=str(365 * DAY))]).result("info")
    assert [entry["id"] for entry in wide["expiring"]][:2] == ["B2C_1A_Fine", "B2C_1A_Expiring"]


def test_single_set_is_one_get(ansible, control):
    seed_audit_tenant(control)
    control.clear_requests()
    result = ansible.playbook([info_task(keyset="Expiring", expiring_within="30d")]).result("info")
    assert graph_calls(control) == [("keysets.get", "B2C_1A_Expiring")]
    assert [keyset["id"] for keyset in result["keysets"]] == ["B2C_1A_Expiring"]
    assert [entry["id"] for entry in result["expiring"]] == ["B2C_1A_Expiring"]


def test_missing_set_gives_empty_lists(ansible, control):
    run = ansible.playbook([info_task("plain", keyset="B2C_1A_Nowhere"),
                            info_task("audit", keyset="Nowhere", expiring_within="30d")])
    assert run.task("plain")["status"] == "ok"
    assert run.result("plain")["keysets"] == [] and "expiring" not in run.result("plain")
    assert run.result("audit")["keysets"] == [] and run.result("audit")["expiring"] == []


def test_active_key_is_the_valid_key_with_the_latest_nbf(ansible, control):
    now = int(time.time())
    control.seed([{"id": "B2C_1A_Rotated", "keys": [
        {"kid": "older", "use": "sig", "kty": "RSA", "nbf": now - 100 * DAY, "exp": now + 300 * DAY},
        {"kid": "newer", "use": "sig", "kty": "RSA", "nbf": now - DAY, "exp": now + 20 * DAY},
        {"kid": "future", "use": "sig", "kty": "RSA", "nbf": now + DAY, "exp": now + 400 * DAY},
        {"kid": "disabled", "use": "sig", "kty": "RSA", "nbf": now - 3600, "exp": now + 400 * DAY,
         "status": "disabled"},
    ]}])
    result = ansible.playbook([info_task(keyset="Rotated", expiring_within="30d")]).result("info")
    keyset = result["keysets"][0]
    assert [key["kid"] for key in keyset["keyset_keys"]] == ["older", "newer", "future", "disabled"]
    assert keyset["active_key"]["kid"] == "newer"
    # The active key is what counts: listed although the older key outlives it.
    assert [(entry["id"], entry["reason"], entry["active_key"]["kid"]) for entry in result["expiring"]] == [
        ("B2C_1A_Rotated", "expiring", "newer")]


def test_check_mode_reads_the_same(ansible, control):
    seed_audit_tenant(control)
    normal = ansible.playbook([info_task(expiring_within="30d")]).result("info")
    checked = ansible.playbook([info_task(expiring_within="30d")], check=True).result("info")
    assert checked["changed"] is False
    assert [entry["id"] for entry in checked["expiring"]] == [entry["id"] for entry in normal["expiring"]]
    assert [keyset["id"] for keyset in checked["keysets"]] == [keyset["id"] for keyset in normal["keysets"]]


def test_app_without_permissions_gets_a_clear_403(ansible, control):
    app = control.register_app(permissions=[])
    defaults = ansible.connection(client_id=app["client_id"], client_secret=app["client_secret"])
    run = ansible.playbook([info_task()], defaults=defaults)
    entry = run.task("info")
    assert entry["status"] == "failed"
    message = entry["result"]["msg"]
    assert "HTTP 403" in message and "request-id" in message
    assert "TrustFrameworkKeySet.Read.All" in message and "B2C IEF Keyset Administrator" in message
    assert app["client_secret"] not in json.dumps(run.results) + run.output


def test_read_all_app_is_enough(ansible, control):
    seed_audit_tenant(control)
    app = control.register_app(permissions=["TrustFrameworkKeySet.Read.All"])
    defaults = ansible.connection(client_id=app["client_id"], client_secret=app["client_secret"])
    run = ansible.playbook([info_task(expiring_within="30d"), info_task("one", keyset="Fine")], defaults=defaults)
    assert run.task("info")["status"] == "ok", run.result("info").get("msg")
    assert len(run.result("info")["keysets"]) == 7
    assert run.result("one")["keysets"][0]["valid"] is True


def test_invalid_options_fail_before_any_request(ansible, control):
    run = ansible.playbook([info_task("duration", expiring_within="a month"),
                            info_task("negative", expiring_within="-3d"),
                            info_task("name", keyset="no/slashes")])
    for task, option in (("duration", "expiring_within"), ("negative", "expiring_within"), ("name", "keyset")):
        entry = run.task(task)
        assert entry["status"] == "failed"
        assert entry["result"]["msg"].startswith(option + ":"), entry["result"]["msg"]
    assert control.requests() == []


def test_adhoc_command(ansible, control):
    seed_audit_tenant(control)
    args = " ".join("%s=%s" % item for item in ansible.connection().items())
    run = ansible.adhoc("expiring_within=30d " + args, module="entra.b2c.b2c_keyset_info")
    assert run.rc == 0, run.output
    assert len(run.results[-1]["result"]["expiring"]) == 4
    assert "B2C_1A_Expiring" in run.stdout
