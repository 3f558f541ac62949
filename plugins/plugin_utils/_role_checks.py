# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the checks of the roles' variables share (the filters policy_keys_problems and ief_tenant_check): names a
misspelt variable or option most likely means, the connection options as the modules take them, the words messages
use for values, and one collector of problems that masks secrets. Controller side only; no I/O.

Internal use only: this module may change without notice.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.entra.b2c.plugins.module_utils._core.options import GRAPH_ARGUMENT_SPEC


# The connection options whose values a message must never show.
CONNECTION_SECRETS = tuple(name for name, spec in GRAPH_ARGUMENT_SPEC.items() if spec.get("no_log"))
MASK = "********"


class Problems:
    """The problems of one set of role variables, in the order found, each once, with every secret masked as
    AnsibleModule masks no_log values: a secret put in the wrong variable would otherwise be quoted. Very short values
    are left alone, or every message would be garbled."""

    def __init__(self, secrets):
        self.problems: list = []
        self.secrets = sorted({secret for secret in secrets if isinstance(secret, str) and len(secret) >= 3},
                              key=len, reverse=True)

    def add(self, message: str) -> None:
        for secret in self.secrets:
            message = message.replace(secret, MASK)
        if message not in self.problems:
            self.problems.append(message)

    def add_at(self, where: str | None, message: str) -> None:
        """A problem of one place (a variable, an entry): "where: message"."""
        self.add(f"{where}: {message}" if where else message)


def text_of(value) -> str | None:
    """A text value (a vaulted one decrypted, never shown), or None when the value is not text."""
    if value is None or isinstance(value, (bool, int, float, Mapping, list)):
        return None
    try:
        return str(value)
    except Exception:  # pylint: disable=broad-exception-caught  # a vaulted value that does not decrypt
        return None


def nonempty_text(value) -> str | None:
    """A text value that is not blank, else None."""
    text = text_of(value)
    return text if text is not None and text.strip() else None


def connection_secrets(connection) -> list:
    """The values of a connection dictionary's secret options."""
    if not isinstance(connection, Mapping):
        return []
    return [text for text in (text_of(connection.get(name)) for name in CONNECTION_SECRETS) if text]


def closest(name: str, known) -> str | None:
    """The known name a misspelt one most likely means, if any is close."""
    match = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return match[0] if match else None


def with_guess(name: str, known) -> str:
    guess = closest(name, known)
    return f"{name} (did you mean {guess}?)" if guess else name


def listing(items: list) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def plain(value):
    """Plain Python values of what templating gives (ansible-core 2.19+ tags them), so that messages name types
    plainly; anything else (a vaulted value) is kept as it is."""
    if isinstance(value, bool):
        return bool(value)
    for kind_ in (str, int, float):
        if isinstance(value, kind_):
            return kind_(value)
    if isinstance(value, Mapping):
        return {plain(key): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def kind(value) -> str:
    """The type of a value in words."""
    for kind_, words in ((bool, "a boolean"), ((int, float), "a number"), (str, "text"), (Mapping, "a dictionary"),
                         (list, "a list")):
        if isinstance(value, kind_):
            return words
    return "null" if value is None else type(value).__name__


def unknown_variables(names, prefix: str, variables, known, role: str, connection: str) -> list:
    """One message per name that starts with `prefix` but is no variable of `role` (`variables`, the ones a user sets;
    `known`, those and the facts the role sets), with the closest variable, or where a connection option belongs."""
    problems = []
    for name in sorted({str(name) for name in names or ()}):
        if name in known:
            continue
        # Compared without the prefix they all share, which would make every name look close.
        suffix = name[len(prefix):] if name.startswith(prefix) else name
        guess = closest(suffix, [variable[len(prefix):] for variable in variables])
        if guess:
            hint = f"; did you mean {prefix}{guess}?"
        elif suffix in GRAPH_ARGUMENT_SPEC:
            hint = f"; connection options go in {connection} ({{'{suffix}': ...}})"
        else:
            hint = ""
        problems.append(f"{name} is not a variable of the role {role}, which would ignore it{hint} (its variables: "
                        f"{', '.join(variables)})")
    return problems


def connection_problems(value, where: str) -> list:
    """The problems of a dictionary of connection options: unknown names (with the closest option) and types, as the
    modules check them, without their environment fallbacks and defaults (the modules' business when they run)."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [f"{where}: expected a dictionary of connection options, got {kind(value)}"]
    problems = []
    accepted = {alias: name for name, spec in GRAPH_ARGUMENT_SPEC.items()
                for alias in [name, *spec.get("aliases", ())]}
    stray = [with_guess(str(name), GRAPH_ARGUMENT_SPEC) for name in value if name not in accepted]
    if stray:
        verb = "is not a connection option" if len(stray) == 1 else "are not connection options"
        problems.append(f"{where}: {listing(stray)} {verb}; the options of group/entra.b2c.graph are "
                        f"{', '.join(GRAPH_ARGUMENT_SPEC)}")
    given = {name: option for name, option in value.items() if name in accepted}
    spec = {name: {key: setting for key, setting in GRAPH_ARGUMENT_SPEC[accepted[name]].items()
                   if key not in ("fallback", "default", "aliases")} for name in given}
    problems.extend(f"{where}: {message}" for message in ArgumentSpecValidator(spec).validate(given).error_messages)
    return problems
