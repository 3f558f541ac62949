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
as it would in a module process, and the printed result is parsed by the same ActionBase code.

That leans on ansible-core internals (``basic._ANSIBLE_ARGS``, ``_ANSIBLE_PROFILE``, ``_parse_returned_data``) which
change between minors, so the worker path fails closed: it runs only on the ansible-core minors that the test matrix
proves (WORKER_PATH_MINORS) and only after a self-check of that machinery on canned data. Anything else (another
ansible-core, another host or interpreter, become, async, ENTRA_B2C_IN_PROCESS=false, a failed self-check) runs the
module the usual way, and -vvv says why.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import json
import os
import re
import shutil
import sys
import traceback
from collections.abc import Mapping

from ansible import constants as C
from ansible.module_utils import basic
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.release import __version__ as ANSIBLE_CORE_VERSION
from ansible.utils.display import Display

display = Display()

IN_PROCESS_ENV = "ENTRA_B2C_IN_PROCESS"
# The ansible-core minors whose internals the worker path is proven on: `make test` runs the unit and end-to-end
# tests of the worker path on each of them. Any other release, a newer one or devel included, gets module processes.
WORKER_PATH_MINORS = ("2.16", "2.17", "2.18", "2.19", "2.20", "2.21")
# Modules without metadata use this AnsiballZ serialization profile (ansible-core 2.19 and later).
SERIALIZATION_PROFILE = "legacy"
# Interpreter settings that ask for discovery rather than naming a Python: on the controller that is the worker's own.
DISCOVERY_MODES = ("auto", "auto_silent", "auto_legacy", "auto_legacy_silent")
# What the self-check sends through the argument encoding and the result parsing.
CANNED_ARGUMENTS = {"entra_b2c_probe": "arguments \u2713", "_ansible_check_mode": True}
CANNED_RESULT = {"changed": False, "entra_b2c_probe": "result \u2713", "warnings": []}


def worker_path_release_gap(version: str | None = None) -> str:
    """Why this ansible-core release (the running one by default) is not one the worker path is proven on, or ""."""
    version = version or ANSIBLE_CORE_VERSION
    match = re.match(r"(\d+)\.(\d+)", version)
    minor = "%s.%s" % match.groups() if match else version
    if "dev" in version:
        return "ansible-core %s is a development build; the worker path runs only on the tested releases %s" % (
            version, ", ".join(WORKER_PATH_MINORS))
    if minor not in WORKER_PATH_MINORS:
        return "ansible-core %s is not among the releases the worker path is tested on (%s)" % (
            version, ", ".join(WORKER_PATH_MINORS))
    return ""


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


class GraphAction(ActionBase):
    """Runs the entra.b2c module of the same name, in the worker process when it would run on the controller."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp  # unused since ansible-core 2.10
        why_not = self._why_not_in_process(task_vars) or self._machinery_fault()
        if why_not:
            display.vvv("entra.b2c: running %s as a module process: %s" % (self._module_name, why_not))
            result.update(self._execute_module(task_vars=task_vars))
            return result
        display.vvv("entra.b2c: running %s in the controller's worker process" % self._module_name)
        # From here on there is no falling back: main() may already have added a key.
        result.update(self._run_in_process(task_vars))
        return result

    @property
    def _module_name(self) -> str:
        return type(self).__module__.rsplit(".", 1)[-1]

    def _why_not_in_process(self, task_vars: dict) -> str:
        """Why the module must run as its own process here, or "" when the worker process can run it."""
        if not boolean(os.environ.get(IN_PROCESS_ENV, "true"), strict=False):
            return "%s is false" % IN_PROCESS_ENV
        release_gap = worker_path_release_gap()
        if release_gap:
            return release_gap
        if getattr(self._connection, "transport", None) != "local":
            return "the connection is not local"
        if self._play_context.become:
            return "become is set"
        if self._task.async_val:
            return "the task is async"
        host_vars = task_vars
        if self._task.delegate_to:  # the delegated host's interpreter, as ActionBase._configure_module picks it
            host_vars = (task_vars.get("ansible_delegated_vars") or {}).get(self._task.delegate_to) or {}
        # ansible_python_interpreter, else ANSIBLE_PYTHON_INTERPRETER / interpreter_python, else discovery
        interpreter = C.config.get_config_value("INTERPRETER_PYTHON", variables=host_vars)
        try:
            interpreter = self._templar.template(interpreter)
        except Exception:  # pylint: disable=broad-exception-caught  # the module run reports it as usual
            return "ansible_python_interpreter does not template"
        if interpreter not in DISCOVERY_MODES and not same_interpreter(str(interpreter)):
            return "the interpreter is %s, not the controller's %s" % (interpreter, sys.executable)
        try:
            import requests  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import
        except ImportError:
            return "the controller's Python has no requests"
        return ""

    def _machinery_fault(self) -> str:
        """Self-check of the ansible-core internals the worker path uses, on canned data, before any module code runs.

        Returns why the check failed, or "" when arguments encode and decode as a module process receives them and a
        printed result parses into a task result.
        """
        try:
            with _module_arguments(_encode_arguments(dict(CANNED_ARGUMENTS))), \
                    contextlib.redirect_stdout(io.StringIO()):
                decoded = basic._load_params()  # pylint: disable=protected-access
            if decoded != CANNED_ARGUMENTS:
                return "the argument encoding self-check failed: %r came back as %r" % (CANNED_ARGUMENTS, decoded)
            parsed = self._parse_module_output(json.dumps(CANNED_RESULT), 0)
            if not isinstance(parsed, Mapping) or parsed.get("entra_b2c_probe") != CANNED_RESULT["entra_b2c_probe"]:
                return "the result parsing self-check failed: %r came back as %r" % (CANNED_RESULT, parsed)
        except BaseException as exc:  # pylint: disable=broad-exception-caught  # SystemExit too: AnsibleModule's way out
            return "the self-check of ansible-core's module machinery failed (%s: %s)" % (type(exc).__name__, exc)
        return ""

    def _run_in_process(self, task_vars: dict) -> dict:
        module_args = dict(self._task.args)
        self._update_module_args(self._task.action, module_args, task_vars)
        environment: dict = {}
        self._compute_environment_string(environment)  # the task's `environment:` keyword, as a module would see it
        stdout, exit_code = _run_main(self._module_name, module_args, environment)
        return self._parse_module_output(stdout, exit_code)

    def _parse_module_output(self, stdout: str, exit_code: int) -> dict:
        """The module's printed result through ActionBase's own parsing, as _execute_module does it."""
        output = dict(rc=exit_code, stdout=stdout, stdout_lines=stdout.splitlines(), stderr="", stderr_lines=[])
        if "profile" in inspect.signature(self._parse_returned_data).parameters:  # 2.19+: the decoder is chosen by name
            parsed = self._parse_returned_data(output, SERIALIZATION_PROFILE)
        else:
            parsed = self._parse_returned_data(output)
        # What comes back decides the rest, not the signature: a task result object (2.21) or a dict (2.16-2.20).
        if hasattr(parsed, "as_result_dict"):
            parsed.remove_internal_keys()
            return parsed.as_result_dict(for_round_trip=True)
        from ansible.vars.clean import remove_internal_keys  # pylint: disable=import-outside-toplevel
        from ansible.utils.unsafe_proxy import wrap_var  # pylint: disable=import-outside-toplevel

        remove_internal_keys(parsed)
        return wrap_var(parsed)  # module results are never templated, as _execute_module marks them


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
def _module_arguments(encoded_arguments: bytes):
    """Hand the arguments to AnsibleModule as AnsiballZ does, and take them back afterwards."""
    basic._ANSIBLE_ARGS = encoded_arguments  # pylint: disable=protected-access
    basic._ANSIBLE_PROFILE = SERIALIZATION_PROFILE  # pylint: disable=protected-access
    try:
        yield
    finally:
        basic._ANSIBLE_ARGS = None  # pylint: disable=protected-access
        basic._ANSIBLE_PROFILE = None  # pylint: disable=protected-access
        basic._PARSED_MODULE_ARGS = None  # pylint: disable=protected-access  # 2.19+: a copy of the arguments


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


def _run_main(module_name: str, module_args: dict, environment: dict) -> tuple:
    """Run the module's main() as AnsiballZ would; return what it printed and its exit code."""
    printed = io.StringIO()
    exit_code = 0
    try:
        with _module_arguments(_encode_arguments(module_args)), _environment(environment), \
                contextlib.redirect_stdout(printed):
            _load_module(module_name).main()
    except SystemExit as exc:  # exit_json and fail_json end the module this way
        exit_code = exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:  # pylint: disable=broad-exception-caught  # what a module process reports for a crash
        return _crash_report(module_name, exc, module_args), 1
    return printed.getvalue(), exit_code


def _crash_report(module_name: str, exc: Exception, module_args: dict) -> str:
    """An unexpected exception as a failed result: its type and message, and the traceback for -vvv / tracebacks.

    A module process would not mask anything here, but it would never have our secrets in its traceback's locals
    either: values of the secret options (and of the credential environment variables) are masked all the same.
    """
    from ansible.module_utils.common.parameters import remove_values  # pylint: disable=import-outside-toplevel
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.entra.b2c.plugins.module_utils._auth import CERT_PASSWORD_ENV, CREDENTIAL_KINDS
    from ansible_collections.entra.b2c.plugins.module_utils._module import SECRET_OPTIONS  # pylint: disable=import-outside-toplevel

    secret_environment = [name for kind, _option, names in CREDENTIAL_KINDS if kind in ("client_secret", "access_token")
                          for name in names] + list(CERT_PASSWORD_ENV)
    secrets = {value for name, value in module_args.items() if name in SECRET_OPTIONS and isinstance(value, str)}
    secrets.update(os.environ[name] for name in secret_environment if os.environ.get(name))
    secrets.discard("")
    message = "MODULE FAILURE in entra.b2c.%s (in the controller's worker process): %s: %s" % (
        module_name, type(exc).__name__, exc)
    return json.dumps(dict(failed=True, msg=remove_values(message, secrets),
                           exception=remove_values(traceback.format_exc(), secrets)))
