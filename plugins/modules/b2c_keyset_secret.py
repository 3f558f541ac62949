#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: b2c_keyset_secret
short_description: Ensure an Azure AD B2C policy key set holds a valid secret you provide
version_added: 0.1.0
description:
  - Makes sure the Identity Experience Framework key set (policy key container) O(keyset) holds a secret (an V(oct)
    key) of the requested O(use) that is valid now, and still valid O(renew_before) from now, uploading O(secret) with
    Microsoft Graph's C(uploadSecret) when it does not.
  - B2C never returns a stored secret, so the module cannot compare it with O(secret). With the default
    O(update_secret=on_create) it uploads only when no key qualifies (the key set is missing or empty, or its secrets
    are disabled, expired, expiring within O(renew_before) or not active yet); a qualifying key counts whatever its
    value. With O(update_secret=always) it uploads on every run.
  - A key qualifies when its use matches, its type is V(oct), it is not disabled, it is active at S (S is now, or the
    requested O(nbf) when that lies in the future), and it does not expire before S plus O(renew_before).
  - Creates the key set first when it does not exist, unless O(create_keyset=false).
  - Refuses, before any write, a key set that holds RSA keys or keys of the other use, which B2C rejects.
  - The secret never appears in the module's results, diff, warnings or errors.
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
    details:
      - The diff shows public key facts only; a secret is never part of it.
options:
  use:
    description:
      - Use of the key, V(sig) for signing or V(enc) for encryption.
    type: str
    required: true
    choices: [sig, enc]
  secret:
    description:
      - The secret value to upload, for example a client secret of a federated identity provider or an API key of a
        REST technical profile.
      - Uploaded when a new key is needed (see O(update_secret)); never shown in any output.
    type: str
    required: true
  update_secret:
    description:
      - V(on_create) uploads O(secret) only when no key of the set qualifies, so repeated runs change nothing.
      - V(always) uploads O(secret) as a new key on every run and always reports a change. Use it to rotate to a new
        value (B2C makes the newest key active), then switch back to V(on_create); running it every time adds a key
        on every run, and keys cannot be deleted from a key set.
    type: str
    choices: [on_create, always]
    default: on_create
  renew_before:
    description:
      - A key that expires within this duration from S no longer counts, so O(secret) is uploaded again, with new
        times, ahead of time. Same forms as O(valid_for).
    type: str
    default: "0"
notes:
  - An expired or expiring secret is replaced by uploading O(secret) again with new times; to change the value itself,
    run once with O(update_secret=always).
seealso:
  - module: entra.b2c.b2c_keyset_key
  - name: trustFrameworkKeySet uploadSecret (Microsoft Graph beta)
    description: The API this module calls to add a key.
    link: https://learn.microsoft.com/en-us/graph/api/trustframeworkkeyset-uploadsecret?view=graph-rest-beta
"""

EXAMPLES = r"""
- name: Ensure the REST API key is in place (uploaded once, again only 30 days before it expires)
  entra.b2c.b2c_keyset_secret:
    keyset: RestApiKey
    use: sig
    secret: "{{ vault_rest_api_key }}"
    valid_for: 365d
    renew_before: 30d
    tenant_id: contoso.onmicrosoft.com
    client_id: "{{ b2c_client_id }}"
    client_secret: "{{ b2c_client_secret }}"

- name: Set credentials once, keep the Facebook app secret valid, renewing a month ahead
  module_defaults:
    group/entra.b2c.graph:
      tenant_id: contoso.onmicrosoft.com
      client_id: "{{ b2c_client_id }}"
      client_certificate_path: /etc/ansible/b2c-automation.pem
  block:
    - name: Facebook secret, one year, uploaded again 30 days before it expires
      entra.b2c.b2c_keyset_secret:
        keyset: FacebookSecret
        use: sig
        secret: "{{ vault_facebook_app_secret }}"
        valid_for: 365d
        renew_before: 30d

- name: Rotate to a new value (run once, then go back to update_secret=on_create)
  entra.b2c.b2c_keyset_secret:
    keyset: B2C_1A_RestApiKey
    use: sig
    secret: "{{ vault_rest_api_key_new }}"
    update_secret: always
    valid_for: 365d
    create_keyset: false

# Ad hoc, with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET in the environment (the secret comes from a
# variable, not the command line):
#   ansible localhost -m entra.b2c.b2c_keyset_secret -e @vault.yml \
#     -a 'keyset=RestApiKey use=sig valid_for=365d secret={{ vault_rest_api_key }}' --check --diff
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
  sample: B2C_1A_RestApiKey
key:
  description:
    - Public facts of the key that satisfies the request after the run (the uploaded one when the module uploaded).
    - The secret is never part of it.
    - V(null) in check mode when the key would be new.
  returned: always
  type: dict
  sample:
    kid: K3x9Lm2nOp4qRs6tUv8wXy0zAb1cDe3fGh5iJk7lMn9
    use: sig
    kty: oct
    nbf: 1767225600
    exp: 1798761600
    not_before: "2026-01-01T00:00:00Z"
    expires: "2027-01-01T00:00:00Z"
    status: enabled
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
    - V(update_secret) when a key qualified but O(update_secret=always) uploaded the secret anyway.
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
    ensure_secret,
)
from ansible_collections.entra.b2c.plugins.module_utils._core.module import GraphModule


MODULE_SPEC = dict(
    argument_spec=dict(
        **KEYSET_SPEC,
        use=dict(type="str", required=True, choices=["sig", "enc"]),
        secret=dict(type="str", required=True, no_log=True),
        update_secret=dict(type="str", default="on_create", choices=["on_create", "always"], no_log=False),
        **WINDOW_SPEC,
        **CREATE_SPEC,
    ),
    mutually_exclusive=[("exp", "valid_for")],
    supports_check_mode=True,
)


# The flow the module runs, in a module process (main) or in the controller's worker (the action plugin).
FLOW = ensure_secret


def main():
    GraphModule(**MODULE_SPEC).run(FLOW)


if __name__ == "__main__":
    main()
