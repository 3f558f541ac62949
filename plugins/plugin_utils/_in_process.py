# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The action plugin behind every entra.b2c module: run the module's flow inside the controller's worker when the
module would run on the controller anyway.

Internal use only: this module may change without notice.

These modules only talk HTTPS to Graph, so they run on the controller (localhost, ``connection: local``). There a
module process costs more than the work itself: a new interpreter, AnsiballZ's zip and the imports of
``ansible.module_utils.basic`` (see docs/performance.md). When the task runs with the local connection, the
controller's own Python, no become and no async, this plugin does in the worker process that Ansible already forked
for the task what AnsibleModule would do in a module process, with public APIs only:

- the arguments travel as AnsiballZ sends them (JSON through ansible-core's module encoder: vaulted values decrypted);
- ``ArgumentSpecValidator`` validates them against the module's own MODULE_SPEC, with its fallbacks, defaults and
  rules, and refuses what AnsibleModule refuses with the same message;
- the module's flow runs on a RunContext (module_utils/_core/context.py) with the task's check and diff mode and its
  ``environment:`` keyword;
- the result is shaped as AnsibleModule's exit_json and fail_json shape it (``invocation``, ``warnings``, ``failed``
  and ``msg``), masked with the no_log values of the options and the credential's secrets.

Anything else (another host or interpreter, become, async, ENTRA_B2C_IN_PROCESS=false) runs the module the usual
way, and -vvv says why. No ansible-core release is singled out: the worker path uses nothing a release may take away
without a deprecation.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

# ansible-core 2.19 and later tag data: a value not trusted as a template (any the plugin makes) is never templated.
# Before, ActionBase marks a module process's result unsafe, and the worker path does the same with the public wrap_var
# (deprecated from 2.19 on, so imported only where there is no data tagging).
try:
    from ansible.template import trust_as_template
except ImportError:
    trust_as_template = None
if trust_as_template is None:
    from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.entra.b2c.plugins.module_utils._core.auth import CERT_PASSWORD_ENV, CREDENTIAL_KINDS
from ansible_collections.entra.b2c.plugins.module_utils._core.context import RunContext, outcome
from ansible_collections.entra.b2c.plugins.module_utils._core.graph import HAS_REQUESTS
from ansible_collections.entra.b2c.plugins.module_utils._core.module import full_argument_spec, raw_secrets, validator_rules

display = Display()

IN_PROCESS_ENV = "ENTRA_B2C_IN_PROCESS"
# Modules without metadata use this AnsiballZ serialization profile (ansible-core 2.19 and later).
SERIALIZATION_PROFILE = "legacy"
# Interpreter settings that ask for discovery rather than naming a Python: on the controller that is the worker's own.
DISCOVERY_MODES = ("auto", "auto_silent", "auto_legacy", "auto_legacy_silent")
# ansible-core 2.19 and later return a module's `invocation` only when this setting asks for it; before, always.
INJECT_INVOCATION = "INJECT_INVOCATION"


def never_templated(result: dict) -> dict:
    """A module result as the action plugin returns it: never templated later, whatever its strings hold."""
    return wrap_var(result) if trust_as_template is None else result


def same_interpreter(path: str, current: str = sys.executable) -> bool:
    """Whether `path` names the interpreter running this process: the same binary in the same environment.

    `/venv/bin/python` and `/venv/bin/python3` are one interpreter; `/usr/bin/python3.12` is not the same one as a venv
    made from it, even though the venv's python links to it, because the venv's packages differ.
    """
    if os.sep not in path:
        path = shutil.which(path) or path
    if not os.path.isfile(path):
        return False
    return (os.path.realpath(path) == os.path.realpath(current)
            and _environment_root(path) == _environment_root(current))


def _environment_root(path: str) -> str | None:
    """The virtual environment an interpreter path belongs to (its pyvenv.cfg), or None outside one."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    return os.path.realpath(root) if os.path.isfile(os.path.join(root, "pyvenv.cfg")) else None


def as_sent(arguments: Mapping) -> dict:
    """The arguments as AnsiballZ hands them to a module process: JSON through ansible-core's module encoder."""
    try:  # ansible-core 2.19 and later: serialization profiles
        from ansible.module_utils.common.json import Direction, get_module_encoder  # pylint: disable=import-outside-toplevel

        text = json.dumps(dict(arguments), cls=get_module_encoder(SERIALIZATION_PROFILE, Direction.CONTROLLER_TO_MODULE))
    except ImportError:
        from ansible.module_utils.common.json import AnsibleJSONEncoder  # pylint: disable=import-outside-toplevel

        text = json.dumps(dict(arguments), cls=AnsibleJSONEncoder, vault_to_text=True)
    return json.loads(text)


def no_log_values(spec: Mapping, params: Mapping | None) -> set:
    """The values of the options marked no_log (in suboptions too), as AnsibleModule masks them."""
    found: set = set()
    for name, option in spec.items():
        value = (params or {}).get(name)
        if value is None:
            continue
        if option.get("no_log"):
            found.update(_leaves(value))
        if option.get("options"):
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, Mapping):
                    found |= no_log_values(option["options"], item)
    found.discard("")
    return found


def _leaves(value) -> set:
    if isinstance(value, Mapping):
        return {leaf for item in value.values() for leaf in _leaves(item)}
    if isinstance(value, (list, tuple, set)):
        return {leaf for item in value for leaf in _leaves(item)}
    return {str(value)} if not isinstance(value, bool) else set()


def worker_result(module_name: str, module_spec: Mapping, flow: Callable, arguments: Mapping, check_mode: bool,
                  diff: bool, inject_invocation: bool = True, progress: Callable[[str], None] | None = None) -> dict:
    """What a module process would print, as a dict: the arguments validated against the module's spec, the flow run,
    the result shaped and masked as AnsibleModule's exit_json / fail_json do it. `progress` shows each write as it
    completes (masked like the result)."""
    spec = full_argument_spec(module_spec)
    validation = ArgumentSpecValidator(spec, **validator_rules(module_spec)).validate(arguments)
    params = validation.validated_parameters
    secrets = no_log_values(spec, params)
    if validation.error_messages:
        message = validation.errors.msg
        if isinstance(validation.errors[0], UnsupportedError):
            message = f"Unsupported parameters for ({module_name}) module: {message}"
        result = {"failed": True, "msg": message}
    else:
        shown = None if progress is None else (lambda text: progress(remove_values(text, secrets)))
        run = RunContext(params, check_mode=check_mode, diff=diff, mask=secrets.add, progress=shown)
        result = outcome(flow, run)
        if result.get("failed"):  # as fail_json: failed and msg after the fields
            result = {**{name: value for name, value in result.items() if name not in ("failed", "msg")},
                      "failed": True, "msg": result["msg"]}
        if run.warnings:
            result["warnings"] = list(run.warnings)
    if result.get("failed"):
        secrets |= raw_secrets(params)  # as GraphModule.fail_json: whatever validation got to
    if inject_invocation:
        result.setdefault("invocation", {"module_args": params})
    return json.loads(json.dumps(remove_values(result, secrets)))


def crash_result(module_name: str, exc: BaseException, arguments: Mapping) -> dict:
    """An unexpected exception as a failed result: its type and message, and the traceback for -vvv / tracebacks.

    A module process would never have our secrets in its traceback's locals either: the values of the secret options
    (and of the credential environment variables) are masked.
    """
    secret_environment = [name for kind, _option, names in CREDENTIAL_KINDS if kind in ("client_secret", "access_token")
                          for name in names] + list(CERT_PASSWORD_ENV)
    secrets = raw_secrets(dict(arguments)) | {os.environ[name] for name in secret_environment if os.environ.get(name)}
    message = "MODULE FAILURE in entra.b2c.%s (in the controller's worker process): %s: %s" % (
        module_name, type(exc).__name__, exc)
    return dict(failed=True, msg=remove_values(message, secrets), exception=remove_values(traceback.format_exc(), secrets))


@contextlib.contextmanager
def _environment(overrides: Mapping):
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


class GraphAction(ActionBase):
    """Runs the entra.b2c module of the same name, in the worker process when it would run on the controller."""

    _supports_check_mode = True
    _supports_async = True
    module: Any = None  # the module of the same name, with its MODULE_SPEC and FLOW (set by each action plugin)

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
        # From here on there is no falling back: the flow may already have added a key.
        result.update(self._run_in_worker(task_vars))
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
        if self._task.delegate_to:  # the delegated host's interpreter, as ActionBase picks it for the module
            host_vars = (task_vars.get("ansible_delegated_vars") or {}).get(self._task.delegate_to) or {}
        # ansible_python_interpreter, else ANSIBLE_PYTHON_INTERPRETER / interpreter_python, else discovery
        interpreter = C.config.get_config_value("INTERPRETER_PYTHON", variables=host_vars)
        try:
            interpreter = self._templar.template(interpreter)
        except Exception:  # pylint: disable=broad-exception-caught  # the module run reports it as usual
            return "ansible_python_interpreter does not template"
        if interpreter not in DISCOVERY_MODES and not same_interpreter(str(interpreter)):
            return "the interpreter is %s, not the controller's %s" % (interpreter, sys.executable)
        if not HAS_REQUESTS:  # found out when the plugin imported its module
            return "the controller's Python has no requests"
        return ""

    def _run_in_worker(self, task_vars: dict) -> dict:
        environment = self._task_environment()
        arguments = as_sent(self._task.args)
        try:
            module = self.module
            with _environment(environment):  # credentials and fallbacks read it, as in a module process
                result = worker_result(self._task.action, module.MODULE_SPEC, module.FLOW, arguments,
                                       check_mode=self._task.check_mode, diff=self._task.diff,
                                       inject_invocation=self._inject_invocation(task_vars),
                                       progress=self._progress_line(task_vars))
        except Exception as exc:  # pylint: disable=broad-exception-caught  # what a module process reports for a crash
            result = crash_result(self._module_name, exc, arguments)
        return never_templated(result)

    @staticmethod
    def _progress_line(task_vars: dict) -> Callable[[str], None]:
        """One line per completed write at default verbosity, named by host: the worker sends it to the controller's
        display as it happens (a module process can only report at its end)."""
        host = task_vars.get("inventory_hostname", "localhost")
        return lambda text: display.display(f"{host}: {text}")

    def _task_environment(self) -> dict:
        """The task's `environment:` keyword (play, block and task merged, templated), as a module process gets it."""
        environments = self._task.environment or []
        merged: dict = {}
        for environment in environments if isinstance(environments, list) else [environments]:
            if not environment:
                continue
            templated = self._templar.template(environment)
            if not isinstance(templated, Mapping):
                raise AnsibleError("environment must be a dictionary, received %s (%s)" % (templated, type(templated)))
            merged.update(templated)
        return merged

    @staticmethod
    def _inject_invocation(task_vars: dict) -> bool:
        if INJECT_INVOCATION not in C.config.get_configuration_definitions():
            return True  # ansible-core 2.16 to 2.18: a module process always returns its invocation
        return boolean(C.config.get_config_value(INJECT_INVOCATION, variables=task_vars), strict=False)
