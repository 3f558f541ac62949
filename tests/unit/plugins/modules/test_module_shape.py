# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every module has one shape (CONTRIBUTING.md): its documentation, MODULE_SPEC, FLOW imported from its family's flow
module, and main(); every action plugin is the one-line shim that names its module. Read from the source (AST), so a
module that grows logic of its own fails here."""

from __future__ import annotations

import ast
import os

import pytest

PLUGINS_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins")
MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(PLUGINS_DIR, "modules")) if name.endswith(".py"))
FAMILY_PACKAGES = tuple(f"ansible_collections.entra.b2c.plugins.module_utils._{family}." for family in
                        ("keysets", "policies", "apps", "tenant"))
MODULE_DOOR = "ansible_collections.entra.b2c.plugins.module_utils._core.module"
DOCS = ("DOCUMENTATION", "EXAMPLES", "RETURN")


def parse(*parts: str) -> ast.Module:
    with open(os.path.join(PLUGINS_DIR, *parts), encoding="utf-8") as handle:
        return ast.parse(handle.read())


def assigned(node: ast.stmt) -> str | None:
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return node.targets[0].id
    return None


def shape_problems(tree: ast.Module) -> list[str]:
    """What departs from the module shape, in words; [] when it has it."""
    problems, imported, seen = [], {}, []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                continue
            if node.module != MODULE_DOOR and not node.module.startswith(FAMILY_PACKAGES):
                problems.append(f"imports {node.module}: a module imports only from its family's package and "
                                "_core.module")
            imported.update({alias.asname or alias.name: node.module for alias in node.names})
        elif isinstance(node, ast.Import):
            problems.append(f"imports {', '.join(alias.name for alias in node.names)}")
        elif assigned(node) in DOCS + ("MODULE_SPEC", "FLOW"):
            seen.append(assigned(node))
        elif isinstance(node, ast.FunctionDef) and node.name == "main":
            seen.append("main")
            body = ast.unparse(node).splitlines()[1:]
            if [line.strip() for line in body] != ["GraphModule(**MODULE_SPEC).run(FLOW)"]:
                problems.append("main() does more than GraphModule(**MODULE_SPEC).run(FLOW)")
        elif isinstance(node, ast.If) and "__name__" in ast.unparse(node.test):
            continue
        else:
            problems.append(f"line {node.lineno}: {type(node).__name__} {ast.unparse(node).splitlines()[0][:60]!r}")
    if seen != [*DOCS, "MODULE_SPEC", "FLOW", "main"]:
        problems.append(f"top-level names in the order {seen}, not DOCUMENTATION, EXAMPLES, RETURN, MODULE_SPEC, FLOW, "
                        "main")
    families = {module.split(".")[-2] for module in imported.values() if module != MODULE_DOOR}
    if len(families) > 1:
        problems.append(f"imports from several families: {sorted(families)}")
    flow = next((node.value for node in tree.body if assigned(node) == "FLOW"), None)
    if not (isinstance(flow, ast.Name) and imported.get(flow.id, "").endswith(".flow")):
        problems.append("FLOW is not a name imported from the family's flow module")
    return problems


@pytest.mark.parametrize("name", MODULES)
def test_every_module_has_the_one_shape(name):
    assert shape_problems(parse("modules", f"{name}.py")) == []


def test_the_shape_check_refuses_a_module_with_logic_of_its_own():
    tree = parse("modules", "b2c_keyset.py")
    tree.body.insert(-3, ast.parse("def helper(run):\n    return run.params").body[0])
    assert any("FunctionDef" in problem for problem in shape_problems(tree))
    tree = parse("modules", "b2c_keyset.py")
    tree.body.insert(1, ast.parse("from ansible_collections.entra.b2c.plugins.module_utils._core.graph import "
                                  "GraphClient").body[0])
    assert any("_core.graph" in problem for problem in shape_problems(tree))


@pytest.mark.parametrize("name", MODULES)
def test_every_action_plugin_is_the_shim_of_its_module(name):
    tree = parse("action", f"{name}.py")
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    assert [node.name for node in classes] == ["ActionModule"]
    assert [ast.unparse(base) for base in classes[0].bases] == ["GraphAction"]
    statements = [node for node in classes[0].body if not isinstance(node, ast.Expr)]  # the docstring aside
    assert [ast.unparse(node) for node in statements] == [f"module = {name}"]
