#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: b2c_policy
short_description: Upload or delete one Azure AD B2C custom policy (IEF), only when it differs
version_added: 0.1.0
description:
  - Keeps one Identity Experience Framework custom policy (C(trustFrameworkPolicy)) of a B2C tenant as O(content) or
    the file O(path) says, through Microsoft Graph.
  - Reads the tenant's copy and uploads only when it says something different. The XML declaration, indentation and
    line breaks between elements, attribute order and quoting, comments and unused namespace declarations do not
    count; element and attribute names, attribute values and text do, to the last space.
  - B2C validates every upload in full and replaces the stored policy even when nothing changed, so skipping
    unchanged policies is what makes repeated runs free and quiet.
  - Refuses, before any request (the token included), what B2C would refuse - XML that is not well-formed, a root that
    is not C(TrustFrameworkPolicy), a C(PolicyId) without the C(B2C_1A_) prefix or other than O(policy), a
    C(TenantId) other than the task's O(tenant_id) (compared when that is a domain name), a placeholder that
    O(settings) and O(appsettings) leave unfilled, a C(BasePolicy) in another tenant.
  - A policy that extends another needs its base in the tenant first, and every key set it references through
    C(StorageReferenceId) must exist (checked before the upload, in check mode too; see O(ensured_keysets)). Use
    M(entra.b2c.b2c_policies) for a set, which uploads bases first.
  - Refuses references (claim types, technical profiles, journeys, content definitions and the like) that neither
    the policy nor any of its bases defines, one per line with the file's line and the nearest existing id - before
    any request for a policy without a base; for one with a base, against the tenant's copies of its bases, read only
    when the policy would be uploaded.
author:
  - entra.b2c maintainers (@entra-b2c)
extends_documentation_fragment:
  - entra.b2c.policies
  - entra.b2c.policy_settings
  - entra.b2c.graph
  - entra.b2c.attributes
  - entra.b2c.attributes.ACTION_GROUP
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - A unified diff of the policy XML, both sides in the same stable indented form (attributes sorted, comments
        left out), so it shows only what counts.
options:
  policy:
    description:
      - The policy id, with or without the C(B2C_1A_) prefix.
      - Optional; when given with O(content) or O(path), the C(PolicyId) of the content must be this id (case is
        ignored, as B2C ignores it).
      - With O(state=absent), the policy to delete when neither O(content) nor O(path) is given.
    type: str
    aliases: [name, policy_id]
  content:
    description:
      - The policy XML, typically from a template, for example
        V("{{ lookup('ansible.builtin.template', 'policies/SignUpOrSignin.xml'\) }}").
      - Uploaded as UTF-8, unchanged. Mutually exclusive with O(path).
    type: str
  path:
    description:
      - A policy file on the host that runs the module (the controller, for C(hosts) V(localhost)), uploaded byte for
        byte. It is not templated; use O(content) with the template lookup for that.
      - Mutually exclusive with O(content).
    type: path
  state:
    description:
      - V(present) uploads the policy when the tenant has none or a different one; it needs O(content) or O(path).
      - V(absent) deletes the policy when it exists - the one O(content) or O(path) defines (its C(PolicyId); the
        same task with the state flipped deletes what it uploaded), or the one named by O(policy). The content is
        checked as for an upload before any request, so a file whose C(TenantId) names another tenant deletes
        nothing. B2C does not check that no other policy extends it.
    type: str
    choices: [present, absent]
    default: present
  backup:
    description:
      - Save the tenant's copy of the policy to O(backup_dir) before this task replaces or deletes it (O(state=absent)
        included), and return the file in RV(backup_files). A new policy needs none.
      - A backup that cannot be written stops the task before the write it protects. When B2C then refuses the write,
        the policy is unchanged and the backup is removed again. Nothing is written in check mode.
    type: bool
    default: false
  backup_dir:
    description:
      - The directory of the backups, on the host that runs the module; required with O(backup). Created with mode
        0700 when missing; the file gets mode 0600 and the name C(<policy id>.<YYYY-MM-DD@HH-MM-SS>.xml), the time of
        the run (Ansible's backup time stamp with V(-) for V(:), so that Windows and SMB shares accept it).
      - To put a policy back, upload the file with this module (O(path)).
    type: path
seealso:
  - module: entra.b2c.b2c_policies
  - module: entra.b2c.b2c_policy_info
  - name: Keys, then policies (user guide chapter)
    description: Deploying IEF custom policies with this collection.
    link: https://github.com/entra-b2c/entra.b2c/blob/main/docs/policies.md
  - name: trustFrameworkPolicy (Microsoft Graph beta)
    description: The API this module calls.
    link: https://learn.microsoft.com/en-us/graph/api/resources/trustframeworkpolicy?view=graph-rest-beta
"""

EXAMPLES = r"""
- name: Upload a relying party rendered for this tenant
  entra.b2c.b2c_policy:
    content: "{{ lookup('ansible.builtin.template', 'policies/SignUpOrSignin.xml') }}"
    tenant_id: contoso.onmicrosoft.com
    client_id: "{{ b2c_client_id }}"
    client_secret: "{{ b2c_client_secret }}"
  register: signin

- name: Show why it acted or not
  ansible.builtin.debug:
    msg: "{{ signin.policy }}: {{ signin.reason }}"

- name: Upload a finished file, and make sure it is the policy we mean
  entra.b2c.b2c_policy:
    policy: B2C_1A_TrustFrameworkExtensions
    path: build/contoso/TrustFrameworkExtensions.xml

- name: A file of a VS Code extension repository, for its Production environment
  entra.b2c.b2c_policy:
    path: b2c-policies/SignUpOrSignin.xml
    appsettings: b2c-policies/appsettings.json
    environment: Production

- name: Retire a relying party, keeping a copy
  entra.b2c.b2c_policy:
    policy: B2C_1A_SignInForApi
    state: absent
    backup: true
    backup_dir: /var/backups/b2c-policies
  register: retired

- name: Changed our mind - put it back
  entra.b2c.b2c_policy:
    path: "{{ retired.backup_files[0] }}"

- name: Delete what a file defines (the upload task above with its state flipped)
  entra.b2c.b2c_policy:
    path: build/contoso/TrustFrameworkExtensions.xml
    state: absent

# Ad hoc, with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET in the environment (what would change, and how):
#   ansible localhost -m entra.b2c.b2c_policy -a "path=build/SignUpOrSignin.xml" --check --diff
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
policy:
  description:
    - The policy id, as the file spells it; with O(state=absent), as the tenant's copy spells it (else as given).
  returned: always
  type: str
  sample: B2C_1A_SignUpOrSignin
reason:
  description:
    - Why the module acted or not. With O(state=present) V(new) (the tenant had no such policy), V(changed) (it had a
      different one) or V(unchanged); with O(state=absent) V(deleted) or V(absent) (there was nothing to delete).
  returned: always
  type: str
  sample: changed
base_policy:
  description: The C(BasePolicy) id of the policy, V(null) for a policy that extends none.
  returned: when O(state=present)
  type: str
  sample: B2C_1A_TrustFrameworkExtensions
keysets:
  description: The key sets the policy references through C(StorageReferenceId), each once, in document order.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [B2C_1A_TokenSigningKeyContainer, B2C_1A_TokenEncryptionKeyContainer]
backup_files:
  description:
    - The backup this task wrote (O(backup)) - one file when it replaced or deleted the policy, none otherwise (B2C
      refused the write) and in check mode.
  returned: always
  type: list
  elements: str
  sample: [/var/backups/b2c-policies/B2C_1A_SignInForApi.2026-12-07@10-41-09.xml]
replication_wait:
  description:
    - Seconds the upload waited for B2C to make a key set created moments ago usable for policies (see
      O(ensured_keysets)).
  returned: when the upload waited
  type: float
  sample: 12.5
"""

from ansible_collections.entra.b2c.plugins.module_utils._policies.flow import (
    BACKUP_SPEC,
    POLICY_SPEC,
    ensure_policy,
)
from ansible_collections.entra.b2c.plugins.module_utils._core.module import GraphModule
from ansible_collections.entra.b2c.plugins.module_utils._policies.keysets import ENSURED_SPEC
from ansible_collections.entra.b2c.plugins.module_utils._policies.settings import SETTINGS_SPEC


MODULE_SPEC = dict(
    argument_spec=dict(
        **POLICY_SPEC,
        content=dict(type="str"),
        path=dict(type="path"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        **BACKUP_SPEC,
        **SETTINGS_SPEC,
        **ENSURED_SPEC,
    ),
    mutually_exclusive=[("content", "path")],
    required_if=[("state", "present", ("content", "path"), True), ("state", "absent", ("policy", "content", "path"), True)],
    supports_check_mode=True,
)


# The flow the module runs, in a module process (main) or in the controller's worker (the action plugin).
FLOW = ensure_policy


def main():
    GraphModule(**MODULE_SPEC).run(FLOW)


if __name__ == "__main__":
    main()
