# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""b2c_keyset end to end: create and delete key sets (and their backups) through the real CLIs and the emulator."""

from __future__ import annotations

import json
import time

from conftest import keyset_keys, routes

DAY = 86400
PRIVATE = ("d", "p", "q", "dp", "dq", "qi", "k")
WRITE_ROUTES = {"keysets.create", "keys.generate", "keysets.replace", "keysets.delete", "keys.uploadSecret",
                "keys.uploadCertificate", "keys.uploadPkcs12", "keys_v2.patch"}
NOT_GRAPH = ("discovery", "jwks", "token")


def keyset_task(task="keyset", **args) -> dict:
    """A b2c_keyset task that never aborts the play, so the test sees its result either way."""
    return {"name": task, "entra.b2c.b2c_keyset": args, "ignore_errors": True}


def graph_calls(control) -> list:
    """(route, key set) of every Graph request, token and discovery left out."""
    return [(entry["route"], entry["keyset"]) for entry in control.requests() if entry["route"] not in NOT_GRAPH]


def writes(control) -> list:
    return [call for call in graph_calls(control) if call[0] in WRITE_ROUTES]


def stored_ids(control) -> list:
    return sorted(keyset["id"] for keyset in control.state()["keysets"])


def seed_with_key(control, keyset_id) -> str:
    now = int(time.time())
    control.seed([{"id": keyset_id, "keys": [{"use": "sig", "kty": "RSA", "nbf": now - DAY, "exp": now + 90 * DAY}]}])
    return keyset_keys(control, keyset_id)[0]["kid"]


def test_check_create_again_check_delete_delete_again(ansible, control):
    present = keyset_task(keyset="Container")
    absent = keyset_task(keyset="Container", state="absent")

    checked = ansible.playbook([present], check=True).result("keyset")
    assert checked["changed"] is True
    assert checked["keyset"] == "B2C_1A_Container" and checked["keyset_keys"] == []
    assert checked["backup_deleted"] is False
    assert graph_calls(control) == [("keysets.get", "B2C_1A_Container")]
    assert stored_ids(control) == []

    control.clear_requests()
    created = ansible.playbook([present]).result("keyset")
    assert created["changed"] is True
    assert created["keyset"] == "B2C_1A_Container" and created["keyset_keys"] == []
    assert writes(control) == [("keysets.create", "B2C_1A_Container")]
    assert stored_ids(control) == ["B2C_1A_Container"]

    control.clear_requests()
    again = ansible.playbook([present]).result("keyset")
    assert again["changed"] is False and again["keyset"] == "B2C_1A_Container"
    assert graph_calls(control) == [("keysets.get", "B2C_1A_Container")]

    control.clear_requests()
    check_delete = ansible.playbook([absent], check=True).result("keyset")
    assert check_delete["changed"] is True and check_delete["keyset_keys"] == []
    assert writes(control) == []
    assert stored_ids(control) == ["B2C_1A_Container"]

    deleted = ansible.playbook([absent]).result("keyset")
    assert deleted["changed"] is True and deleted["backup_deleted"] is False
    assert writes(control) == [("keysets.delete", "B2C_1A_Container")]
    # The service keeps a backup of what it deleted.
    assert stored_ids(control) == ["B2C_1A_Container.bak"]

    control.clear_requests()
    gone = ansible.playbook([absent]).result("keyset")
    assert gone["changed"] is False
    assert graph_calls(control) == [("keysets.get", "B2C_1A_Container")]


def test_present_leaves_an_existing_set_and_its_keys_alone(ansible, control):
    kid = seed_with_key(control, "B2C_1A_Signing")
    control.clear_requests()
    run = ansible.playbook([keyset_task(keyset="B2C_1A_Signing")])
    result = run.result("keyset")
    assert result["changed"] is False
    assert [key["kid"] for key in result["keyset_keys"]] == [kid]
    assert result["keyset_keys"][0]["expires"].endswith("Z")
    for private in PRIVATE:
        assert private not in result["keyset_keys"][0]
    assert writes(control) == []
    assert keyset_keys(control, "B2C_1A_Signing")[0]["kid"] == kid


def test_prefix_and_aliases_name_the_same_set(ansible, control):
    run = ansible.playbook([keyset_task("bare", name="Same"), keyset_task("prefixed", keyset_id="B2C_1A_Same")])
    assert run.result("bare")["changed"] is True
    assert run.result("prefixed")["changed"] is False
    assert run.result("prefixed")["keyset"] == "B2C_1A_Same"
    assert stored_ids(control) == ["B2C_1A_Same"]


def test_delete_without_purge_keeps_the_backup_with_the_keys(ansible, control):
    kid = seed_with_key(control, "B2C_1A_Old")
    result = ansible.playbook([keyset_task(keyset="Old", state="absent")], diff=True).result("keyset")
    assert result["changed"] is True and result["backup_deleted"] is False
    assert result["keyset_keys"] == []
    assert result["diff"]["before"]["keyset"] == "B2C_1A_Old"
    assert [key["kid"] for key in result["diff"]["before"]["keyset_keys"]] == [kid]
    assert result["diff"]["after"] == {"keyset": None, "keyset_keys": []}
    assert stored_ids(control) == ["B2C_1A_Old.bak"]
    assert [key["kid"] for key in keyset_keys(control, "B2C_1A_Old.bak")] == [kid]


def test_purge_backup_deletes_the_set_then_its_backup(ansible, control):
    seed_with_key(control, "B2C_1A_Old")
    task = keyset_task(keyset="Old", state="absent", purge_backup=True)

    checked = ansible.playbook([task], check=True, diff=True).result("keyset")
    assert checked["changed"] is True and checked["backup_deleted"] is True
    assert checked["diff"]["before"]["backup"] == "B2C_1A_Old.bak"
    assert checked["diff"]["after"]["backup"] is None
    assert writes(control) == []
    assert stored_ids(control) == ["B2C_1A_Old"]

    control.clear_requests()
    result = ansible.playbook([task]).result("keyset")
    assert result["changed"] is True and result["backup_deleted"] is True
    assert graph_calls(control) == [("keysets.get", "B2C_1A_Old"), ("keysets.delete", "B2C_1A_Old"),
                                    ("keysets.get", "B2C_1A_Old.bak"), ("keysets.delete", "B2C_1A_Old.bak")]
    assert stored_ids(control) == []

    control.clear_requests()
    again = ansible.playbook([task]).result("keyset")
    assert again["changed"] is False and again["backup_deleted"] is False
    assert graph_calls(control) == [("keysets.get", "B2C_1A_Old"), ("keysets.get", "B2C_1A_Old.bak")]


def test_purge_backup_left_by_an_earlier_delete(ansible, control):
    kid = seed_with_key(control, "B2C_1A_Old")
    ansible.playbook([keyset_task(keyset="Old", state="absent")])
    assert stored_ids(control) == ["B2C_1A_Old.bak"]
    task = keyset_task(keyset="Old", state="absent", purge_backup=True)

    control.clear_requests()
    checked = ansible.playbook([task], check=True, diff=True).result("keyset")
    assert checked["changed"] is True and checked["backup_deleted"] is True
    assert checked["diff"]["before"] == {"keyset": None, "keyset_keys": [], "backup": "B2C_1A_Old.bak"}
    assert checked["diff"]["after"] == {"keyset": None, "keyset_keys": [], "backup": None}
    assert writes(control) == []
    assert [key["kid"] for key in keyset_keys(control, "B2C_1A_Old.bak")] == [kid]

    control.clear_requests()
    purged = ansible.playbook([task]).result("keyset")
    assert purged["changed"] is True and purged["backup_deleted"] is True
    assert writes(control) == [("keysets.delete", "B2C_1A_Old.bak")]
    assert stored_ids(control) == []


def test_purge_backup_is_ignored_with_state_present(ansible, control):
    control.seed([{"id": "B2C_1A_Old.bak", "keys": []}])
    result = ansible.playbook([keyset_task(keyset="Old", purge_backup=True)]).result("keyset")
    assert result["changed"] is True and result["backup_deleted"] is False
    assert stored_ids(control) == ["B2C_1A_Old", "B2C_1A_Old.bak"]


def test_diff_of_a_create(ansible, control):
    run = ansible.playbook([keyset_task(keyset="Fresh")], diff=True)
    result = run.result("keyset")
    assert result["diff"] == {"before": {"keyset": None, "keyset_keys": []},
                              "after": {"keyset": "B2C_1A_Fresh", "keyset_keys": []}}
    assert "B2C_1A_Fresh" in run.stdout  # the diff callback rendered it
    checked = ansible.playbook([keyset_task(keyset="Other")], check=True, diff=True).result("keyset")
    assert checked["diff"]["after"] == {"keyset": "B2C_1A_Other", "keyset_keys": []}
    assert "B2C_1A_Other" not in stored_ids(control)


def test_failed_backup_delete_reports_that_the_set_is_gone(ansible, control):
    seed_with_key(control, "B2C_1A_Old")
    control.add_fault("keysets.delete", [{"status": 500, "code": "InternalServerError", "message": "boom"}],
                      keyset="B2C_1A_Old.bak")
    entry = ansible.playbook([keyset_task(keyset="Old", state="absent", purge_backup=True)]).task("keyset")
    assert entry["status"] == "failed"
    result = entry["result"]
    assert result["changed"] is True and result["backup_deleted"] is False
    assert result["keyset"] == "B2C_1A_Old"
    assert "B2C_1A_Old.bak" in result["msg"] and "request-id" in result["msg"]
    assert stored_ids(control) == ["B2C_1A_Old.bak"]


def test_deletes_whose_first_attempt_landed_still_count_as_changes(ansible, control):
    # The service deletes, then answers 503: the retry finds nothing to delete, yet this run did delete both sets.
    seed_with_key(control, "B2C_1A_Old")
    control.add_fault("keysets.delete", [{"commit": True, "status": 503}], keyset="B2C_1A_Old")
    control.add_fault("keysets.delete", [{"commit": True, "status": 503}], keyset="B2C_1A_Old.bak")
    result = ansible.playbook([keyset_task(keyset="Old", state="absent", purge_backup=True)]).result("keyset")
    assert result["changed"] is True and result["backup_deleted"] is True, result
    deletes = [(entry["keyset"], entry["status"]) for entry in control.requests() if entry["route"] == "keysets.delete"]
    # the retried DELETE of a set that is gone answers AADB2C90073 with the service's 400
    assert deletes == [("B2C_1A_Old", 503), ("B2C_1A_Old", 400), ("B2C_1A_Old.bak", 503), ("B2C_1A_Old.bak", 400)]
    assert stored_ids(control) == []


def test_a_delete_that_commits_then_answers_500_is_done(ansible, control):
    # A 500 is not retried: the set is read again, and a set that is gone was deleted by this run.
    seed_with_key(control, "B2C_1A_Old")
    control.add_fault("keysets.delete", [{"commit": True, "status": 500}] * 12, keyset="B2C_1A_Old")
    result = ansible.playbook([keyset_task(keyset="Old", state="absent")]).result("keyset")
    assert result["changed"] is True and result["keyset"] == "B2C_1A_Old", result
    deletes = [(entry["keyset"], entry["status"]) for entry in control.requests() if entry["route"] == "keysets.delete"]
    assert deletes == [("B2C_1A_Old", 500)]
    assert stored_ids(control) == ["B2C_1A_Old.bak"]


def test_invalid_name_fails_before_any_request(ansible, control):
    run = ansible.playbook([keyset_task("spaces", keyset="has spaces"), keyset_task("empty", keyset="B2C_1A_")])
    for name in ("spaces", "empty"):
        entry = run.task(name)
        assert entry["status"] == "failed"
        assert entry["result"]["msg"].startswith("keyset:"), entry["result"]["msg"]
    assert control.requests() == []


def test_read_only_app_reads_but_cannot_create(ansible, control):
    app = control.register_app(permissions=["TrustFrameworkKeySet.Read.All"])
    defaults = ansible.connection(client_id=app["client_id"], client_secret=app["client_secret"])
    seed_with_key(control, "B2C_1A_Exists")
    run = ansible.playbook([keyset_task("exists", keyset="Exists"), keyset_task("missing", keyset="Missing")],
                           defaults=defaults)
    assert run.task("exists")["status"] == "ok" and run.result("exists")["changed"] is False
    missing = run.task("missing")
    assert missing["status"] == "failed"
    assert "HTTP 403" in missing["result"]["msg"]
    assert "TrustFrameworkKeySet.ReadWrite.All" in missing["result"]["msg"]
    assert app["client_secret"] not in json.dumps(run.results) + run.output
    assert stored_ids(control) == ["B2C_1A_Exists"]


def test_adhoc_command(ansible, control):
    args = " ".join("%s=%s" % item for item in ansible.connection().items())
    created = ansible.adhoc("keyset=Adhoc " + args, module="entra.b2c.b2c_keyset")
    assert created.rc == 0, created.output
    assert created.results[-1]["result"]["changed"] is True
    checked = ansible.adhoc("keyset=Adhoc state=absent purge_backup=true " + args, module="entra.b2c.b2c_keyset",
                            check=True)
    assert checked.rc == 0 and checked.results[-1]["result"]["changed"] is True
    assert stored_ids(control) == ["B2C_1A_Adhoc"]
    assert routes(control, "keysets.delete") == []
