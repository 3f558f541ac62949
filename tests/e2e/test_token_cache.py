# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The opt-in token cache across tasks, runs and forks."""

from __future__ import annotations

import stat

from conftest import key_task, routes


def test_tasks_and_runs_share_one_token(ansible, control, tmp_path):
    cache = tmp_path / "cache" / "tokens.json"
    defaults = ansible.connection(token_cache=str(cache))
    tasks = [key_task(name="key-%d" % i, keyset="Cached%d" % i, use="sig") for i in range(3)]
    first = ansible.playbook(tasks, defaults=defaults)
    assert all(first.task("key-%d" % i)["status"] == "ok" for i in range(3)), first.output[-2000:]
    assert routes(control).count("token") == 1
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert ansible.emulator.client_secret not in cache.read_text()

    control.clear_requests()
    again = ansible.playbook(tasks, defaults=defaults)
    assert all(again.task("key-%d" % i)["result"]["changed"] is False for i in range(3))
    assert routes(control) == ["keysets.get"] * 3


def test_environment_variable_turns_it_on(ansible, control, tmp_path):
    cache = tmp_path / "tokens.json"
    env = {"ENTRA_B2C_TOKEN_CACHE": str(cache)}
    ansible.playbook([key_task(keyset="Cached", use="sig")], extra_env=env)
    control.clear_requests()
    ansible.playbook([key_task(keyset="Cached", use="sig")], extra_env=env)
    assert routes(control) == ["keysets.get"]


def test_revoked_cached_token_is_replaced(ansible, control, tmp_path):
    defaults = ansible.connection(token_cache=str(tmp_path / "tokens.json"))
    ansible.playbook([key_task(keyset="Cached", use="sig")], defaults=defaults)
    control.revoke_tokens()
    control.clear_requests()
    result = ansible.playbook([key_task(keyset="Cached", use="sig")], defaults=defaults).result()
    assert result["changed"] is False, result
    assert [r for r in routes(control) if r != "discovery"] == ["keysets.get", "token", "keysets.get"]


def test_forks_share_the_cache(ansible, control, tmp_path):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[tenants]\n" + "".join("tenant%d ansible_connection=local\n" % i for i in range(6)))
    defaults = ansible.connection(token_cache=str(tmp_path / "tokens.json"))
    ansible.playbook([key_task(keyset="Warm", use="sig")], defaults=defaults, hosts="tenant0", inventory=inventory)
    control.clear_requests()
    run = ansible.playbook([key_task(keyset="Fork{{ inventory_hostname }}", use="sig")], defaults=defaults,
                           hosts="tenants", inventory=inventory, extra_args=["--forks", "6"])
    assert run.rc == 0, run.output[-2000:]
    assert routes(control).count("token") == 0
    assert routes(control).count("keys.generate") == 6
