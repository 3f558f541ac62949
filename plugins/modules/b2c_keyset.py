#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: b2c_keyset
short_description: Create or delete an Azure AD B2C policy key set
version_added: 0.1.0
description:
  - Makes sure the Identity Experience Framework key set (policy key container) O(keyset) exists, empty when created,
    or does not exist.
  - Use M(entra.b2c.b2c_keyset_key) to put keys into a key set; it also creates the set when needed.
  - B(Deleting a key set breaks every custom policy that references it) (sign-ins fail at run time) and its keys
    B(cannot be re-created) -- a generated key's private part never leaves B2C, and a new key has a new C(kid). The
    service keeps a copy of a deleted set's keys in the backup key set C(<id>.bak); O(purge_backup=true) deletes that
    copy too, which makes the deletion final.
author:
  - entra.b2c maintainers (@entra-b2c)
extends_documentation_fragment:
  - entra.b2c.keys
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
  state:
    description:
      - V(present) creates the key set, empty, when it does not exist; an existing set is left as it is.
      - V(absent) deletes the key set when it exists. See the warning above.
    type: str
    choices: [present, absent]
    default: present
  purge_backup:
    description:
      - With O(state=absent), also delete the backup key set C(<id>.bak) that the service keeps after a delete,
        including one left by an earlier deletion when the key set itself is already gone.
      - Once the backup is gone, nothing of the deleted keys remains.
      - Ignored with O(state=present).
    type: bool
    default: false
notes:
  - In check mode, a deletion with O(purge_backup=true) reports RV(backup_deleted=true) because the service keeps a
    backup of every set it deletes.
seealso:
  - module: entra.b2c.b2c_keyset_key
  - module: entra.b2c.b2c_keyset_info
  - name: trustFrameworkKeySet (Microsoft Graph beta)
    description: The API resource this module manages.
    link: https://learn.microsoft.com/en-us/graph/api/resources/trustframeworkkeyset?view=graph-rest-beta
"""

EXAMPLES = r"""
- name: Make sure an empty key set exists for a custom policy's keys
  entra.b2c.b2c_keyset:
    keyset: RestApiClientCertificate
    tenant_id: contoso.onmicrosoft.com
    client_id: "{{ b2c_client_id }}"
    client_secret: "{{ b2c_client_secret }}"

- name: Set credentials once for the play's entra.b2c tasks, then retire a key set no policy uses any more
  module_defaults:
    group/entra.b2c.graph:
      tenant_id: contoso.onmicrosoft.com
      client_id: "{{ b2c_client_id }}"
      client_certificate_path: /etc/ansible/b2c-automation.pem
  block:
    - name: Delete the old key set, keeping the service's backup
      entra.b2c.b2c_keyset:
        keyset: B2C_1A_LegacyApiKey
        state: absent

    - name: Delete another one for good, backup included
      entra.b2c.b2c_keyset:
        keyset: ScratchKeys
        state: absent
        purge_backup: true

# Ad hoc, with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET in the environment (dry run with a diff):
#   ansible localhost -m entra.b2c.b2c_keyset -a "keyset=ScratchKeys state=absent purge_backup=true" --check --diff
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
  description: The key set id as the service names it (C(B2C_1A_...)).
  returned: always
  type: str
  sample: B2C_1A_RestApiClientCertificate
keyset_keys:
  description:
    - Public facts of the keys in the set after the run (empty after a deletion), each with C(kid), C(use), C(kty),
      C(nbf), C(exp), C(status), C(e), C(n), C(x5t), C(x5c) where present, and C(not_before)/C(expires) as ISO 8601
      UTC strings (V(null) when absent). Private key parts are never returned.
  returned: always
  type: list
  elements: dict
  sample: []
backup_deleted:
  description:
    - V(true) when the backup key set C(<id>.bak) was (or in check mode would be) deleted through O(purge_backup).
  returned: always
  type: bool
  sample: false
diff:
  description:
    - With C(--diff), the key set before and after, public facts only; C(keyset) is V(null) when the set does not
      exist. When a backup is deleted, C(backup) names it in C(before) and is V(null) in C(after).
  returned: when diff mode is on
  type: dict
  sample:
    before:
      keyset: B2C_1A_ScratchKeys
      keyset_keys: []
      backup: B2C_1A_ScratchKeys.bak
    after:
      keyset: null
      keyset_keys: []
      backup: null
"""

from ansible_collections.entra.b2c.plugins.module_utils._keysets.flow import KEYSET_SPEC, ensure_keyset
from ansible_collections.entra.b2c.plugins.module_utils._core.module import GraphModule


MODULE_SPEC = dict(
    argument_spec=dict(
        **KEYSET_SPEC,
        state=dict(type="str", default="present", choices=["present", "absent"]),
        purge_backup=dict(type="bool", default=False),
    ),
    supports_check_mode=True,
)


# The flow the module runs, in a module process (main) or in the controller's worker (the action plugin).
FLOW = ensure_keyset


def main():
    GraphModule(**MODULE_SPEC).run(FLOW)


if __name__ == "__main__":
    main()
