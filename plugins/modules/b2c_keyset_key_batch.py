#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: b2c_keyset_key_batch
short_description: Ensure several Azure AD B2C policy key sets hold valid generated keys, in one run
version_added: 0.1.0
description:
  - The batch form of M(entra.b2c.b2c_keyset_key) - each entry of O(keysets) gets exactly the treatment that module
    gives one key set (same rule, same refusals, same results), but all of them in one module run with one token and
    the key sets read and written in parallel.
  - Prefer it over a loop of M(entra.b2c.b2c_keyset_key) for more than a couple of key sets; a loop pays a module
    start-up and a token lookup per key set.
  - The top-level O(use), O(kty), O(nbf), O(exp), O(valid_for), O(renew_before) and O(create_keyset) are defaults
    for the entries that do not set them.
  - When some entries fail, the others still complete; the task fails naming each failed key set, and RV(results)
    shows what happened to every entry.
author:
  - entra.b2c maintainers (@entra-b2c)
extends_documentation_fragment:
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
  keysets:
    description:
      - The key sets to ensure, each at most once.
    type: list
    elements: dict
    required: true
    suboptions:
      keyset:
        description: The key set id, with or without the C(B2C_1A_) prefix.
        type: str
        required: true
        aliases: [name, keyset_id]
      use:
        description: Key use, V(sig) or V(enc). Defaults to the top-level O(use).
        type: str
        choices: [sig, enc]
      kty:
        description: Key type, V(RSA) or V(oct). Defaults to the top-level O(kty).
        type: str
      nbf:
        description: Activation of a generated key. Defaults to the top-level O(nbf).
        type: raw
        aliases: [not_before]
      exp:
        description: Expiry of a generated key. Defaults to the top-level O(exp).
        type: raw
        aliases: [expires]
      valid_for:
        description: Lifetime of a generated key. Defaults to the top-level O(valid_for).
        type: str
      renew_before:
        description: Renewal margin. Defaults to the top-level O(renew_before).
        type: str
      create_keyset:
        description: Create the key set when missing. Defaults to the top-level O(create_keyset).
        type: bool
  use:
    description: Default key use for the entries, V(sig) or V(enc).
    type: str
    choices: [sig, enc]
  kty:
    description: Default key type for the entries, V(RSA) or V(oct), case-insensitive.
    type: str
    default: RSA
  nbf:
    description: Default activation of generated keys, as in M(entra.b2c.b2c_keyset_key). Defaults to now.
    type: raw
    aliases: [not_before]
  exp:
    description: Default expiry of generated keys, as in M(entra.b2c.b2c_keyset_key).
    type: raw
    aliases: [expires]
  valid_for:
    description: Default lifetime of generated keys, such as V(365d).
    type: str
  renew_before:
    description: Default renewal margin, such as V(30d).
    type: str
    default: "0"
  create_keyset:
    description: Default for creating missing key sets.
    type: bool
    default: true
  parallel:
    description: How many key sets are read and written at the same time.
    type: int
    default: 8
seealso:
  - module: entra.b2c.b2c_keyset_key
"""

EXAMPLES = r"""
- name: Ensure the IEF starter-pack keys in one task
  entra.b2c.b2c_keyset_key_batch:
    keysets:
      - keyset: TokenSigningKeyContainer
        use: sig
      - keyset: TokenEncryptionKeyContainer
        use: enc
    valid_for: 365d
    renew_before: 30d

- name: Many signing key sets, with credentials set once for the play
  module_defaults:
    group/entra.b2c.graph:
      tenant_id: contoso.onmicrosoft.com
      client_id: "{{ b2c_client_id }}"
      client_secret: "{{ b2c_client_secret }}"
      token_cache: ~/.cache/entra.b2c/tokens.json
  entra.b2c.b2c_keyset_key_batch:
    use: sig
    valid_for: 180d
    renew_before: 14d
    keysets:
      - keyset: SamlSigningPartnerA
      - keyset: SamlSigningPartnerB
      - keyset: SamlSigningPartnerC

# Ad hoc, credentials from AZURE_* environment variables:
#   ansible localhost -m entra.b2c.b2c_keyset_key_batch \
#     -a '{"use": "sig", "valid_for": "365d", "keysets": [{"keyset": "A"}, {"keyset": "B"}]}' --check
"""

RETURN = r"""
error:
  description:
    - What Microsoft Graph answered when the task failed on a Graph error, for playbooks to test with C(failed_when),
      C(until) or C(when) (C(msg) says the same in words, with what to do).
    - Absent when Graph did not answer (unreachable host, timeout, TLS failure), when signing in to Entra ID failed
      (its C(AADSTS) codes are in C(msg)) and when the task failed before any request (input refused, credentials
      missing); inside it, a key Graph did not give is null. It never holds credentials, tokens or key material.
    - For a task that fails because entries failed, each failed entry of RV(results) carries its own C(error) (when
      Graph answered it), and this one is the first of them in the order of RV(results).
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
results:
  description:
    - One entry per item of O(keysets), in the same order, each shaped like the result of M(entra.b2c.b2c_keyset_key)
      (RV(results[].keyset), RV(results[].changed), RV(results[].reason), RV(results[].key),
      RV(results[].keyset_keys)),
      plus RV(results[].replication_wait) when it waited for a new key set to replicate,
      and RV(results[].failed) and RV(results[].msg) for an entry that failed.
  returned: always
  type: list
  elements: dict
  contains:
    keyset:
      description: The key set id as the service names it.
      type: str
      returned: always
    changed:
      description: Whether a key set or key was (or in check mode would be) created for this entry.
      type: bool
      returned: always
    reason:
      description: Why the entry acted or not, as in M(entra.b2c.b2c_keyset_key).
      type: str
      returned: success
    key:
      description: Public facts of the key that satisfies the entry, null in check mode when it would be new.
      type: dict
      returned: success
    keyset_keys:
      description: Public facts of every key in the set after the run.
      type: list
      elements: dict
      returned: success
    replication_wait:
      description:
        - Seconds this entry paused because B2C had not yet replicated the key set it created, as in
          M(entra.b2c.b2c_keyset_key).
      type: float
      returned: when the entry waited for a new key set
    failed:
      description: True when this entry failed.
      type: bool
      returned: when failed
    msg:
      description: What went wrong for this entry.
      type: str
      returned: when failed
    error:
      description:
        - What Graph answered when this entry failed on a Graph error, shaped like the task's RV(error).
      type: dict
      returned: when the entry failed on an error Graph answered
"""

from ansible_collections.entra.b2c.plugins.module_utils._keysets.flow import (
    BATCH_DEFAULTS_SPEC,
    KEYSET_SPEC,
    ensure_many,
)
from ansible_collections.entra.b2c.plugins.module_utils._core.module import GraphModule, optional


MODULE_SPEC = dict(
    argument_spec=dict(
        keysets=dict(type="list", elements="dict", required=True, no_log=False,
                     options=dict(**KEYSET_SPEC, **optional(BATCH_DEFAULTS_SPEC))),
        **BATCH_DEFAULTS_SPEC,
        parallel=dict(type="int", default=8),
    ),
    mutually_exclusive=[("exp", "valid_for")],
    supports_check_mode=True,
)


# The flow the module runs, in a module process (main) or in the controller's worker (the action plugin).
FLOW = ensure_many


def main():
    GraphModule(**MODULE_SPEC).run(FLOW)


if __name__ == "__main__":
    main()
