# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for running a module in the worker process (plugins/plugin_utils/_in_process.py)."""

from __future__ import annotations

import json
import os
import types

import pytest
from ansible.module_utils import basic
from ansible_collections.entra.b2c.plugins.plugin_utils import _in_process
from ansible_collections.entra.b2c.plugins.plugin_utils._in_process import _encode_arguments, _environment, _run_main

ARGS = {"keyset": "Unit", "use": "sig", "valid_for": "a fortnight", "tenant_id": "contoso.onmicrosoft.com",
        "client_id": "00000000-0000-0000-0000-000000000001", "client_secret": "unit-secret-value-123",
        "_ansible_check_mode": True}


def last_json(printed: str) -> dict:
    return json.loads(printed.strip().splitlines()[-1])


def test_environment_is_set_for_the_block_and_restored_after_it(monkeypatch):
    monkeypatch.setenv("ENTRA_UNIT_KEPT", "before")
    monkeypatch.delenv("ENTRA_UNIT_NEW", raising=False)
    with pytest.raises(RuntimeError):
        with _environment({"ENTRA_UNIT_KEPT": "during", "ENTRA_UNIT_NEW": 7}):
            assert os.environ["ENTRA_UNIT_KEPT"] == "during"
            assert os.environ["ENTRA_UNIT_NEW"] == "7"
            raise RuntimeError("the module crashed")
    assert os.environ["ENTRA_UNIT_KEPT"] == "before"
    assert "ENTRA_UNIT_NEW" not in os.environ


def test_arguments_are_encoded_as_a_module_process_receives_them():
    decoded = json.loads(_encode_arguments(dict(ARGS)).decode("utf-8"))
    assert decoded == {"ANSIBLE_MODULE_ARGS": ARGS}


def test_a_module_failure_is_printed_with_exit_code_1_and_the_globals_are_reset():
    printed, exit_code = _run_main("b2c_keyset_key", _encode_arguments(dict(ARGS)), {})
    result = last_json(printed)
    assert exit_code == 1
    assert result["failed"] is True
    assert result["msg"].startswith("valid_for: 'a fortnight' is not a valid duration")
    assert "unit-secret-value-123" not in printed  # no_log values are masked by AnsibleModule, as in a module process
    assert basic._ANSIBLE_ARGS is None  # pylint: disable=protected-access


def test_an_argument_spec_error_names_the_option():
    printed, exit_code = _run_main("b2c_keyset_key", _encode_arguments(dict(ARGS, colour="blue")), {})
    assert exit_code == 1
    assert "colour" in last_json(printed)["msg"]


def test_a_crash_becomes_a_module_failure_with_its_traceback(monkeypatch):
    def crash():
        raise ValueError("unexpected")

    monkeypatch.setattr(_in_process, "_load_module", lambda name: types.SimpleNamespace(main=crash))
    printed, exit_code = _run_main("b2c_keyset_key", _encode_arguments(dict(ARGS)), {"ENTRA_UNIT_X": "1"})
    result = json.loads(printed)
    assert exit_code == 1
    assert result["failed"] is True and "ValueError" in result["msg"] and "b2c_keyset_key" in result["msg"]
    assert "raise ValueError" in result["exception"]
    assert "ENTRA_UNIT_X" not in os.environ
    assert basic._ANSIBLE_ARGS is None  # pylint: disable=protected-access
