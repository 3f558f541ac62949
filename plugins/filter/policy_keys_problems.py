# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: policy_keys_problems
short_description: What is wrong with the variables of the role entra.b2c.policy_keys
version_added: 0.1.0
description:
  - Checks the variables of the role P(entra.b2c.policy_keys#role) with the rules of the modules the role runs
    (the same code), so that the role can refuse them before its first request. The role's first task uses it.
  - Each entry of C(policy_keys_keysets) - its key set name, its type and the options that type takes (and no others),
    use and key type, lifetime and renewal margin (including the rule that the margin must be shorter than the lifetime),
    a secret's value, exactly one certificate source and, when C(cryptography) is installed, inline certificate and
    PKCS#12 content. A key set listed twice.
  - C(policy_keys_valid_for), C(policy_keys_renew_before), C(policy_keys_connection) (option names and types, as the
    modules' shared options take them) and C(policy_keys_no_log).
  - Variables named C(policy_keys_*) that the role does not know, with the closest known name.
  - Messages never hold a secret, a password or certificate content.
author:
  - entra.b2c maintainers (@entra-b2c)
positional: _input, names, keep
options:
  _input:
    description:
      - The role's variables by name - C(policy_keys_keysets), C(policy_keys_valid_for), C(policy_keys_renew_before),
        C(policy_keys_connection) and C(policy_keys_no_log).
    type: dict
    required: true
  names:
    description:
      - The names of all variables that start with C(policy_keys_), as
        V(query('ansible.builtin.varnames', '^policy_keys_'\)) gives them; unknown names are reported.
    type: list
    elements: str
    default: []
  keep:
    description:
      - Accept a C(secret) entry without C(secret) and a C(certificate) entry without a source, as the role
        P(entra.b2c.ief_tenant#role) takes them - entries that keep the value the tenant holds and never upload one
        (what M(entra.b2c.b2c_tenant_export) writes for the key sets it cannot read the secret of).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Refuse the role's variables before any request when they hold a problem
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('\n') }}"
    quiet: true
  vars:
    problems: >-
      {{ {'policy_keys_keysets': policy_keys_keysets, 'policy_keys_valid_for': policy_keys_valid_for,
          'policy_keys_renew_before': policy_keys_renew_before, 'policy_keys_connection': policy_keys_connection,
          'policy_keys_no_log': policy_keys_no_log}
         | entra.b2c.policy_keys_problems(query('ansible.builtin.varnames', '^policy_keys_')) }}
"""

RETURN = r"""
_value:
  description: One message per problem, each naming the variable (and the entry) and what to change; empty when none.
  type: list
  elements: str
"""

import importlib.util
import time
from collections.abc import Mapping

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.entra.b2c.plugins.module_utils._keysets.certs import (
    check_validity,
    decode_base64,
    load_certificate,
    load_pkcs12,
)
from ansible_collections.entra.b2c.plugins.module_utils._keysets.keys import (
    KeyInputError,
    build_request,
    keyset_id,
    normalize_kty,
    normalize_use,
    parse_duration,
)
from ansible_collections.entra.b2c.plugins.plugin_utils._role_checks import (
    Problems,
    connection_problems,
    connection_secrets,
    kind,
    listing,
    plain,
    text_of,
    unknown_variables,
    with_guess,
)

KEYSETS = "policy_keys_keysets"
VALID_FOR = "policy_keys_valid_for"
RENEW_BEFORE = "policy_keys_renew_before"
CONNECTION = "policy_keys_connection"
NO_LOG = "policy_keys_no_log"
PREFIX = "policy_keys_"
# The role's variables (meta/argument_specs.yml) and the fact it sets.
ROLE_VARIABLES = (KEYSETS, VALID_FOR, RENEW_BEFORE, CONNECTION, NO_LOG)
KNOWN_NAMES = ROLE_VARIABLES + ("policy_keys_result",)

TYPES = ("generated", "secret", "certificate")
LIFETIME = ("valid_for", "renew_before")
CERTIFICATE_SOURCES = ("certificate", "certificate_path", "pkcs12", "pkcs12_path")
# The options of an entry, by type (meta/argument_specs.yml documents them).
ENTRY_OPTIONS = {
    "generated": ("keyset", "type", "use", "kty") + LIFETIME,
    "secret": ("keyset", "type", "use", "secret", "update_secret") + LIFETIME,
    "certificate": ("keyset", "type") + CERTIFICATE_SOURCES + ("pkcs12_password",),
}
UPDATE_SECRET = ("on_create", "always")
ENTRY_SECRETS = ("secret", "pkcs12", "pkcs12_password")


def _unset(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class _Check(Problems):
    """Collects the problems of the role's variables, with the rules of the modules the role runs."""

    def __init__(self, now: int, secrets, keep: bool = False):
        super().__init__(secrets)
        self.now = now
        self.keep = keep  # a secret or certificate entry without a value keeps what the tenant holds

    def variables(self, names) -> None:
        for problem in unknown_variables(names, PREFIX, ROLE_VARIABLES, KNOWN_NAMES, "entra.b2c.policy_keys",
                                         CONNECTION):
            self.add_at(None, problem)

    def duration(self, where: str, value, option: str) -> bool:
        """Whether a role-wide lifetime or margin is usable; it must be set: the role gives every key a lifetime."""
        if _unset(value):
            self.add_at(where, f"is empty; give a duration such as {'365d' if option == 'valid_for' else '30d'}")
            return False
        try:
            if option == "valid_for":
                build_request("sig", "RSA", None, None, value, None, self.now)  # the grammar, and not zero
            else:
                parse_duration(value, option)
        except KeyInputError as exc:
            self.add_at(where, str(exc).split(": ", 1)[1])
            return False
        return True

    def entry(self, index: int, entry, defaults: Mapping, seen: dict) -> None:
        where = f"{KEYSETS}[{index}]"
        if not isinstance(entry, Mapping):
            self.add_at(where, f"expected a dictionary with keyset and its options, got {kind(entry)}")
            return
        name = entry.get("keyset")
        if isinstance(name, str) and name:
            where += f" ({name})"
        entry_type = entry.get("type", "generated")
        if entry_type not in TYPES:
            shown = repr(entry_type) if isinstance(entry_type, (str, int, float, type(None))) else kind(entry_type)
            self.add_at(where, f"type: {shown} is not a type of entry; use generated (the default), secret or certificate")
            return
        taken = ENTRY_OPTIONS[entry_type]
        stray = []
        for option in entry:
            if option not in taken:
                other = next((other for other in TYPES if option in ENTRY_OPTIONS[other]), None)
                stray.append(f"{option} (an option of {other} entries)" if other else with_guess(str(option), taken))
        if stray:
            verb = "is not an option" if len(stray) == 1 else "are not options"
            self.add_at(where, f"{listing(stray)} {verb} of a {entry_type} entry, which takes {', '.join(taken)}")
        if _unset(name):
            self.add_at(where, "keyset is missing; give the key set's name, such as TokenSigningKeyContainer")
        else:
            try:
                service_id = keyset_id(name)
            except KeyInputError as exc:
                self.add_at(where, str(exc))
            else:
                first = seen.setdefault(service_id.lower(), index)
                if first != index:
                    self.add_at(where, f"key set {service_id} is listed twice (also at {KEYSETS}[{first}]); list each "
                                       f"once")
        if entry_type == "certificate":
            self.certificate(where, entry)
        else:
            self.key(where, entry, entry_type, defaults)

    def key(self, where: str, entry: Mapping, entry_type: str, defaults: Mapping) -> None:
        """A generated key or a secret: use, kty, the lifetime and margin (the entry's own, else the role's)."""
        try:
            if _unset(entry.get("use")):
                raise KeyInputError("use: is missing; give sig or enc")
            use = normalize_use(entry.get("use"))
            kty = "oct" if entry_type == "secret" else normalize_kty(entry.get("kty", "RSA"))
        except KeyInputError as exc:
            self.add_at(where, str(exc))
            use = kty = None
        values = {}
        for option in LIFETIME:
            if option not in entry:
                values[option] = defaults[option]  # None when the role-wide value is wrong (reported once)
            elif _unset(entry[option]):
                self.add_at(where, f"{option}: is empty; give a duration, or leave {option} out to use "
                                   f"policy_keys_{option}")
                values[option] = None
            else:
                values[option] = entry[option]
        if use and None not in values.values():
            try:
                build_request(use, kty, None, None, values["valid_for"], values["renew_before"], self.now)
            except KeyInputError as exc:
                self.add_at(where, str(exc))
        if entry_type == "secret":
            secret = entry.get("secret")
            if secret is None and self.keep:
                pass  # the ief_tenant role keeps the secret the tenant holds
            elif secret is None:
                self.add_at(where, "secret: is missing; give the value to upload (from Ansible Vault)")
            elif text_of(secret) is None:
                # A YAML number is not the secret as written (0123 is 83): the module would upload something else.
                self.add_at(where, f"secret: expected text, got {kind(secret)}; quote the value in YAML")
            elif not text_of(secret).strip():
                self.add_at(where, "secret: is empty; give the value to upload (an undefined vault variable often renders "
                                   "empty)")
            update = entry.get("update_secret", "on_create")
            if update not in UPDATE_SECRET:
                self.add_at(where, f"update_secret: {update!r} is not supported; use on_create or always")

    def certificate(self, where: str, entry: Mapping) -> None:
        """Exactly one source; the password only with a bundle; inline content parsed and current."""
        given = [source for source in CERTIFICATE_SOURCES if entry.get(source) is not None]
        if not given and self.keep:
            return  # the ief_tenant role keeps the certificate the tenant holds
        if not given:
            self.add_at(where, f"give exactly one of {', '.join(CERTIFICATE_SOURCES)}")
            return
        if len(given) > 1:
            self.add_at(where, f"{' and '.join(given)} are mutually exclusive; give exactly one of "
                               f"{', '.join(CERTIFICATE_SOURCES)}")
            return
        source = given[0]
        password = entry.get("pkcs12_password")
        if password is not None and not source.startswith("pkcs12"):
            self.add_at(where, "pkcs12_password only opens pkcs12 or pkcs12_path; remove it")
        value = text_of(entry[source])
        if value is None or not value.strip():
            self.add_at(where, f"{source}: expected {'a path' if source.endswith('_path') else 'the content'} as text, "
                               f"got {'nothing' if value is not None else kind(entry[source])}")
            return
        if source.endswith("_path") or importlib.util.find_spec("cryptography") is None:
            return  # files are read where the module runs; without cryptography here the module checks the content
        try:
            if source == "certificate":
                certificate = load_certificate(value, source)
            else:
                certificate = load_pkcs12(decode_base64(value, source), text_of(password), source)
            check_validity(certificate, self.now, source)
        except KeyInputError as exc:
            self.add_at(where, str(exc))

    def connection(self, value) -> None:
        for problem in connection_problems(value, CONNECTION):
            self.add_at(None, problem)


def _secrets(variables: Mapping) -> list:
    """The values of the options that hold secrets, in the entries and the connection."""
    entries = [entry for entry in variables.get(KEYSETS) or [] if isinstance(entry, Mapping)]
    found = [text_of(entry.get(option)) for entry in entries for option in ENTRY_SECRETS]
    return [value for value in found if value] + connection_secrets(variables.get(CONNECTION))


def policy_keys_problems(variables, names=None, keep=False) -> list:
    """The problems of the role's variables, as messages; empty when the role may start. With `keep` (the ief_tenant
    role), a secret or certificate entry without a value is fine: it keeps what the tenant holds."""
    if not isinstance(variables, Mapping):
        return [f"the role's variables: expected a dictionary, got {kind(variables)}"]
    variables = plain(variables)
    check = _Check(int(time.time()), _secrets(variables), keep=bool(keep))
    check.variables(names)
    defaults = {}
    for option, variable in (("valid_for", VALID_FOR), ("renew_before", RENEW_BEFORE)):
        value = variables.get(variable)
        defaults[option] = value if check.duration(variable, value, option) else None
    if None not in defaults.values():
        try:
            build_request("sig", "RSA", None, None, defaults["valid_for"], defaults["renew_before"], check.now)
        except KeyInputError as exc:
            check.add_at(f"{VALID_FOR} and {RENEW_BEFORE}", str(exc))
            defaults = dict.fromkeys(defaults)  # reported once here, not again for every entry that inherits them
    keysets = variables.get(KEYSETS)
    if not isinstance(keysets, list):
        check.add_at(KEYSETS, f"expected a list of entries, got {kind(keysets)}")
    else:
        seen: dict = {}
        for index, entry in enumerate(keysets):
            check.entry(index, entry, defaults, seen)
    check.connection(variables.get(CONNECTION))
    try:
        boolean(variables.get(NO_LOG), strict=True)
    except TypeError:
        check.add_at(NO_LOG, "must be true or false")
    return check.problems


class FilterModule:
    """The entra.b2c filters."""

    def filters(self):
        return {"policy_keys_problems": policy_keys_problems}
