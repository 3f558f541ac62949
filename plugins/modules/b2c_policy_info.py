#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: b2c_policy_info
short_description: List the custom policies (IEF) of an Azure AD B2C tenant, optionally with their XML
version_added: 0.1.0
description:
  - Lists the Identity Experience Framework custom policies of a B2C tenant, or one of them, for audits and backups.
  - Without O(content), one Microsoft Graph request (more only when the service pages its answer).
  - With O(content), also each policy's XML as the service answers it, one request per policy, in parallel.
  - With O(path), also the drift of the tenant against a directory of policy files - RV(extra) and RV(missing) -
    from the same list request; the files are only parsed for their C(PolicyId).
  - Only reads; C(Policy.Read.All) is enough.
author:
  - entra.b2c maintainers (@entra-b2c)
extends_documentation_fragment:
  - entra.b2c.policies
  - entra.b2c.graph
  - entra.b2c.attributes
  - entra.b2c.attributes.CHECK_MODE_READ_ONLY
  - entra.b2c.attributes.ACTION_GROUP
options:
  policy:
    description:
      - Report only this policy, with or without the C(B2C_1A_) prefix (case is ignored). A policy that does not exist
        gives an empty RV(policies).
    type: str
    aliases: [name, policy_id]
  content:
    description: Also read each policy's XML (RV(policies[].content)) and its base (RV(policies[].base_policy)).
    type: bool
    default: false
  parallel:
    description: How many policies are read at the same time with O(content).
    type: int
    default: 8
  path:
    description:
      - A directory of policy files on the host that runs the module, as M(entra.b2c.b2c_policies) takes it; its files
        whose name matches O(pattern), in its sub-folders too (O(recursive)), are compared with the tenant's list by
        C(PolicyId) (ignoring case). The C(.xml) files left out are named in a warning.
    type: path
  pattern:
    description:
      - File name pattern of the policy files in O(path), shell style, matched against each file's name without its
        folders.
    type: str
    default: "*.xml"
  recursive:
    description:
      - Also take the files of the sub-folders of O(path), as M(entra.b2c.b2c_policies) does (same default, same
        folders left aside); V(false) takes the files of O(path) itself only.
    type: bool
    default: true
seealso:
  - module: entra.b2c.b2c_policies
  - module: entra.b2c.b2c_policy
"""

EXAMPLES = r"""
- name: List the tenant's custom policies
  entra.b2c.b2c_policy_info:
    tenant_id: contoso.onmicrosoft.com
    client_id: "{{ b2c_client_id }}"
    client_secret: "{{ b2c_client_secret }}"
  register: tenant_policies

- name: Show their ids
  ansible.builtin.debug:
    msg: "{{ tenant_policies.policies | map(attribute='id') | list }}"

- name: Back up every custom policy
  entra.b2c.b2c_policy_info:
    content: true
  register: backup

- name: Write each one to a file
  ansible.builtin.copy:
    content: "{{ item.content }}"
    dest: "backup/{{ item.id }}.xml"
    mode: "0600"
  loop: "{{ backup.policies }}"
  loop_control:
    label: "{{ item.id }}"

- name: What the tenant holds that the repository does not (and the other way round)
  entra.b2c.b2c_policy_info:
    path: build/contoso
  register: drift

- name: Fail when someone added a policy by hand
  ansible.builtin.assert:
    that: drift.extra | select('match', '(?i)B2C_1A_Contoso_') | list | length == 0
    fail_msg: "not in the repository: {{ drift.extra }}"

# Ad hoc, with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET in the environment:
#   ansible localhost -m entra.b2c.b2c_policy_info -a "policy=SignUpOrSignin content=true"
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
policies:
  description:
    - The tenant's custom policies in the service's order; only O(policy) when it is given (empty when it does not
      exist).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The policy id as the service spells it.
      type: str
      sample: B2C_1A_TrustFrameworkBase
    content:
      description: The policy XML exactly as the service answers it.
      type: str
      returned: when O(content=true)
    base_policy:
      description: The C(BasePolicy) id read from RV(policies[].content), V(null) for a policy that extends none.
      type: str
      returned: when O(content=true)
      sample: B2C_1A_TrustFrameworkLocalization
extra:
  description: The tenant's custom policies that no file of O(path) defines, as the service spells them, sorted.
  returned: when O(path) is given
  type: list
  elements: str
  sample: [B2C_1A_Contoso_OldSignIn]
missing:
  description: The policies of O(path) that the tenant does not hold, as the files spell them, sorted.
  returned: when O(path) is given
  type: list
  elements: str
  sample: [B2C_1A_Contoso_PasswordReset]
"""

from ansible_collections.entra.b2c.plugins.module_utils._policies.flow import (
    PARALLEL_SPEC,
    POLICY_SPEC,
    policy_info,
)
from ansible_collections.entra.b2c.plugins.module_utils._core.module import GraphModule


MODULE_SPEC = dict(
    argument_spec=dict(
        **POLICY_SPEC,
        content=dict(type="bool", default=False),
        path=dict(type="path"),
        pattern=dict(type="str", default="*.xml"),
        recursive=dict(type="bool", default=True),
        **PARALLEL_SPEC,
    ),
    supports_check_mode=True,
)


# The flow the module runs, in a module process (main) or in the controller's worker (the action plugin).
FLOW = policy_info


def main():
    GraphModule(**MODULE_SPEC).run(FLOW)


if __name__ == "__main__":
    main()
