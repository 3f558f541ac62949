# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every ansible-core minor of the matrix must show with the collection as a user installs it.

`make test` installs the built tarball with ansible-galaxy into a fresh environment per minor and points
ANSIBLE_COLLECTIONS_PATH at it; a direct pytest run uses a symlink to the work tree instead.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT
from test_in_process import IN_PROCESS

pytestmark = pytest.mark.compat


def test_the_collection_under_test_is_the_one_the_suite_was_given(ansible):
    listed = subprocess.run([str(ansible.bin_dir / "ansible-galaxy"), "collection", "list", "entra.b2c", "--format",
                             "json"], cwd=ansible.workdir, env=ansible.env(), capture_output=True, text=True,
                            check=False, timeout=120)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    found = {path: collections["entra.b2c"] for path, collections in json.loads(listed.stdout).items()
             if "entra.b2c" in collections}
    assert list(found) == [str(Path(ansible.collections) / "ansible_collections")]
    galaxy = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))
    assert next(iter(found.values()))["version"] == galaxy["version"]
    if os.environ.get("ANSIBLE_COLLECTIONS_PATH"):
        # An installed artifact (ansible-galaxy writes MANIFEST.json), not the work tree.
        installed = Path(ansible.collections) / "ansible_collections" / "entra" / "b2c"
        assert (installed / "MANIFEST.json").is_file() and not installed.is_symlink()


def test_an_adhoc_task_runs_in_the_worker_and_then_has_nothing_to_do(ansible, control):
    """Credentials from the environment, as the README's ad hoc example; every minor of the matrix runs it in the
    worker, which -vvv names."""
    environment = {"AZURE_TENANT_ID": ansible.emulator.tenant_id, "AZURE_CLIENT_ID": ansible.emulator.client_id,
                   "AZURE_CLIENT_SECRET": ansible.emulator.client_secret}
    endpoints = "graph_endpoint={0} authority_host={0} ca_path={1}".format(ansible.emulator.url, ansible.emulator.ca_path)
    first = ansible.adhoc("keyset=Compat use=sig valid_for=30d " + endpoints, extra_env=environment, verbosity=3)
    assert first.rc == 0, first.output[-3000:]
    assert IN_PROCESS % "b2c_keyset_key" in first.output
    assert first.results[-1]["result"]["changed"] is True
    again = ansible.adhoc("keyset=Compat use=sig valid_for=30d " + endpoints, extra_env=environment)
    assert again.rc == 0 and again.results[-1]["result"]["changed"] is False
    assert [keyset["id"] for keyset in control.state()["keysets"]] == ["B2C_1A_Compat"]


def test_the_worker_path_is_the_tested_matrix_and_the_readme_table_and_singles_out_no_release():
    """The README's table lists the minors make test runs, each in the worker, and newer ones too: the worker path
    names no release (no allow-list to extend), and uses no private attribute of ansible-core."""
    matrix = constant(REPO_ROOT / "noxfile.py", "MATRIX")
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    in_worker = [line.split("|")[1].strip() for line in readme.splitlines() if line.endswith("| in the worker |")]
    assert in_worker == list(matrix) + ["newer, or devel"]
    runtime = yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text(encoding="utf-8"))
    assert runtime["requires_ansible"] == f">={list(matrix)[0]}.0"
    plugins = "\n".join(path.read_text(encoding="utf-8") for path in (REPO_ROOT / "plugins").rglob("*.py"))
    for private in ("_ANSIBLE_ARGS", "_parse_returned_data", "_load_params", "_update_module_args",
                    "_compute_environment_string", "_ANSIBLE_PROFILE", "WORKER_PATH_MINORS"):
        assert private not in plugins, private


def constant(path: Path, name: str):
    """The literal value of a module-level constant, read without importing the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return next(ast.literal_eval(node.value) for node in tree.body
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name)


def test_the_oldest_module_python_is_one_value_in_four_places():
    """tests/config.yml's python_requires, the units-py3.9 session of the noxfile, its job in the CI workflow and the
    README say the same oldest Python of the modules."""
    module_python = constant(REPO_ROOT / "noxfile.py", "MODULE_PYTHON")
    config = yaml.safe_load((REPO_ROOT / "tests" / "config.yml").read_text(encoding="utf-8"))
    assert config["modules"]["python_requires"] == f">={module_python}"
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    assert f"units-py{module_python}" in workflow["jobs"]["nox"]["strategy"]["matrix"]["session"]
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"the modules need\nPython {module_python} or newer" in readme
    assert f"unit-tested on Python {module_python}, the oldest they support" in readme
