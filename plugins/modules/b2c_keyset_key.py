#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: b2c_keyset_key
short_description: Ensure an Azure AD B2C policy key set holds a valid generated key
version_added: 0.1.0
description:
  - Makes sure the Identity Experience Framework key set (policy key container) O(keyset) holds a key of the requested
    O(use) and O(kty) that is valid now, and still valid O(renew_before) from now.
  - Reads the key set and calls Microsoft Graph's C(generateKey) only when no key qualifies, so repeated runs never
    add keys. B2C keys cannot be deleted, which makes this the safe way to keep signing and encryption keys in place.
  - A key qualifies when its use and type match, it is not disabled, it is active at S (S is now, or the requested
    O(nbf) when that lies in the future), and it does not expire before S plus O(renew_before).
  - Creates the key set first when it does not exist, unless O(create_keyset=false).
  - Refuses, before any write, a key whose type or use differs from the keys already in the set, which B2C rejects.
author:
  - entra.b2c maintainers (@entra-b2c)
extends_documentation_fragment:
  - entra.b2c.keys
  - entra.b2c.keys.CREATE
  - entra.b2c.keys.WINDOW
  - entra.b2c.graph
  - entra.b2c.keys.PERMISSION
  - entra.b2c.attributes
  - entra.b2c.attributes.ACTION_GROUP
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  use:
    description:
      - Use of the key, V(sig) for signing or V(enc) for encryption.
    type: str
    required: true
    choices: [sig, enc]
  kty:
    description:
      - Key type, V(RSA) or V(oct), case-insensitive.
    type: str
    default: RSA
seealso:
  - name: trustFrameworkKeySet generateKey (Microsoft Graph beta)
    description: The API this module calls to add a key.
    link: https://learn.microsoft.com/en-us/graph/api/trustframeworkkeyset-generatekey?view=graph-rest-beta
"""

EXAMPLES = r"""
- name: Ensure the IEF token signing key exists, valid for a year and renewed 30 days before it expires
  entra.b2c.b2c_keyset_key:
    keyset: TokenSigningKeyContainer
    use: sig
    valid_for: 365d
    renew_before: 30d
    tenant_id: contoso.onmicrosoft.com
    client_id: "{{ b2c_client_id }}"
    client_secret: "{{ b2c_client_secret }}"

- name: Set credentials once, then keep both starter-pack keys valid for 30 more days at least
  module_defaults:
    group/entra.b2c.graph:
      tenant_id: contoso.onmicrosoft.com
      client_id: "{{ b2c_client_id }}"
      client_certificate_path: /etc/ansible/b2c-automation.pem
  block:
    - name: Token signing key, one year, renewed 30 days ahead
      entra.b2c.b2c_keyset_key:
        keyset: TokenSigningKeyContainer
        use: sig
        valid_for: 365d
        renew_before: 30d

    - name: Token encryption key
      entra.b2c.b2c_keyset_key:
        keyset: TokenEncryptionKeyContainer
        use: enc
        valid_for: 365d
        renew_before: 30d

- name: Prepare a key that activates on a given date (idempotent)
  entra.b2c.b2c_keyset_key:
    keyset: B2C_1A_TokenSigningKeyContainer
    use: sig
    nbf: "2027-03-01"
    exp: "2028-03-01"
    create_keyset: false

# Ad hoc, with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET in the environment:
#   ansible localhost -m entra.b2c.b2c_keyset_key \
#     -a "keyset=TokenSigningKeyContainer use=sig valid_for=365d renew_before=30d" --check --diff
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
keyset:
  description: The key set id as the service names it.
  returned: always
  type: str
  sample: B2C_1A_TokenSigningKeyContainer
key:
  description:
    - Public facts of the key that satisfies the request after the run.
    - V(null) in check mode when the key would be new.
  returned: always
  type: dict
  sample:
    kid: Gaid7K8sO8RavMX9fzHir_Wg0femGhbY9b-B4rVIxbE
    use: sig
    kty: RSA
    nbf: 1767225600
    exp: 1798761600
    not_before: "2026-01-01T00:00:00Z"
    expires: "2027-01-01T00:00:00Z"
    e: AQAB
    n: 0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3
keyset_keys:
  description:
    - Public facts of every key in the set after the run, same shape as RV(key).
  returned: always
  type: list
  elements: dict
reason:
  description:
    - Why the module acted or not. V(valid) when a key already qualified; otherwise V(keyset_missing), V(no_key),
      V(expired), V(expiring) (valid but expiring within O(renew_before)) or V(not_yet_valid).
  returned: always
  type: str
  sample: valid
replication_wait:
  description:
    - Seconds the module paused because B2C had not yet replicated the key set this run created (it refuses keys
      with AADB2C95052 or AADB2C90073 for a while after a create). Shown with C(-v).
    - Past about a minute of waiting the module fails, saying that the key set is not ready yet and that no key was
      added.
  returned: when the module waited for a new key set
  type: float
  sample: 12.5
"""

from ansible_collections.entra.b2c.plugins.module_utils._keysets.flow import (
    CREATE_SPEC,
    KEYSET_SPEC,
    WINDOW_SPEC,
    ensure_generated_key,
)
from ansible_collections.entra.b2c.plugins.module_utils._core.module import GraphModule


MODULE_SPEC = dict(
    argument_spec=dict(
        **KEYSET_SPEC,
        use=dict(type="str", required=True, choices=["sig", "enc"]),
        kty=dict(type="str", default="RSA"),
        **WINDOW_SPEC,
        **CREATE_SPEC,
    ),
    mutually_exclusive=[("exp", "valid_for")],
    supports_check_mode=True,
)


# The flow the module runs, in a module process (main) or in the controller's worker (the action plugin).
FLOW = ensure_generated_key


def main():
    GraphModule(**MODULE_SPEC).run(FLOW)


if __name__ == "__main__":
    main()
