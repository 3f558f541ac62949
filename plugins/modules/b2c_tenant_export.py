#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: b2c_tenant_export
short_description: Write a live Azure AD B2C tenant's policies, key sets and IEF apps as a repository that deploys back unchanged
version_added: 0.1.0
description:
  - Brings a tenant that already serves sign-ins under management - reads its custom policies (those matching
    O(pattern)), its key sets and its two IEF app registrations, and writes into O(dest) a repository that the role
    P(entra.b2c.ief_tenant#role) and Microsoft's VS Code B2C extension both read.
  - C(policies/<id without B2C_1A_>.xml) - one file per policy, the tenant's text with its values put back as the
    placeholders the role fills - the tenant's domain as C({Settings:Tenant}), its short name in C(b2clogin.com) host
    names as C({Settings:TenantName}), the IEF apps' ids as C({Settings:IdentityExperienceFrameworkAppId}) and
    C({Settings:ProxyIdentityExperienceFrameworkAppId}), and each value of O(settings) as C({Settings:<name>}).
  - C(appsettings.json) - the VS Code extension's file, its environment O(environment) holding C(Tenant) and those
    values in C(PolicySettings); other environments already in the file are kept.
  - C(ief_tenant.yml) - the role's variables, paths relative to O(dest) - C(cd dest && ansible-playbook
    entra.b2c.ief_tenant -e @ief_tenant.yml) deploys the repository. C(policy_keys_keysets) describes every key set -
    generated keys by use and key type, and secret and certificate sets as entries without a value, which keep what
    the tenant holds and never upload one.
  - C(README.md) - the inventory - the policies and their inheritance as a Mermaid diagram, each relying party's user
    journey, the key sets with use, type and expiry, and the REST endpoints and identity providers the technical
    profiles call.
  - The round trip is the contract - the role run from the repository against the tenant it came from writes nothing.
    Each policy file is proven by filling it again with the role's own code; a value that would also stand for text it
    must not (inside a longer word, or one value under two names) is refused, naming the value and where it occurs,
    before any file is written.
  - Never writes a secret or key material - the key sets are described by their public facts only.
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
      - Reads the tenant and reports which files would change, writing none.
  diff_mode:
    support: full
    details:
      - One diff per file whose content changes.
options:
  dest:
    description: The repository's directory on the host that runs the module, created when missing.
    type: path
    required: true
  environment:
    description: The C(Name) of the C(appsettings.json) environment the export writes (the extension's environments).
    type: str
    default: Production
  pattern:
    description: Which custom policies to export, by id, shell style, ignoring case.
    type: str
    default: B2C_1A_*
  settings:
    description:
      - More values to put back as placeholders - each key V(K) with value V(v) writes C({Settings:K}) wherever the
        policies hold V(v), and V(v) under C(PolicySettings.K) of the environment - the values that differ between
        your tenants, such as a REST API's host or an identity provider's client id.
      - A value of fewer than 3 characters, one that stands inside a longer word, or one that is also another name's
        value is refused.
    type: dict
    default: {}
notes:
  - Needs the Microsoft Graph application permissions C(Policy.Read.All), C(TrustFrameworkKeySet.Read.All) and
    C(Application.Read.All) (the write permissions grant them too).
  - Costs one token and its reads - the policy list, one read per exported policy, the key set list and the two IEF
    apps looked up by name.
  - A file of the policies directory that the export did not write (a policy gone from the tenant) is left as it is,
    with a warning.
seealso:
  - module: entra.b2c.b2c_ief_tenant
  - module: entra.b2c.b2c_policy_info
"""

EXAMPLES = r"""
- name: Bring the live tenant under management
  entra.b2c.b2c_tenant_export:
    tenant_id: contoso.onmicrosoft.com
    dest: "{{ playbook_dir }}/contoso-b2c"
    settings:
      RestApiHost: api.contoso.com

- name: What a new export would change in the repository, writing nothing
  entra.b2c.b2c_tenant_export:
    tenant_id: contoso.onmicrosoft.com
    dest: "{{ playbook_dir }}/contoso-b2c"
  check_mode: true
  diff: true
"""

RETURN = r"""
dest:
  description: The repository's directory.
  returned: always
  type: str
files:
  description: Every file the export writes, relative to O(dest), and whether its content changed (in check mode, would).
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file, relative to O(dest), with C(/) between folders.
      type: str
      sample: policies/TrustFrameworkBase.xml
    changed:
      description: Whether the file's content changed.
      type: bool
policies:
  description: The ids of the policies exported.
  returned: always
  type: list
  elements: str
  sample: [B2C_1A_TrustFrameworkBase, B2C_1A_signup_signin]
keysets:
  description: The tenant's key sets as C(ief_tenant.yml) describes them.
  returned: always
  type: list
  elements: dict
  contains:
    keyset:
      description: The key set's name without C(B2C_1A_).
      type: str
    kind:
      description: V(generated), V(secret) or V(certificate); V(null) for a set without a valid key (not described).
      type: str
    use:
      description: The use of its active key.
      type: str
    kty:
      description: The key type of its active key.
      type: str
settings:
  description: The values put back as placeholders, by setting name (C(Tenant), C(TenantName), the IEF app ids, O(settings)).
  returned: always
  type: dict
  sample: {"Tenant": "contoso.onmicrosoft.com", "TenantName": "contoso"}
"""

from ansible_collections.entra.b2c.plugins.module_utils._core.module import GraphModule
from ansible_collections.entra.b2c.plugins.module_utils._tenant.flow import EXPORT_SPEC, export_tenant

MODULE_SPEC = dict(argument_spec=dict(**EXPORT_SPEC), supports_check_mode=True)


# The flow the module runs, in a module process (main) or in the controller's worker (the action plugin).
FLOW = export_tenant


def main():
    GraphModule(**MODULE_SPEC).run(FLOW)


if __name__ == "__main__":
    main()
