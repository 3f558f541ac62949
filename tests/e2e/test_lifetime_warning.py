# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A key added without exp or valid_for never expires and can never be removed: the modules say so, once per task."""

from __future__ import annotations

import pytest

from conftest import key_task, keyset_keys

NO_EXPIRY = "no expiry (neither exp nor valid_for is set)"
ADVICE = ("{0} will never expire, cannot be removed (B2C keys cannot be deleted) and renew_before can never rotate {1}. "
          "Give new keys a lifetime, for example valid_for: 365d with renew_before: 30d.")
SECRET = "rest-api-key-0b1c-never-printed"


def warning(keysets, check_mode=False) -> str:
    verb = "would add" if check_mode else "adds"
    if len(keysets) == 1:
        return f"The key this task {verb} to {keysets[0]} has {NO_EXPIRY}: {ADVICE.format('it', 'it')}"
    return f"The keys this task {verb} to {', '.join(keysets)} have {NO_EXPIRY}: {ADVICE.format('they', 'them')}"


def shown(run) -> int:
    """How many times the screen output shows the warning (Ansible may wrap long warnings over several lines)."""
    return " ".join(run.output.split()).count(NO_EXPIRY)


def warnings_of(run, task="key") -> list:
    return [text for text in run.result(task).get("warnings", []) if NO_EXPIRY in text]


@pytest.mark.parametrize("in_process", ["true", "false"])
def test_a_key_without_lifetime_is_warned_about_once(ansible, control, in_process):
    environment = {"ENTRA_B2C_IN_PROCESS": in_process}
    run = ansible.playbook([key_task(keyset="NoExpiry", use="sig")], extra_env=environment)
    assert run.result()["changed"] is True, run.output[-3000:]
    assert warnings_of(run) == [warning(["B2C_1A_NoExpiry"])]
    assert shown(run) == 1, run.output
    assert [key.get("exp") for key in keyset_keys(control, "B2C_1A_NoExpiry")] == [None]

    # The key now satisfies every run: nothing is added, so nothing to warn about.
    again = ansible.playbook([key_task(keyset="NoExpiry", use="sig")], extra_env=environment)
    assert again.result()["reason"] == "valid" and warnings_of(again) == [] and shown(again) == 0


def test_check_mode_warns_about_the_key_it_would_add(ansible, control):
    run = ansible.playbook([key_task(keyset="NoExpiry", use="sig")], check=True)
    assert run.result()["changed"] is True
    assert warnings_of(run) == [warning(["B2C_1A_NoExpiry"], check_mode=True)]
    assert shown(run) == 1
    assert control.state()["keysets"] == []


@pytest.mark.parametrize("lifetime", [{"valid_for": "365d", "renew_before": "30d"}, {"exp": "2099-01-01"}])
def test_no_warning_when_the_key_gets_a_lifetime(ansible, control, lifetime):
    run = ansible.playbook([key_task(keyset="Expires", use="sig", **lifetime)])
    assert run.result()["changed"] is True
    assert warnings_of(run) == [] and shown(run) == 0
    assert all(key.get("exp") for key in keyset_keys(control, "B2C_1A_Expires"))


def test_batch_warns_once_naming_the_key_sets(ansible, control):
    task = {"name": "key", "entra.b2c.b2c_keyset_key_batch": {"use": "sig", "keysets": [
        {"keyset": "First"}, {"keyset": "WithLifetime", "valid_for": "90d"}, {"keyset": "Third"}, {"keyset": "Fourth"}]}}
    run = ansible.playbook([task])
    assert run.result()["changed"] is True, run.output[-3000:]
    assert warnings_of(run) == [warning(["B2C_1A_First", "B2C_1A_Third", "B2C_1A_Fourth"])]
    assert shown(run) == 1
    assert keyset_keys(control, "B2C_1A_WithLifetime")[0].get("exp")

    # A top-level lifetime covers every entry.
    task["entra.b2c.b2c_keyset_key_batch"] = {"use": "enc", "valid_for": "365d", "keysets": [{"keyset": "Fifth"}]}
    assert shown(ansible.playbook([task])) == 0


def test_uploaded_secret_without_lifetime_is_warned_about(ansible, control):
    task = {"name": "key", "entra.b2c.b2c_keyset_secret": {"keyset": "ApiKey", "use": "sig", "secret": SECRET},
            "no_log": False}
    ansible.secrets.add(SECRET)
    run = ansible.playbook([task])
    assert warnings_of(run) == [warning(["B2C_1A_ApiKey"])]
    assert shown(run) == 1
    task["entra.b2c.b2c_keyset_secret"].update(keyset="ApiKey2", valid_for="90d")
    assert shown(ansible.playbook([task])) == 0
