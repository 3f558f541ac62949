# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: ief_tenant_check
short_description: Check the variables of the role entra.b2c.ief_tenant and find its files
version_added: 0.1.0
description:
  - Checks the variables of the role P(entra.b2c.ief_tenant#role) so that the role can refuse them before its first
    request, and resolves its relative paths. The role's first task uses it.
  - Variables named C(ief_tenant_*) that the role does not know (a typo such as C(ief_tenant_reupload_dependent)), with
    the closest known name, as P(entra.b2c.policy_keys#role) does for its own.
  - The type of each variable; C(ief_tenant_connection) (option names and types, as the modules' shared options take
    them); C(ief_tenant_settings) (a dictionary of names to text); C(ief_tenant_appsettings) and
    C(ief_tenant_environment) together, the file readable and the environment one of its C(Environments);
    C(ief_tenant_prune_pattern) with C(ief_tenant_prune); app ids in C(ief_tenant_settings) while C(ief_tenant_apps)
    fills them.
  - Relative paths (C(ief_tenant_policies_dir), C(ief_tenant_appsettings), C(ief_tenant_backup_dir)) resolve against
    the playbook's directory, or against the directory C(ansible-playbook) runs in when O(relative_to=cwd) (the
    collection playbook, run from a project's root as AWX does). The policy directory must hold at least one file that
    matches C(ief_tenant_policies_pattern).
  - The policy files are found as M(entra.b2c.b2c_policies) finds them for its O(entra.b2c.b2c_policies#module:path) -
    in the sub-folders too unless C(ief_tenant_policies_recursive) is false, never in a dot folder, the VS Code B2C
    extension's C(Environments) output, C(ief_tenant_backup_dir), or through a symbolic link to a folder. The C(.xml)
    files left out are returned (RV(_value.left_out)) and named in a warning, once, when the variables hold no
    problem.
  - Messages never hold a secret of the connection.
author:
  - entra.b2c maintainers (@entra-b2c)
positional: _input, names, playbook_dir, relative_to
options:
  _input:
    description: The role's variables by name (every C(ief_tenant_*) variable of its C(meta/argument_specs.yml)).
    type: dict
    required: true
  names:
    description:
      - The names of all variables that start with C(ief_tenant_), as
        V(query('ansible.builtin.varnames', '^ief_tenant_'\)) gives them; unknown names are reported.
    type: list
    elements: str
    default: []
  playbook_dir:
    description: The playbook's directory, against which relative paths resolve by default.
    type: str
  relative_to:
    description:
      - V(playbook) resolves relative paths against O(playbook_dir); V(cwd) against the directory
        C(ansible-playbook) runs in.
    type: str
    choices: [playbook, cwd]
    default: playbook
"""

EXAMPLES = r"""
- name: Refuse the role's variables before any request when they hold a problem
  ansible.builtin.assert:
    that: checked.problems | length == 0
    fail_msg: "{{ checked.problems | join('\n') }}"
    quiet: true
  vars:
    checked: >-
      {{ {'ief_tenant_policies_dir': ief_tenant_policies_dir, 'ief_tenant_policies_pattern': '*.xml'}
         | entra.b2c.ief_tenant_check(query('ansible.builtin.varnames', '^ief_tenant_'), playbook_dir) }}
"""

RETURN = r"""
_value:
  description: What the role needs to start.
  type: dict
  contains:
    problems:
      description: One message per problem, each naming the variable and what to change; empty when none.
      type: list
      elements: str
    files:
      description: The policy files, absolute paths, sorted; empty when the directory has a problem.
      type: list
      elements: str
    left_out:
      description:
        - The C(.xml) files under the policy directory that are not in RV(_value.files) - their name does not match
          C(ief_tenant_policies_pattern), they are in a sub-folder and C(ief_tenant_policies_recursive) is false, or
          their name starts with a dot - as absolute paths, sorted. A warning names them too (relative to the
          directory). Files in the folders the search never enters are not listed.
      type: list
      elements: str
    templated:
      description:
        - The files of RV(_value.files) that hold Jinja (C({{), C({%) or C({#)), which the role renders with the
          template lookup; the others render to themselves, so the role passes them as they are. Empty when
          C(ief_tenant_template) is false.
      type: list
      elements: str
    policies_dir:
      description: The policy directory as an absolute path.
      type: str
    appsettings:
      description: C(ief_tenant_appsettings) as an absolute path, or V(null).
      type: str
    backup_dir:
      description: C(ief_tenant_backup_dir) as an absolute path, or V(null).
      type: str
"""

import json
import os
from collections.abc import Mapping

import yaml

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.utils.display import Display

from ansible_collections.entra.b2c.plugins.module_utils._policies.files import find_policy_files, left_out_message
from ansible_collections.entra.b2c.plugins.plugin_utils._role_checks import (
    Problems,
    closest,
    connection_problems,
    connection_secrets,
    kind,
    nonempty_text,
    plain,
    unknown_variables,
)

PREFIX = "ief_tenant_"
ROLE = "entra.b2c.ief_tenant"
POLICIES_DIR = "ief_tenant_policies_dir"
PATTERN = "ief_tenant_policies_pattern"
RECURSIVE = "ief_tenant_policies_recursive"
CONNECTION = "ief_tenant_connection"
SETTINGS = "ief_tenant_settings"
APPSETTINGS = "ief_tenant_appsettings"
ENVIRONMENT = "ief_tenant_environment"
STATE = "ief_tenant_state"
APPS = "ief_tenant_apps"
PRUNE = "ief_tenant_prune"
PRUNE_PATTERN = "ief_tenant_prune_pattern"
BACKUP_DIR = "ief_tenant_backup_dir"
BOOLEANS = (RECURSIVE, "ief_tenant_template", "ief_tenant_keys", APPS, "ief_tenant_reupload_dependents",
            "ief_tenant_rollback", PRUNE, "ief_tenant_backup")
# The role's variables (meta/argument_specs.yml), in the order its documentation lists them, and the fact it sets.
ROLE_VARIABLES = (POLICIES_DIR, PATTERN, RECURSIVE, "ief_tenant_template", "ief_tenant_keys", APPS, SETTINGS,
                  APPSETTINGS, ENVIRONMENT, STATE, "ief_tenant_reupload_dependents", "ief_tenant_rollback",
                  "ief_tenant_id_prefix", PRUNE, PRUNE_PATTERN, "ief_tenant_backup", BACKUP_DIR, CONNECTION)
KNOWN_NAMES = ROLE_VARIABLES + ("ief_tenant_result",)
# Optional variables without a default: unset is fine.
OPTIONAL = (APPSETTINGS, ENVIRONMENT, "ief_tenant_id_prefix", PRUNE, PRUNE_PATTERN, "ief_tenant_backup", BACKUP_DIR)
APP_ID_SETTINGS = ("IdentityExperienceFrameworkAppId", "ProxyIdentityExperienceFrameworkAppId")
STATES = ("present", "absent")


display = Display()
SPECS = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "ief_tenant", "meta", "argument_specs.yml")


def documented_variables() -> tuple:
    """The role's variables: those its argument_specs.yml documents (so that a variable added there is known at once),
    else the list above."""
    try:
        with open(SPECS, encoding="utf-8") as stream:
            options = yaml.safe_load(stream)["argument_specs"]["main"]["options"]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return ROLE_VARIABLES
    return ROLE_VARIABLES + tuple(name for name in options if name not in ROLE_VARIABLES)


class _Check(Problems):
    """Collects the problems of the role's variables and resolves its paths."""

    def __init__(self, variables: Mapping, base: str, base_words: str):
        super().__init__(connection_secrets(variables.get(CONNECTION)))
        self.variables = variables
        self.base = base
        self.base_words = base_words

    def resolve(self, name: str, value: str) -> str:
        path = os.path.expanduser(value)
        return os.path.normpath(path if os.path.isabs(path) else os.path.join(self.base, path))

    def where(self, name: str, value: str, path: str) -> str:
        """How a message names a path the user gave: relative ones with where they were looked for."""
        if os.path.isabs(os.path.expanduser(value)):
            return f"{name}: {value}"
        return f"{name}: {value} (relative, so looked for in {self.base}, {self.base_words})"

    def booleans(self) -> None:
        for name in BOOLEANS:
            value = self.variables.get(name)
            if value is None and name in OPTIONAL:
                continue
            try:
                boolean(value, strict=True)
            except TypeError:
                self.add(f"{name}: must be true or false, got {value!r}" if isinstance(value, (str, int, float))
                         else f"{name}: must be true or false, got {kind(value)}")

    def recursive(self) -> bool:
        try:
            return boolean(self.variables.get(RECURSIVE, True), strict=True)
        except TypeError:
            return True  # reported with the booleans

    def policies(self) -> tuple:
        """(directory, files, left_out) of the policy set, files found as b2c_policies finds them (_policies/files.py),
        or (None, [], []) with the problem recorded."""
        value, pattern = self.variables.get(POLICIES_DIR), self.variables.get(PATTERN)
        if nonempty_text(pattern) is None:
            self.add(f"{PATTERN}: give a file name pattern such as *.xml, got {kind(pattern)}")
            pattern = None
        elif "/" in pattern or os.sep in pattern:
            self.add(f"{PATTERN}: {pattern} has a folder; give a file name pattern such as *.xml, matched against the "
                     f"name of each file (in the sub-folders too, unless {RECURSIVE} is false)")
            pattern = None
        if nonempty_text(value) is None:
            self.add(f"{POLICIES_DIR}: give the directory that holds the policy files (absolute, or relative to "
                     f"{self.base_words}), got {kind(value) if value is not None else 'nothing'}")
            return None, [], []
        directory = self.resolve(POLICIES_DIR, value)
        if not os.path.isdir(directory):
            self.add(f"{self.where(POLICIES_DIR, value, directory)}: there is no such directory; give the directory "
                     f"that holds the policy files, absolute or relative to {self.base_words}")
            return directory, [], []
        if pattern is None:
            return directory, [], []
        recursive = self.recursive()
        backups = self.variables.get(BACKUP_DIR)
        try:  # the backups are .xml files with the set's ids: never part of it, also when kept under the directory
            found = find_policy_files(directory, pattern, recursive,
                                      [self.resolve(BACKUP_DIR, backups)] if nonempty_text(backups) else ())
        except OSError as exc:
            self.add(f"{self.where(POLICIES_DIR, value, directory)}: cannot list {exc.filename or directory} "
                     f"({exc.strerror or exc}); every folder under it is searched for policy files")
            return directory, [], []
        if not found.files:
            searched = " (its sub-folders searched too)" if recursive else ""
            left_out = (f"; {left_out_message(directory, found.left_out, pattern, recursive, PATTERN, RECURSIVE)}"
                        if found.left_out else "")
            self.add(f"{self.where(POLICIES_DIR, value, directory)}: no file of {directory} matches {pattern}{searched}"
                     f"{left_out}; give the directory that holds the policy files, or set {PATTERN}")
        return directory, found.files, found.left_out

    def settings(self, apps: bool) -> None:
        value = self.variables.get(SETTINGS)
        if value is None:
            return
        if not isinstance(value, Mapping):
            self.add(f"{SETTINGS}: expected a dictionary of setting names and values, got {kind(value)}")
            return
        for name, setting in value.items():
            if not isinstance(setting, (str, int, float)) or isinstance(setting, bool):
                self.add(f"{SETTINGS}.{name}: expected text, got {kind(setting)}; each setting fills {{Settings:{name}}}"
                         f" with text")
            elif isinstance(setting, str) and not setting.strip():
                self.add(f"{SETTINGS}.{name}: is empty; give its value, or leave it out")
        taken = [name for name in value if str(name) in APP_ID_SETTINGS]
        if apps and taken:
            self.add(f"{SETTINGS}: {' and '.join(taken)} {'is' if len(taken) == 1 else 'are'} filled by the role with "
                     f"the id of the IEF app it ensures ({APPS} is true); remove {'it' if len(taken) == 1 else 'them'},"
                     f" or set {APPS}: false to give your own")

    def appsettings(self) -> str | None:
        value, environment = self.variables.get(APPSETTINGS), self.variables.get(ENVIRONMENT)
        if value is None and environment is None:
            return None
        if value is None:
            self.add(f"{ENVIRONMENT}: only used with {APPSETTINGS}; give the path of the appsettings.json whose "
                     f"Environments it names, or remove it")
            return None
        if nonempty_text(value) is None:
            self.add(f"{APPSETTINGS}: give the path of a VS Code B2C extension appsettings.json, got {kind(value)}")
            return None
        path = self.resolve(APPSETTINGS, value)
        if nonempty_text(environment) is None:
            self.add(f"{ENVIRONMENT}: give the Name of one of the Environments of {value} (required with "
                     f"{APPSETTINGS})")
            environment = None
        try:
            with open(path, encoding="utf-8-sig") as stream:
                document = json.load(stream)
        except OSError as exc:
            self.add(f"{self.where(APPSETTINGS, value, path)}: cannot be read ({exc.strerror or exc})")
            return path
        except ValueError as exc:
            self.add(f"{APPSETTINGS}: {path} is not JSON ({exc})")
            return path
        entries = document.get("Environments") if isinstance(document, Mapping) else None
        if not isinstance(entries, list):
            self.add(f"{APPSETTINGS}: {path} has no Environments list, as the VS Code B2C extension writes it")
            return path
        names = [str(entry.get("Name")) for entry in entries if isinstance(entry, Mapping) and entry.get("Name")]
        if environment is not None and environment not in names:
            guess = closest(environment, names)
            hint = f" (did you mean {guess}?)" if guess else ""
            self.add(f"{ENVIRONMENT}: {environment} is not an environment of {path}{hint}; its environments: "
                     f"{', '.join(names) or 'none'}")
        return path

    def state_and_prune(self) -> None:
        state = self.variables.get(STATE, "present")
        if state not in STATES:
            shown = repr(state) if isinstance(state, (str, int, float)) else kind(state)
            self.add(f"{STATE}: {shown} is not a state; use present (the default) or absent")
        prune = self.variables.get(PRUNE)
        try:
            prune = boolean(prune, strict=True) if prune is not None else False
        except TypeError:
            prune = False  # reported with the booleans
        pattern = self.variables.get(PRUNE_PATTERN)
        if prune and nonempty_text(pattern) is None:
            self.add(f"{PRUNE_PATTERN}: required with {PRUNE}; give the ids the set owns, such as B2C_1A_*, so "
                     f"that policies outside it are never deleted")
        elif pattern is not None and nonempty_text(pattern) is None:
            self.add(f"{PRUNE_PATTERN}: expected a pattern of policy ids as text, got {kind(pattern)}")

    def backup_dir(self) -> str | None:
        value = self.variables.get(BACKUP_DIR)
        if value is None:
            return None
        if nonempty_text(value) is None:
            self.add(f"{BACKUP_DIR}: give a directory for the backups, got {kind(value)}")
            return None
        return self.resolve(BACKUP_DIR, value)


def ief_tenant_check(variables, names=None, playbook_dir=None, relative_to="playbook") -> dict:
    """The problems of the role's variables, its policy files and its resolved paths."""
    result = {"problems": [], "files": [], "left_out": [], "templated": [], "policies_dir": None, "appsettings": None,
              "backup_dir": None}
    if not isinstance(variables, Mapping):
        result["problems"].append(f"the role's variables: expected a dictionary, got {kind(variables)}")
        return result
    variables = plain(variables)
    if relative_to == "cwd":
        base, words = os.getcwd(), "the directory ansible-playbook runs in (for AWX, the project's root)"
    else:
        base, words = str(playbook_dir or os.getcwd()), "the playbook's directory"
    check = _Check(variables, base, words)
    variables_known = documented_variables()
    for problem in unknown_variables(names, PREFIX, variables_known, variables_known + KNOWN_NAMES, ROLE, CONNECTION):
        check.add(problem)
    check.booleans()
    try:
        apps = boolean(variables.get(APPS, True), strict=True)
    except TypeError:
        apps = False
    directory, files, left_out = check.policies()
    check.settings(apps)
    appsettings = check.appsettings()
    check.state_and_prune()
    backup_dir = check.backup_dir()
    for problem in connection_problems(variables.get(CONNECTION), CONNECTION):
        check.add(problem)
    files = files if not check.problems else []
    if files and left_out:
        # Once a run (the role sets its fact once): a policy that silently stays behind deploys an incomplete set.
        message = left_out_message(directory, left_out, variables[PATTERN], check.recursive(), PATTERN, RECURSIVE)
        display.warning(f"{ROLE}: {message}")
    try:
        template = boolean(variables.get("ief_tenant_template", True), strict=True)
    except TypeError:
        template = False
    result.update(problems=check.problems, files=files, left_out=left_out,
                  templated=[path for path in files if template and holds_jinja(path)],
                  policies_dir=directory, appsettings=appsettings, backup_dir=backup_dir)
    return result


JINJA_MARKERS = (b"{{", b"{%", b"{#")


def holds_jinja(path: str) -> bool:
    """Whether a policy file needs the template lookup: one without Jinja's markers renders to itself (Microsoft's
    packs hold none), and rendering it only costs the run a task."""
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except OSError:
        return True  # the lookup then reports the error, naming the file
    return any(marker in content for marker in JINJA_MARKERS)


class FilterModule:
    """The entra.b2c filters."""

    def filters(self):
        return {"ief_tenant_check": ief_tenant_check}
