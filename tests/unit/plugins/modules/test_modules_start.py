# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every module imports and validates its arguments on the Python it runs on: ansible-test runs this file in the
modules context, so the units-py3.9 session proves it on the oldest Python the modules support (tests/config.yml),
with the ansible-core module_utils a controller sends. No request is made: the arguments are refused first."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re

import pytest

from ansible.module_utils import basic

MODULES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "modules")
MODULES = sorted(name[:-3] for name in os.listdir(MODULES_DIR) if name.startswith("b2c_") and name.endswith(".py"))


@contextlib.contextmanager
def module_args(args):
    try:  # ansible-core 2.19 and later: the public test helper
        from ansible.module_utils.testing import patch_module_args  # pylint: disable=import-outside-toplevel
    except ImportError:  # 2.16 to 2.18 read the arguments from this attribute
        saved = basic._ANSIBLE_ARGS  # pylint: disable=protected-access
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()  # pylint: disable=protected-access
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved  # pylint: disable=protected-access
    else:
        with patch_module_args(args):
            yield


def test_every_module_is_found():
    assert len(MODULES) >= 9 and "b2c_keyset_key" in MODULES and "b2c_policies" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_a_module_imports_and_validates_its_arguments_before_any_request(name, capsys):
    module = importlib.import_module(f"ansible_collections.entra.b2c.plugins.modules.{name}")
    with module_args({"no_such_option_here": 1, "client_secret": "s3cr3t-value-never-shown"}):
        with pytest.raises(SystemExit) as exited:
            module.main()
    assert exited.value.code == 1
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] is True
    # Argument validation reports one problem: the unknown option, or a required one that comes first.
    assert re.search(r"no_such_option_here|missing|required", result["msg"]), result["msg"]
    assert "s3cr3t-value-never-shown" not in json.dumps(result)
