# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for running a module's flow in the worker process (plugins/plugin_utils/_in_process.py)."""

from __future__ import annotations

import os
import sys
import types

import pytest
from ansible import release
from ansible.module_utils import ansible_release
from ansible.plugins.action import ActionBase
from ansible_collections.entra.b2c.plugins.modules import b2c_keyset_key, b2c_keyset_key_batch
from ansible_collections.entra.b2c.plugins.plugin_utils import _in_process
from ansible_collections.entra.b2c.plugins.plugin_utils._in_process import (
    GraphAction,
    _environment,
    as_sent,
    no_log_values,
    same_interpreter,
    worker_result,
)

MASKED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
ARGS = {"keyset": "Unit", "use": "sig", "valid_for": "a fortnight", "tenant_id": "contoso.onmicrosoft.com",
        "client_id": "00000000-0000-0000-0000-000000000001", "client_secret": "unit-secret-value-123"}


def key_result(arguments: dict, flow=b2c_keyset_key.FLOW, **options) -> dict:
    options = {"check_mode": True, "diff": False, **options}
    return worker_result("entra.b2c.b2c_keyset_key", b2c_keyset_key.MODULE_SPEC, flow, arguments, **options)


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


def test_arguments_arrive_as_json_as_a_module_process_receives_them():
    assert as_sent(dict(ARGS, exp=("2027", 1), nested={"a": (1, 2)})) == dict(ARGS, exp=["2027", 1], nested={"a": [1, 2]})


def test_a_flow_refusal_fails_with_its_message_and_the_secret_masked_in_the_invocation():
    result = key_result(dict(ARGS))
    assert result["failed"] is True
    assert result["msg"].startswith("valid_for: 'a fortnight' is not a valid duration")
    assert result["invocation"]["module_args"]["client_secret"] == MASKED
    assert result["invocation"]["module_args"]["valid_for"] == "a fortnight"
    assert "unit-secret-value-123" not in repr(result)
    assert list(result)[-3:] == ["failed", "msg", "invocation"]  # fail_json's order: the fields, failed, msg


def test_an_unknown_option_is_refused_with_ansible_modules_message():
    result = key_result(dict(ARGS, colour="blue"))
    assert result["failed"] is True
    assert result["msg"].startswith("Unsupported parameters for (entra.b2c.b2c_keyset_key) module: colour. "
                                    "Supported parameters include: ")
    assert result["invocation"]["module_args"]["client_secret"] == MASKED


def test_a_wrong_type_and_a_missing_required_option_are_refused_before_the_flow(monkeypatch):
    ran = []
    result = key_result(dict(ARGS, timeout="soon"), flow=ran.append)
    assert result["failed"] is True and "timeout" in result["msg"] and ran == []
    missing = {name: value for name, value in ARGS.items() if name != "use"}
    assert key_result(missing, flow=ran.append)["msg"] == "missing required arguments: use" and ran == []
    both = key_result(dict(ARGS, valid_for="1d", exp="2030-01-01"), flow=ran.append)
    assert both["msg"] == "parameters are mutually exclusive: exp|valid_for" and ran == []


def test_the_flow_gets_validated_options_check_mode_diff_and_returns_warnings_and_the_invocation():
    seen = {}

    def flow(run):
        seen.update(params=dict(run.params), check=run.check_mode, diff=run.diff)
        run.warn("a warning")
        run.mask("found-in-the-run")
        return {"changed": True, "said": "found-in-the-run here"}

    result = key_result(dict(ARGS, valid_for="1d", name="Aliased"), flow=flow, check_mode=False, diff=True)
    assert seen["check"] is False and seen["diff"] is True
    assert seen["params"]["keyset"] == "Aliased" and seen["params"]["kty"] == "RSA" and seen["params"]["timeout"] == 30.0
    assert result["changed"] is True and result["warnings"] == ["a warning"]
    assert result["said"] == "******** here"  # what the flow masks (an environment secret) is masked everywhere
    assert result["invocation"]["module_args"]["keyset"] == "Aliased"
    assert "invocation" not in key_result(dict(ARGS, valid_for="1d"), flow=flow, inject_invocation=False)


def test_no_log_values_come_from_the_spec_suboptions_included():
    spec = {"token": {"no_log": True}, "plain": {}, "items": {"options": {"secret": {"no_log": True}, "name": {}}}}
    params = {"token": "t-1", "plain": "p", "items": [{"secret": "s-1", "name": "n"}, {"secret": None, "name": "m"}]}
    assert no_log_values(spec, params) == {"t-1", "s-1"}
    batch_spec = dict(b2c_keyset_key_batch.MODULE_SPEC["argument_spec"], client_secret={"no_log": True})
    assert no_log_values(batch_spec, {"client_secret": "c", "keysets": [{"keyset": "A"}]}) == {"c"}


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
    """GraphAction without Ansible's task machinery: just what the path decision and the worker path read."""

    __module__ = "ansible_collections.entra.b2c.plugins.action.b2c_keyset_key"

    def __init__(self, environment=None):  # pylint: disable=super-init-not-called
        self._task = types.SimpleNamespace(args=dict(ARGS, valid_for="1d"), action="entra.b2c.b2c_keyset_key",
                                           async_val=0, delegate_to=None, environment=environment, check_mode=True,
                                           diff=False)
        self._connection = types.SimpleNamespace(transport="local")
        self._play_context = types.SimpleNamespace(become=False)
        self._templar = types.SimpleNamespace(template=lambda value: value)
        self.module_process_runs = 0

    def _execute_module(self, *args, **kwargs):  # pylint: disable=arguments-differ,unused-argument
        self.module_process_runs += 1
        return {"ran": "as a module process"}


TASK_VARS = {"ansible_python_interpreter": sys.executable}


@pytest.fixture()
def action(monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    monkeypatch.delenv("ENTRA_B2C_IN_PROCESS", raising=False)
    flows = []

    def flow(run):
        flows.append(dict(run.params))
        return {"changed": False, "seen": os.environ.get("ENTRA_UNIT_FROM_TASK")}

    fake = FakeActionModule(environment=[{"ENTRA_UNIT_FROM_TASK": "from the task"}])
    fake.module = types.SimpleNamespace(MODULE_SPEC=b2c_keyset_key.MODULE_SPEC, FLOW=flow)
    fake.flows = flows
    return fake


def test_a_release_never_seen_runs_in_the_worker_too(action, monkeypatch):
    """Nothing in the worker path depends on the release: a future ansible-core (or devel) gets it as well."""
    for where in (release, ansible_release):
        monkeypatch.setattr(where, "__version__", "2.99.0.dev0")
    said = []
    monkeypatch.setattr(_in_process.display, "vvv", said.append)
    result = action.run(task_vars=TASK_VARS)
    assert action.module_process_runs == 0 and len(action.flows) == 1
    assert said == ["entra.b2c: running b2c_keyset_key in the controller's worker process"]
    assert result["changed"] is False and result["seen"] == "from the task"  # the task's environment: keyword
    assert "ENTRA_UNIT_FROM_TASK" not in os.environ


def test_the_module_process_runs_when_asked_and_says_why(action, monkeypatch):
    monkeypatch.setenv("ENTRA_B2C_IN_PROCESS", "false")
    said = []
    monkeypatch.setattr(_in_process.display, "vvv", said.append)
    assert action.run(task_vars=TASK_VARS) == {"ran": "as a module process"}
    assert action.flows == [] and said == ["entra.b2c: running b2c_keyset_key as a module process: "
                                           "ENTRA_B2C_IN_PROCESS is false"]


def test_a_crash_in_the_flow_never_falls_back_and_masks_secrets(action, monkeypatch):
    """Once the flow ran, a key may exist: a crash is reported, the module is not run a second time."""
    monkeypatch.setenv("AZURE_ACCESS_TOKEN", "env-token-value-456")

    def crash(run):
        action.flows.append("crashed")
        raise RuntimeError("after the key was added, with unit-secret-value-123 and env-token-value-456")

    action.module = types.SimpleNamespace(MODULE_SPEC=b2c_keyset_key.MODULE_SPEC, FLOW=crash)
    result = action.run(task_vars=TASK_VARS)
    assert action.flows == ["crashed"] and action.module_process_runs == 0
    assert result["failed"] is True
    assert "b2c_keyset_key (in the controller's worker process): RuntimeError: after the key was added" in result["msg"]
    assert "raise RuntimeError" in result["exception"]
    assert "unit-secret-value-123" not in repr(result) and "env-token-value-456" not in repr(result)


def test_the_invocation_follows_this_releases_rule(action):
    """2.16-2.18 always return it; 2.19 and later when INJECT_INVOCATION says so (its default: no)."""
    from ansible import constants as C  # pylint: disable=import-outside-toplevel

    known = "INJECT_INVOCATION" in C.config.get_configuration_definitions()
    assert action._inject_invocation({}) is (not known or bool(C.config.get_config_value("INJECT_INVOCATION")))  # pylint: disable=protected-access
