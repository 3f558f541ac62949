# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action plugin behind every entra.b2c module: run the module inside the controller's worker when it would run
on the controller anyway.

Internal use only: this module may change without notice.

These modules only talk HTTPS to Graph, so they run on the controller (localhost, ``connection: local``). There a
module process costs more than the work itself: a new interpreter, AnsiballZ's zip and the imports of
``ansible.module_utils.basic`` (about 0.35 s, see docs/performance.md). When the task runs with the local connection,
the controller's own Python, no become and no async, this plugin runs the same module code in the worker process that
Ansible already forked for the task: the arguments go through the same encoding, AnsibleModule validates and masks them
as it would in a module process, and the printed result is parsed by the same ActionBase code. Anything else (another
host, another interpreter, become, async, or ENTRA_B2C_IN_PROCESS=false) runs the module the usual way.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import json
import os
import sys
import traceback

from ansible.module_utils import basic
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()

IN_PROCESS_ENV = "ENTRA_B2C_IN_PROCESS"
# Modules without metadata use this AnsiballZ serialization profile (ansible-core 2.19 and later).
SERIALIZATION_PROFILE = "legacy"


class GraphAction(ActionBase):
    """Runs the entra.b2c module of the same name, in the worker process when it would run on the controller."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.10
        why_not = self._why_not_in_process(task_vars)
        if why_not:
            display.vvv("entra.b2c: running %s as a module process: %s" % (self._module_name, why_not))
            result.update(self._execute_module(task_vars=task_vars))
            return result
        display.vvv("entra.b2c: running %s in the controller's worker process" % self._module_name)
        result.update(self._run_in_process(task_vars))
        return result

    @property
    def _module_name(self) -> str:
        return type(self).__module__.rsplit(".", 1)[-1]

    def _why_not_in_process(self, task_vars: dict) -> str:
        """Why the module must run as its own process here, or "" when the worker process can run it."""
        if not boolean(os.environ.get(IN_PROCESS_ENV, "true"), strict=False):
            return "%s is false" % IN_PROCESS_ENV
        if getattr(self._connection, "transport", None) != "local":
            return "the connection is not local"
        if self._play_context.become:
            return "become is set"
        if self._task.async_val:
            return "the task is async"
        host_vars = task_vars
        if self._task.delegate_to:  # the delegated host's interpreter, as ActionBase._configure_module picks it
            host_vars = (task_vars.get("ansible_delegated_vars") or {}).get(self._task.delegate_to) or {}
        interpreter = host_vars.get("ansible_python_interpreter")
        if interpreter is not None:
            try:
                interpreter = self._templar.template(interpreter)
            except Exception:  # pylint: disable=broad-exception-caught  # the module run reports it as usual
                return "ansible_python_interpreter does not template"
            if interpreter != sys.executable:
                return "ansible_python_interpreter is %s, not the controller's %s" % (interpreter, sys.executable)
        try:
            import requests  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import
        except ImportError:
            return "the controller's Python has no requests"
        return ""

    def _run_in_process(self, task_vars: dict) -> dict:
        module_args = dict(self._task.args)
        self._update_module_args(self._task.action, module_args, task_vars)
        environment: dict = {}
        self._compute_environment_string(environment)  # the task's `environment:` keyword, as a module would see it
        stdout, exit_code = _run_main(self._module_name, _encode_arguments(module_args), environment)
        return self._parse_module_output(stdout, exit_code)

    def _parse_module_output(self, stdout: str, exit_code: int) -> dict:
        """The module's printed result through ActionBase's own parsing, as _execute_module does it."""
        output = dict(rc=exit_code, stdout=stdout, stdout_lines=stdout.splitlines(), stderr="", stderr_lines=[])
        if "profile" in inspect.signature(self._parse_returned_data).parameters:  # ansible-core 2.19 and later
            parsed = self._parse_returned_data(output, SERIALIZATION_PROFILE)
            parsed.remove_internal_keys()
            return parsed.as_result_dict(for_round_trip=True)
        from ansible.vars.clean import remove_internal_keys  # pylint: disable=import-outside-toplevel
        from ansible.utils.unsafe_proxy import wrap_var  # pylint: disable=import-outside-toplevel

        data = self._parse_returned_data(output)
        remove_internal_keys(data)
        return wrap_var(data)  # module results are never templated, as _execute_module marks them


def _encode_arguments(module_args: dict) -> bytes:
    """The arguments as AnsiballZ hands them to a module process (vaulted values decrypted on the way)."""
    try:  # ansible-core 2.19 and later: serialization profiles
        from ansible.module_utils.common.json import Direction, get_module_encoder  # pylint: disable=import-outside-toplevel

        encoder = get_module_encoder(SERIALIZATION_PROFILE, Direction.CONTROLLER_TO_MODULE)
        text = json.dumps(dict(ANSIBLE_MODULE_ARGS=module_args), cls=encoder)
    except ImportError:
        from ansible.module_utils.common.json import AnsibleJSONEncoder  # pylint: disable=import-outside-toplevel

        text = json.dumps(dict(ANSIBLE_MODULE_ARGS=module_args), cls=AnsibleJSONEncoder, vault_to_text=True)
    return text.encode("utf-8")


@contextlib.contextmanager
def _environment(overrides: dict):
    saved = {name: os.environ.get(name) for name in overrides}
    os.environ.update({name: str(value) for name, value in overrides.items()})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _load_module(module_name: str):
    return importlib.import_module("ansible_collections.entra.b2c.plugins.modules." + module_name)


def _run_main(module_name: str, encoded_arguments: bytes, environment: dict) -> tuple:
    """Run the module's main() as AnsiballZ would; return what it printed and its exit code."""
    printed = io.StringIO()
    exit_code = 0
    basic._ANSIBLE_ARGS = encoded_arguments  # pylint: disable=protected-access
    basic._ANSIBLE_PROFILE = SERIALIZATION_PROFILE  # pylint: disable=protected-access
    try:
        with _environment(environment), contextlib.redirect_stdout(printed):
            _load_module(module_name).main()
    except SystemExit as exc:  # exit_json and fail_json end the module this way
        exit_code = exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:  # pylint: disable=broad-exception-caught  # a module process would print a traceback too
        return json.dumps(dict(failed=True, msg="MODULE FAILURE: %s in %s" % (type(exc).__name__, module_name),
                               exception=traceback.format_exc())), 1
    finally:
        basic._ANSIBLE_ARGS = None  # pylint: disable=protected-access
        basic._ANSIBLE_PROFILE = None  # pylint: disable=protected-access
    return printed.getvalue(), exit_code
