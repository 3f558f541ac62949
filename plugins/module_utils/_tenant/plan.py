# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure part of a whole tenant run (b2c_ief_tenant): the key entries checked, the options each family's flow gets,
what the plan will write, and messages worded as the user wrote the run (the module's options, or the ief_tenant role's
variables). No I/O, no clock.

Internal use only: this module may change without notice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.entra.b2c.plugins.module_utils._core.errors import UserError
from ansible_collections.entra.b2c.plugins.module_utils._core.messages import itemized
from ansible_collections.entra.b2c.plugins.module_utils._core.identity import Permission
from ansible_collections.entra.b2c.plugins.module_utils._keysets.keys import KeyInputError, keyset_id

KEYSET_WRITE = Permission("TrustFrameworkKeySet.ReadWrite.All")
IEF_APP_SETTING = "IdentityExperienceFrameworkAppId"
PROXY_APP_SETTING = "ProxyIdentityExperienceFrameworkAppId"
# What the policies are checked with in a plan where the IEF apps do not exist yet (so neither do their ids).
STAND_INS = {IEF_APP_SETTING: "id-of-the-new-IdentityExperienceFramework-app",
             PROXY_APP_SETTING: "id-of-the-new-ProxyIdentityExperienceFramework-app"}

KEY_TYPES = ("generated", "secret", "certificate")
# The options an entry of `keysets` may set, by type (the policy_keys role's entries; each type's module takes them).
ENTRY_OPTIONS = {
    "generated": ("keyset", "type", "use", "kty", "valid_for", "renew_before"),
    "secret": ("keyset", "type", "use", "secret", "update_secret", "valid_for", "renew_before"),
    "certificate": ("keyset", "type", "certificate", "certificate_path", "pkcs12", "pkcs12_path", "pkcs12_password"),
}
CERTIFICATE_SOURCES = ("certificate", "certificate_path", "pkcs12", "pkcs12_path")
KEYSET_ENTRY_SPEC = dict(
    keyset=dict(type="str", required=True, no_log=False),
    type=dict(type="str", choices=list(KEY_TYPES), default="generated"),
    use=dict(type="str"),
    kty=dict(type="str"),
    valid_for=dict(type="str"),
    renew_before=dict(type="str"),
    secret=dict(type="str", no_log=True),
    update_secret=dict(type="str", choices=["on_create", "always"], no_log=False),
    certificate=dict(type="str", no_log=False),
    certificate_path=dict(type="path"),
    pkcs12=dict(type="str", no_log=True),
    pkcs12_path=dict(type="path"),
    pkcs12_password=dict(type="str", no_log=True),
)


@dataclass(frozen=True)
class KeyEntry:
    """One entry of `keysets`: where it is, its key set, its type and the options its type's flow gets. A secret or
    certificate entry without its value is of kind "kept": the set is read and must hold a valid key, never written
    (an exported repository holds no secret)."""

    index: int
    keyset: str
    kind: str
    options: dict = field(compare=False)

    @property
    def label(self) -> str:
        return f"keysets[{self.index}] ({self.keyset})"


def key_entries(entries: Sequence[Mapping[str, Any]], valid_for: str, renew_before: str) -> list[KeyEntry]:
    """Every entry checked (its type's options, and only those; each key set once) and turned into the options of the
    flow of its type; before any request. Problems of all entries are refused together."""
    found: list[KeyEntry] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        kind = entry.get("type") or "generated"
        where = f"keysets[{index}] ({entry.get('keyset')})"
        given = {name for name, value in entry.items() if value is not None}
        stray = sorted(given - set(ENTRY_OPTIONS[kind]))
        if stray:
            problems.append(f"{where}: {', '.join(stray)} not taken by a {kind} entry; it takes "
                            f"{', '.join(ENTRY_OPTIONS[kind][2:])}")
            continue
        try:
            service_id = keyset_id(entry["keyset"], f"keysets[{index}].keyset")
        except KeyInputError as exc:
            problems.append(str(exc))
            continue
        first = seen.setdefault(service_id.lower(), index)
        if first != index:
            problems.append(f"keysets[{index}]: key set {service_id} is listed twice (also at keysets[{first}]); list "
                            f"each once")
            continue
        if kind == "certificate" and not any(entry.get(name) is not None for name in CERTIFICATE_SOURCES):
            kind, options = "kept", {"use": None, "value_option": "a certificate (certificate_path, pkcs12_path, ...)"}
        elif kind == "secret" and entry.get("secret") is None:
            use = str(entry.get("use") or "").lower() or None
            kind, options = "kept", {"use": use, "value_option": "secret"}
        elif kind == "certificate":
            sources = [name for name in CERTIFICATE_SOURCES if entry.get(name) is not None]
            if len(sources) > 1:
                problems.append(f"{where}: give exactly one of {', '.join(CERTIFICATE_SOURCES)} (got "
                                f"{' and '.join(sources) or 'none'})")
                continue
            options = {name: entry.get(name) for name in ENTRY_OPTIONS[kind][2:]}
        else:
            if not entry.get("use"):
                problems.append(f"{where}: give use (sig or enc)")
                continue
            use = str(entry["use"]).lower()
            if use not in ("sig", "enc"):
                problems.append(f"{where}: use is {entry['use']}; give sig or enc")
                continue
            options = {"use": use, "nbf": None, "exp": None,
                       "valid_for": entry.get("valid_for") or valid_for,
                       "renew_before": entry.get("renew_before") or renew_before}
            if kind == "generated":
                options["kty"] = entry.get("kty") or "RSA"
            else:
                if not str(entry.get("secret")).strip():
                    problems.append(f"{where}: secret is empty; give the value to upload, or leave secret out to keep "
                                    f"the one the tenant holds")
                    continue
                options.update(kty="oct", secret=entry["secret"], update_secret=entry.get("update_secret") or "on_create")
        found.append(KeyEntry(index, service_id, kind, dict(options, keyset=service_id, create_keyset=True)))
    if problems:
        raise UserError(itemized(f"{len(problems)} problem(s) in keysets, nothing was sent", problems))
    return found


def app_settings(settings: Mapping[str, Any] | None, ief_app_id: str | None, proxy_app_id: str | None
                 ) -> tuple[dict, list[str]]:
    """The settings the policies are filled with: the given ones, with the IEF apps' ids of the tenant over any given
    for them; and one notice per given id the tenant's replaced (an id copied from another tenant, most often)."""
    filled = dict(settings or {})
    notices = []
    for name, tenant_value in ((IEF_APP_SETTING, ief_app_id), (PROXY_APP_SETTING, proxy_app_id)):
        if not tenant_value:
            continue
        given = next((value for key, value in filled.items() if key.lower() == name.lower()), None)
        filled = {key: value for key, value in filled.items() if key.lower() != name.lower()}
        filled[name] = tenant_value
        if given and str(given).strip().lower() != tenant_value.lower() and not str(given).startswith("id-of-the-new"):
            notices.append(f"settings.{name}: {given} replaced by the tenant's {tenant_value}, the application id of "
                           f"its app registration")
    return filled, notices


def planned_writes(keysets: Sequence[Mapping], apps: Mapping, policies: Mapping) -> list[str]:
    """One line per write the plan holds, in the order the apply makes them: keys, apps, policies."""
    lines = [f"{entry['keyset']}: key added ({entry['reason']})" for entry in keysets if entry.get("changed")]
    lines += [f"{app}: {change}" for app in ("identity_experience_framework", "proxy_identity_experience_framework")
              for change in (apps.get(app) or {}).get("changes", [])]
    lines += [f"admin consent: {change}" for change in apps.get("admin_consent_changes", [])]
    lines += [f"{policy_id}: uploaded" for policy_id in policies.get("uploaded", [])]
    lines += [f"{policy_id}: deleted" for policy_id in [*policies.get("deleted", []), *policies.get("pruned", [])]]
    return lines


# ---- messages in the user's words ---------------------------------------------------------------------------------
# The options of the family flows as this module's options name them (the flows' messages name their own).
_MODULE_WORDS = (
    (re.compile(r"\btenant_domain\b"), "settings.Tenant"),
    (re.compile(r"\bensured_keysets\b"), "keysets"),
)
_ROLE_OPTION_VARIABLES = {
    "settings": "ief_tenant_settings", "appsettings": "ief_tenant_appsettings", "environment": "ief_tenant_environment",
    "state": "ief_tenant_state", "apps": "ief_tenant_apps", "reupload_dependents": "ief_tenant_reupload_dependents",
    "rollback": "ief_tenant_rollback", "id_prefix": "ief_tenant_id_prefix", "prune": "ief_tenant_prune", "prune_pattern": "ief_tenant_prune_pattern",
    "backup": "ief_tenant_backup", "backup_dir": "ief_tenant_backup_dir", "keysets": "policy_keys_keysets",
    "valid_for": "policy_keys_valid_for", "renew_before": "policy_keys_renew_before",
}
CONNECTION_WORDS = ("tenant_id", "client_id", "client_secret", "client_certificate_path", "client_certificate_password",
                    "federated_token_file", "access_token", "cloud", "graph_endpoint", "authority_host",
                    "validate_certs", "allow_http", "ca_path", "timeout", "token_cache")
# An option as a message names it: at the start of a clause, before ".", ":" or "[" (settings.Tenant:, keysets[1]) or
# ending a sentence ("name it in keysets."); never inside a word or a file name (appsettings.json).
_ROLE_WORDS = tuple(
    (re.compile(r"(?<![\w./\\-])" + re.escape(option) + r"(?=[:\[]|\.(?!json\b)[A-Za-z{]|\.\s|\.$)"), variable)
    for option, variable in [*_ROLE_OPTION_VARIABLES.items(),
                             *((name, f"ief_tenant_connection.{name}") for name in CONNECTION_WORDS)])


def worded(message: str, role_variables: bool) -> str:
    """A message of a family's flow in the words of the run: this module's options, or with `role_variables` the
    ief_tenant role's variables (ief_tenant_settings.Tenant, policy_keys_keysets[1])."""
    for pattern, words in _MODULE_WORDS:
        message = pattern.sub(words, message)
    if role_variables:
        for pattern, words in _ROLE_WORDS:
            message = pattern.sub(words, message)
    return message
