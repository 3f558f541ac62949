# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parallel runs from one controller on the same key set add exactly one key."""

from __future__ import annotations

from conftest import key_task, keyset_keys, routes


def test_ten_forks_on_one_empty_set_add_exactly_one_key(ansible, control, tmp_path):
    # Every read takes half a second: without coordination all ten runs would read "missing" and each add a key.
    control.add_fault("keysets.get", [{"delay": 0.5}] * 30)
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[runs]\n" + "".join("run%d ansible_connection=local\n" % i for i in range(10)))
    run = ansible.playbook([key_task(keyset="Shared", use="sig", valid_for="30d")], hosts="runs",
                           inventory=inventory, extra_args=["--forks", "10"])
    assert run.rc == 0, run.output[-3000:]
    outcomes = [entry["result"]["changed"] for entry in run.results if entry["task"] == "key"]
    assert len(outcomes) == 10
    assert outcomes.count(True) == 1
    assert len(keyset_keys(control, "B2C_1A_Shared")) == 1
    assert routes(control).count("keys.generate") == 1
    assert routes(control).count("keysets.create") == 1
