#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: b2c_ief_tenant
short_description: Plan, then apply, a whole Azure AD B2C tenant's policy keys, IEF apps and custom policies
version_added: 0.1.0
description:
  - The whole Identity Experience Framework setup of a tenant in one task, with one token - the policy keys
    (O(keysets)), the two IEF app registrations (O(apps)) and a set of custom policies (O(policies)) - as
    M(entra.b2c.b2c_keyset_key_batch), M(entra.b2c.b2c_keyset_secret), M(entra.b2c.b2c_keyset_certificate),
    M(entra.b2c.b2c_ief_apps) and M(entra.b2c.b2c_policies) would keep them, in that order. The role
    P(entra.b2c.ief_tenant#role) runs it.
  - First the plan, with reads only - every check each of those modules makes before a write, all of them before the
    first write of the run - a key set B2C would refuse, a tenant named in the settings that is not the credential's,
    a permission the token lacks for a write the plan holds, more than the 200 custom policies B2C allows, a reference
    no policy defines, a key set no policy can find. Where the IEF apps do not exist yet, the policies are checked
    with stand-ins for their ids (RV(policies.stand_in_app_ids)).
  - Then, unless check mode, the apply - only the writes of the plan, family after family; a family with nothing to
    write is not read again. The policies get the application ids of the apps as the apply left them; a given id the
    tenant's replaces is warned about. A key is added only after its key set is read again under its lock (two runs
    at once add one key).
  - When B2C refuses a policy half-way, the policies are put back as they were (O(rollback)). Keys added and apps
    registered by the run stay - a new key only where no valid one was, apps that nothing uses until the policies
    name them.
  - Each write prints a line as it completes when the task runs in the controller's worker (the default for
    a local connection).
author:
  - entra.b2c maintainers (@entra-b2c)
extends_documentation_fragment:
  - entra.b2c.graph
  - entra.b2c.attributes
  - entra.b2c.attributes.ACTION_GROUP
attributes:
  check_mode:
    support: full
    details:
      - Runs the plan and reports it (RV(writes), and the same fields a run reports), writing nothing.
  diff_mode:
    support: full
    details:
      - The key sets, the apps and one unified diff per policy that is (or would be) uploaded or deleted.
options:
  policies:
    description:
      - The policy set, as O(entra.b2c.b2c_policies#module:policies) takes it - each entry exactly one of
        O(policies[].path) and O(policies[].content).
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: A policy file on the host that runs the module.
        type: path
      content:
        description: The policy XML.
        type: str
      source:
        description: How messages and results name the entry, for example the file it was rendered from.
        type: str
  state:
    description:
      - V(present) ensures the keys, the apps and the policies.
      - V(absent) deletes the set's policies, what extends another first; keys and apps stay.
    type: str
    choices: [present, absent]
    default: present
  keysets:
    description:
      - The key sets to keep valid, as the P(entra.b2c.policy_keys#role) role's C(policy_keys_keysets) entries. Empty
        (the default) ensures no key.
    type: list
    elements: dict
    default: []
    suboptions:
      keyset:
        description: The key set, with or without C(B2C_1A_).
        type: str
        required: true
      type:
        description: A key B2C generates, an uploaded secret or an uploaded certificate.
        type: str
        choices: [generated, secret, certificate]
        default: generated
      use:
        description: V(sig) or V(enc) (generated keys and secrets).
        type: str
      kty:
        description: The key type of a generated key, V(RSA) by default.
        type: str
      valid_for:
        description: This entry's lifetime; O(valid_for) by default.
        type: str
      renew_before:
        description: This entry's renewal margin; O(renew_before) by default.
        type: str
      secret:
        description: The secret's value (a secret entry).
        type: str
      update_secret:
        description: V(on_create) or V(always), as M(entra.b2c.b2c_keyset_secret) takes it.
        type: str
        choices: [on_create, always]
      certificate:
        description: A PEM certificate (a certificate entry).
        type: str
      certificate_path:
        description: A PEM certificate file.
        type: path
      pkcs12:
        description: A base64 PKCS#12 bundle.
        type: str
      pkcs12_path:
        description: A PKCS#12 file.
        type: path
      pkcs12_password:
        description: The PKCS#12 bundle's password.
        type: str
  valid_for:
    description: Lifetime of a generated key or uploaded secret, unless an entry sets its own.
    type: str
    default: 365d
  renew_before:
    description: A key expiring within this margin gets a successor ahead of time, unless an entry sets its own.
    type: str
    default: 30d
  apps:
    description:
      - Ensure the two IEF app registrations as M(entra.b2c.b2c_ief_apps) does and fill their application ids into
        the policies (the settings V(IdentityExperienceFrameworkAppId) and V(ProxyIdentityExperienceFrameworkAppId)).
      - V(false) leaves apps alone; O(settings) then gives both ids.
    type: bool
    default: true
  settings:
    description:
      - Values for the policies' placeholders, as O(entra.b2c.b2c_policies#module:settings) takes them. V(Tenant)
        also names the tenant of the IEF apps' redirect URI.
    type: dict
  appsettings:
    description: A VS Code B2C extension C(appsettings.json), as O(entra.b2c.b2c_policies#module:appsettings).
    type: path
  environment:
    description: The C(Name) of an environment of O(appsettings).
    type: str
  reupload_dependents:
    description: As O(entra.b2c.b2c_policies#module:reupload_dependents).
    type: bool
    default: true
  rollback:
    description: As O(entra.b2c.b2c_policies#module:rollback).
    type: bool
    default: true
  prune:
    description: As O(entra.b2c.b2c_policies#module:prune).
    type: bool
    default: false
  prune_pattern:
    description: As O(entra.b2c.b2c_policies#module:prune_pattern).
    type: str
  id_prefix:
    description: As O(entra.b2c.b2c_policies#module:id_prefix) - the set as a new version beside the live one.
    type: str
  backup:
    description: As O(entra.b2c.b2c_policies#module:backup).
    type: bool
    default: false
  backup_dir:
    description: As O(entra.b2c.b2c_policies#module:backup_dir).
    type: path
  role_variables:
    description:
      - Name the P(entra.b2c.ief_tenant#role) role's variables in messages (C(ief_tenant_settings.Tenant),
        C(policy_keys_keysets[1])) rather than this module's options. The role sets it.
    type: bool
    default: false
notes:
  - Needs the Microsoft Graph application permissions of the writes it makes, with admin consent -
    C(TrustFrameworkKeySet.ReadWrite.All) for keys, C(Application.ReadWrite.All) and
    C(DelegatedPermissionGrant.ReadWrite.All) for the IEF apps, C(Policy.ReadWrite.TrustFramework) for policies. With
    an app-only token the plan checks the token's C(roles) before the first write and names a missing permission;
    with a delegated token it warns that it could not. A run with nothing to change needs only the read permissions.
  - The plan reads each key set, the apps and their grants, the tenant's policy list and the set's policies; a run
    with nothing to change makes those reads and nothing else.
seealso:
  - module: entra.b2c.b2c_policies
  - module: entra.b2c.b2c_ief_apps
  - module: entra.b2c.b2c_keyset_key_batch
"""

EXAMPLES = r"""
- name: The starter pack's keys, the IEF apps and the policies, in one task
  entra.b2c.b2c_ief_tenant:
    tenant_id: contoso.onmicrosoft.com
    keysets:
      - keyset: TokenSigningKeyContainer
        use: sig
      - keyset: TokenEncryptionKeyContainer
        use: enc
    policies: "{{ query('ansible.builtin.fileglob', 'policies/*.xml') | map('community.general.dict_kv', 'path') }}"
    settings:
      Tenant: contoso.onmicrosoft.com

- name: What would change, writing nothing
  entra.b2c.b2c_ief_tenant:
    tenant_id: contoso.onmicrosoft.com
    policies:
      - path: policies/TrustFrameworkBase.xml
      - path: policies/TrustFrameworkExtensions.xml
  check_mode: true
  register: plan
"""

RETURN = r"""
state:
  description: The O(state) of the run.
  returned: always
  type: str
writes:
  description: One line per write the run made (in check mode, would make), in order.
  returned: always
  type: list
  elements: str
  sample: ["B2C_1A_TokenSigningKeyContainer: key added (no_key)", "B2C_1A_TrustFrameworkBase: uploaded"]
keysets:
  description: One entry per O(keysets) entry.
  returned: always
  type: list
  elements: dict
  contains:
    keyset:
      description: The key set's id.
      type: str
    changed:
      description: Whether a key was (or would be) added.
      type: bool
    reason:
      description: Why, as M(entra.b2c.b2c_keyset_key) reports it.
      type: str
    kid:
      description: The key id of the key that satisfies the entry; V(null) when planned.
      type: str
    expires:
      description: When that key expires, ISO 8601.
      type: str
apps:
  description: The IEF apps; empty when O(apps=false) or O(state=absent).
  returned: always
  type: dict
  contains:
    changed:
      description: Whether anything of the apps was (or would be) created or changed.
      type: bool
    identity_experience_framework_app_id:
      description: IdentityExperienceFramework's application id; V(null) in check mode when new.
      type: str
    proxy_identity_experience_framework_app_id:
      description: ProxyIdentityExperienceFramework's application id; V(null) in check mode when new.
      type: str
policies:
  description: The policies, as M(entra.b2c.b2c_policies) reports them.
  returned: always
  type: dict
  contains:
    changed:
      description: Whether a policy was (or would be) uploaded or deleted.
      type: bool
    levels:
      description: The set's policy ids by inheritance level.
      type: list
      elements: list
    uploaded:
      description: The ids uploaded, in order.
      type: list
      elements: str
    deleted:
      description: The ids deleted (O(state=absent)).
      type: list
      elements: str
    pruned:
      description: The ids pruned.
      type: list
      elements: str
    extra:
      description: The tenant's policies outside the set.
      type: list
      elements: str
    results:
      description: Per policy, as M(entra.b2c.b2c_policies) returns it.
      type: list
      elements: dict
    backup_files:
      description: The backups of what the run replaced or deleted.
      type: list
      elements: str
    rolled_back:
      description: The policy ids put back or removed after B2C refused one.
      type: list
      elements: str
    stand_in_app_ids:
      description: In check mode, whether the policies were checked with stand-ins for the ids of apps that would be new.
      type: bool
"""

from ansible_collections.entra.b2c.plugins.module_utils._core.module import GraphModule
from ansible_collections.entra.b2c.plugins.module_utils._tenant.flow import TENANT_SPEC, ensure_tenant

MODULE_SPEC = dict(argument_spec=dict(**TENANT_SPEC), supports_check_mode=True)


# The flow the module runs, in a module process (main) or in the controller's worker (the action plugin).
FLOW = ensure_tenant


def main():
    GraphModule(**MODULE_SPEC).run(FLOW)


if __name__ == "__main__":
    main()
