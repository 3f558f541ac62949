# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for running a module in the worker process (plugins/plugin_utils/_in_process.py)."""

from __future__ import annotations

import json
import os
import sys
import types

import pytest
from ansible.module_utils import basic
from ansible.plugins.action import ActionBase
from ansible_collections.entra.b2c.plugins.plugin_utils import _in_process
from ansible_collections.entra.b2c.plugins.plugin_utils._in_process import (
    GraphAction,
    _encode_arguments,
    _environment,
    _run_main,
    same_interpreter,
    worker_path_release_gap,
)

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
    printed, exit_code = _run_main("b2c_keyset_key", dict(ARGS), {})
    result = last_json(printed)
    assert exit_code == 1
    assert result["failed"] is True
    assert result["msg"].startswith("valid_for: 'a fortnight' is not a valid duration")
    assert "unit-secret-value-123" not in printed  # no_log values are masked by AnsibleModule, as in a module process
    assert basic._ANSIBLE_ARGS is None  # pylint: disable=protected-access


def test_an_argument_spec_error_names_the_option():
    printed, exit_code = _run_main("b2c_keyset_key", dict(ARGS, colour="blue"), {})
    assert exit_code == 1
    assert "colour" in last_json(printed)["msg"]


def test_a_crash_becomes_a_module_failure_with_its_traceback(monkeypatch):
    def crash():
        raise ValueError("unexpected")

    monkeypatch.setattr(_in_process, "_load_module", lambda name: types.SimpleNamespace(main=crash))
    printed, exit_code = _run_main("b2c_keyset_key", dict(ARGS), {"ENTRA_UNIT_X": "1"})
    result = json.loads(printed)
    assert exit_code == 1
    assert result["failed"] is True
    # What a module process reports: the exception's type and message (the traceback for -vvv / tracebacks)
    assert result["msg"].endswith("b2c_keyset_key (in the controller's worker process): ValueError: unexpected")
    assert "raise ValueError" in result["exception"]
    assert "ENTRA_UNIT_X" not in os.environ
    assert basic._ANSIBLE_ARGS is None  # pylint: disable=protected-access


def test_secrets_in_a_crash_are_masked(monkeypatch):
    monkeypatch.setenv("AZURE_ACCESS_TOKEN", "env-token-value-456")

    def crash():
        raise OSError("cannot use unit-secret-value-123 or env-token-value-456")

    monkeypatch.setattr(_in_process, "_load_module", lambda name: types.SimpleNamespace(main=crash))
    printed, _exit_code = _run_main("b2c_keyset_key", dict(ARGS), {})
    assert "OSError: cannot use" in json.loads(printed)["msg"]
    assert "unit-secret-value-123" not in printed and "env-token-value-456" not in printed


@pytest.mark.parametrize("version, proven", [
    ("2.16.0", True), ("2.19.14", True), ("2.20.1rc1", True), ("2.21.5", True),
    ("2.15.13", False), ("2.22.0", False), ("2.22.0.dev0", False), ("2.21.0.dev0", False), ("3.0.0", False),
])
def test_only_the_tested_ansible_core_releases_are_proven(version, proven):
    assert (worker_path_release_gap(version) == "") is proven


def test_the_running_ansible_core_is_proven():
    """make test runs this file on every minor it supports: each of them must be on the list."""
    assert worker_path_release_gap() == ""


def test_names_of_one_interpreter_are_the_same_interpreter(tmp_path):
    link = tmp_path / "python-link"
    link.symlink_to(sys.executable)
    assert same_interpreter(sys.executable)
    assert same_interpreter(str(link)) is (_in_process._environment_root(sys.executable) is None)
    other = tmp_path / "venv" / "bin" / "python"
    other.parent.mkdir(parents=True)
    other.symlink_to(os.path.realpath(sys.executable))
    (tmp_path / "venv" / "pyvenv.cfg").write_text("home = /somewhere\n", encoding="utf-8")
    assert not same_interpreter(str(other))  # same binary, another environment
    assert not same_interpreter(str(tmp_path / "missing-python"))


class FakeActionModule(GraphAction):
    """GraphAction without Ansible's task machinery: just what the path decision reads."""

    __module__ = "ansible_collections.entra.b2c.plugins.action.b2c_keyset_key"

    def __init__(self):  # pylint: disable=super-init-not-called
        self._task = types.SimpleNamespace(args=dict(ARGS), action="entra.b2c.b2c_keyset_key", async_val=0,
                                           delegate_to=None)
        self._connection = types.SimpleNamespace(transport="local")
        self._play_context = types.SimpleNamespace(become=False)
        self._templar = types.SimpleNamespace(template=lambda value: value)
        self.module_process_runs = 0

    def _update_module_args(self, module_name, module_args, task_vars, ignore_unknown_opts=False):
        pass  # check mode, diff and verbosity are in ARGS already

    def _compute_environment_string(self, raw_environment_out=None):
        pass  # no `environment:` keyword on this task

    def _execute_module(self, *args, **kwargs):  # pylint: disable=arguments-differ,unused-argument
        self.module_process_runs += 1
        return {"ran": "as a module process"}


@pytest.fixture()
def action(monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    monkeypatch.delenv("ENTRA_B2C_IN_PROCESS", raising=False)
    main_runs = []
    monkeypatch.setattr(_in_process, "_load_module",
                        lambda name: types.SimpleNamespace(main=lambda: main_runs.append(name)))
    fake = FakeActionModule()
    fake.main_runs = main_runs
    return fake


TASK_VARS = {"ansible_python_interpreter": sys.executable}


def test_an_unknown_future_ansible_core_gets_a_module_process(action, monkeypatch):
    monkeypatch.setattr(_in_process, "ANSIBLE_CORE_VERSION", "2.99.0")
    said = []
    monkeypatch.setattr(_in_process.display, "vvv", said.append)
    assert action.run(task_vars=TASK_VARS) == {"ran": "as a module process"}
    assert action.module_process_runs == 1 and action.main_runs == []
    assert "ansible-core 2.99.0 is not among the releases the worker path is tested on" in said[0]


def test_a_failed_self_check_falls_back_before_main_runs(action, monkeypatch):
    monkeypatch.setattr(action, "_parse_returned_data", lambda *args: {"unexpected": "shape"}, raising=False)
    said = []
    monkeypatch.setattr(_in_process.display, "vvv", said.append)
    assert action.run(task_vars=TASK_VARS) == {"ran": "as a module process"}
    assert action.main_runs == []  # main() never ran, so no key can have been added
    assert "self-check" in said[0]


def test_a_self_check_that_raises_falls_back_before_main_runs(action, monkeypatch):
    def broken_encoding(module_args):
        raise TypeError("no such serialization profile")

    monkeypatch.setattr(_in_process, "_encode_arguments", broken_encoding)
    said = []
    monkeypatch.setattr(_in_process.display, "vvv", said.append)
    assert action.run(task_vars=TASK_VARS) == {"ran": "as a module process"}
    assert action.main_runs == []
    assert "self-check of ansible-core's module machinery failed (TypeError: no such serialization profile)" in said[0]


def test_the_self_check_passes_on_this_ansible_core(action):
    """make test runs this on every supported minor: the canned arguments and result go through for real."""
    assert action._machinery_fault() == ""  # pylint: disable=protected-access
    assert basic._ANSIBLE_ARGS is None  # pylint: disable=protected-access


def test_a_failure_after_main_started_never_falls_back(action, monkeypatch):
    """Once main() ran, a key may exist: a crash is reported, the module is not run a second time."""
    def crash():
        action.main_runs.append("crashed")
        raise RuntimeError("after the key was added")

    monkeypatch.setattr(_in_process, "_load_module", lambda name: types.SimpleNamespace(main=crash))
    result = action.run(task_vars=TASK_VARS)
    assert action.main_runs == ["crashed"] and action.module_process_runs == 0
    assert result["failed"] is True and "RuntimeError: after the key was added" in result["msg"]
