#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: b2c_keyset_info
short_description: Report Azure AD B2C policy key sets, their active keys and what expires soon
version_added: 0.1.0
description:
  - Reads the Identity Experience Framework key sets (policy key containers) of a B2C tenant, or one of them, and
    reports each set's keys, the key B2C uses now and whether any key is valid.
  - With O(expiring_within), also lists the key sets that need attention, for a scheduled audit job to notify on.
  - The whole tenant is read with a single Microsoft Graph request (more only when the service pages its answer).
  - Only reads; C(TrustFrameworkKeySet.Read.All) is enough.
author:
  - entra.b2c maintainers (@entra-b2c)
extends_documentation_fragment:
  - entra.b2c.graph
  - entra.b2c.keys.PERMISSION
  - entra.b2c.attributes
  - entra.b2c.attributes.CHECK_MODE_READ_ONLY
  - entra.b2c.attributes.ACTION_GROUP
options:
  keyset:
    description:
      - Report only this key set, with or without the C(B2C_1A_) prefix. A set that does not exist gives an empty
        RV(keysets).
      - Without it, every key set of the tenant is reported, backup sets (C(<id>.bak)) included.
    type: str
    aliases: [name, keyset_id]
  expiring_within:
    description:
      - Also return RV(expiring), the key sets whose active key expires within this duration from now, or that have no
        valid key at all. Same forms as O(entra.b2c.b2c_keyset_key#module:valid_for), such as V(30d), V(12w) or
        a bare number of seconds; V(0) lists only the sets without a valid key.
      - A set listed here is one that M(entra.b2c.b2c_keyset_key) with O(entra.b2c.b2c_keyset_key#module:renew_before)
        set to the same duration would give a new key.
    type: str
seealso:
  - module: entra.b2c.b2c_keyset_key
  - module: entra.b2c.b2c_keyset
"""

EXAMPLES = r"""
- name: Report every key set of the tenant
  entra.b2c.b2c_keyset_info:
    tenant_id: contoso.onmicrosoft.com
    client_id: "{{ b2c_client_id }}"
    client_secret: "{{ b2c_client_secret }}"
  register: b2c

- name: Show which key B2C signs tokens with
  ansible.builtin.debug:
    msg: "{{ (b2c.keysets | selectattr('id', 'equalto', 'B2C_1A_TokenSigningKeyContainer') | first).active_key }}"

- name: Weekly audit (an AWX schedule), credentials set once for the play
  module_defaults:
    group/entra.b2c.graph:
      tenant_id: contoso.onmicrosoft.com
      client_id: "{{ b2c_client_id }}"
      client_certificate_path: /etc/ansible/b2c-audit.pem
  block:
    - name: Find key sets whose active key expires within 30 days, or that have no valid key
      entra.b2c.b2c_keyset_info:
        expiring_within: 30d
      register: audit

    - name: Fail the job (and notify) when any key set needs attention
      ansible.builtin.fail:
        msg: "Key sets needing attention: {{ audit.expiring | map(attribute='id') | join(', ') }}"
      when: audit.expiring | length > 0

# Ad hoc, with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET in the environment:
#   ansible localhost -m entra.b2c.b2c_keyset_info -a "keyset=TokenSigningKeyContainer expiring_within=30d"
"""

RETURN = r"""
error:
  description:
    - What Microsoft Graph answered when the task failed on a Graph error, for playbooks to test with C(failed_when),
      C(until) or C(when) (C(msg) says the same in words, with what to do).
    - Absent when Graph did not answer (unreachable host, timeout, TLS failure), when signing in to Entra ID failed
      (its C(AADSTS) codes are in C(msg)) and when the task failed before any request (input refused, credentials
      missing); inside it, a key Graph did not give is null. It never holds credentials, tokens or key material.
  returned: when the task failed on an error Graph answered
  type: dict
  contains:
    status:
      description: The HTTP status Graph answered, such as V(400), V(403), V(404) or V(429).
      type: int
      returned: always
    code:
      description: Graph's error code (C(error.code) of its answer), such as C(AADB2C90073) or C(Authorization_RequestDenied).
      type: str
      returned: always
    message:
      description: Graph's own message (C(error.message) of its answer), without the collection's words around it.
      type: str
      returned: always
    request_id:
      description: The request id of Graph's answer (its C(request-id) header, else C(innerError)), which Microsoft support asks for.
      type: str
      returned: always
    date:
      description:
        - When Graph answered, as it gave it; C(innerError.date) (ISO 8601, UTC, such as C(2026-12-07T10:59:12)), else
          the HTTP C(Date) header.
      type: str
      returned: always
  sample:
    status: 403
    code: Authorization_RequestDenied
    message: Insufficient privileges to complete the operation.
    request_id: 2f8e5d4c-1b3a-4c6d-9e7f-0a1b2c3d4e5f
    date: "2026-12-07T10:59:12"
keysets:
  description:
    - The key sets read, in the service's order; empty when O(keyset) names a set that does not exist.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The key set id as the service names it.
      type: str
      sample: B2C_1A_TokenSigningKeyContainer
    keyset_keys:
      description:
        - Public facts of every key in the set, each with C(kid), C(use), C(kty), C(nbf), C(exp), C(status), C(e),
          C(n), C(x5t), C(x5c) where present, C(not_before)/C(expires) as ISO 8601 UTC strings (V(null) when absent)
          and C(expires_in_days).
        - C(expires_in_days) is the time to C(exp) in days, floored to two decimals; negative once the key has
          expired, V(null) for a key without C(exp). Private key parts are never returned.
      type: list
      elements: dict
      sample:
        - kid: Gaid7K8sO8RavMX9fzHir_Wg0femGhbY9b-B4rVIxbE
          use: sig
          kty: RSA
          nbf: 1767225600
          exp: 1798761600
          status: enabled
          e: AQAB
          n: 0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiF
          not_before: "2026-01-01T00:00:00Z"
          expires: "2027-01-01T00:00:00Z"
          expires_in_days: 211.5
    active_key:
      description:
        - The key B2C uses now, same shape as an element of RV(keysets[].keyset_keys); V(null) when no key is valid.
        - Among the keys valid now (not disabled, C(nbf) absent or past, C(exp) absent or future), the one with the
          latest C(nbf), then the latest C(exp).
      type: dict
    valid:
      description: V(true) when at least one key of the set is valid now.
      type: bool
      sample: true
expiring:
  description:
    - The key sets that need attention, in the order of RV(keysets). Backup sets (C(<id>.bak)) are never listed, since
      no policy uses them.
    - Not returned without O(expiring_within), so that a job that forgot the option fails instead of reporting
      nothing to do.
  returned: when O(expiring_within) is set
  type: list
  elements: dict
  contains:
    id:
      description: The key set id.
      type: str
      sample: B2C_1A_TokenSigningKeyContainer
    reason:
      description:
        - V(expiring) when the active key expires within O(expiring_within) (at or before now plus the duration).
        - V(no_valid_key) when no key of the set is valid now (no keys, all expired, disabled or not yet active);
          sign-ins through policies that use the set fail.
      type: str
      sample: expiring
    active_key:
      description: The active key as in RV(keysets[].active_key); V(null) with V(no_valid_key).
      type: dict
    expires_in_days:
      description: Days until the active key expires, as in RV(keysets[].keyset_keys); V(null) with V(no_valid_key).
      type: float
      sample: 12.25
"""

from ansible_collections.entra.b2c.plugins.module_utils._keysets.flow import KEYSET_SPEC, keyset_info
from ansible_collections.entra.b2c.plugins.module_utils._core.module import GraphModule, optional


MODULE_SPEC = dict(
    argument_spec=dict(
        **optional(KEYSET_SPEC),
        expiring_within=dict(type="str"),
    ),
    supports_check_mode=True,
)


# The flow the module runs, in a module process (main) or in the controller's worker (the action plugin).
FLOW = keyset_info


def main():
    GraphModule(**MODULE_SPEC).run(FLOW)


if __name__ == "__main__":
    main()
