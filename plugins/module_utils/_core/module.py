# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module-process door: AnsibleModule with the shared Graph options, running a flow on a RunContext.

Internal use only: this module may change without notice.

Every module defines MODULE_SPEC (its own options and their rules, read by the action plugin's worker path too) and a
flow taking a RunContext (_core/context.py); its main() is ``GraphModule(**MODULE_SPEC).run(flow)``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.entra.b2c.plugins.module_utils._core.context import RunContext, outcome
from ansible_collections.entra.b2c.plugins.module_utils._core.graph import HAS_REQUESTS, REQUESTS_IMPORT_ERROR
# The shared options, re-exported: every module's spec starts from them.
from ansible_collections.entra.b2c.plugins.module_utils._core.options import GRAPH_ARGUMENT_SPEC  # noqa: F401


# Options whose raw values a failing task masks, whichever module it is: the credentials, and the values that
# b2c_keyset_secret (secret) and b2c_keyset_certificate (pkcs12, pkcs12_password) upload. A module that does not take
# one of them masks it too, so that `secret:` meant as the app's secret is refused without being shown.
SECRET_OPTIONS = ("client_secret", "client_certificate_password", "access_token", "secret", "pkcs12",
                  "pkcs12_password")


def optional(spec: dict) -> dict:
    """A copy of an argument spec with neither defaults nor required options: the entries of a batch module, whose
    unset options fall back to the module's own."""
    return {name: {key: value for key, value in option.items() if key not in ("default", "required")}
            for name, option in spec.items()}


def full_argument_spec(module_spec: dict) -> dict:
    """A module's whole argument spec: the shared Graph options and its own (a copy: the specs are shared values)."""
    return copy.deepcopy({**GRAPH_ARGUMENT_SPEC, **module_spec["argument_spec"]})


def validator_rules(module_spec: dict) -> dict:
    """The rules between options (mutually_exclusive, required_one_of, ...) of a module's MODULE_SPEC."""
    return {name: value for name, value in module_spec.items() if name not in ("argument_spec", "supports_check_mode")}


def raw_secrets(arguments: dict) -> set:
    """The raw values of the secret options among a task's arguments, whether or not the module takes them."""
    return {value for name, value in arguments.items() if name in SECRET_OPTIONS and isinstance(value, str) and value}


class GraphModule(AnsibleModule):
    """AnsibleModule plus the shared Graph options; run() hands a flow its RunContext and reports the outcome."""

    def __init__(self, argument_spec: dict, **kwargs):
        super().__init__(argument_spec=full_argument_spec(dict(argument_spec=argument_spec)), **kwargs)
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))

    def run(self, flow: Callable[[RunContext], dict]) -> None:
        run = RunContext(self.params, check_mode=self.check_mode, diff=self._diff, warn=self.warn,
                         mask=self.no_log_values.add)
        result = outcome(flow, run)
        if result.pop("failed", False):
            self.fail_json(**result)
        self.exit_json(**result)

    def fail_json(self, msg, **kwargs):  # pylint: disable=arguments-differ
        # ansible-core stops collecting no_log values when a list-of-dicts option holds a non-dict, and then echoes
        # the raw arguments (client_secret included) in `invocation`: mask every secret option's raw value too. Before
        # validation ends (when it fails), params holds the arguments as given.
        masked = getattr(self, "no_log_values", None)
        if masked is None:
            masked = self.no_log_values = set()
        masked.update(raw_secrets(getattr(self, "params", None) or {}))
        super().fail_json(msg=msg, **kwargs)
