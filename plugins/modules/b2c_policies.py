#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: b2c_policies
short_description: Deploy a set of Azure AD B2C custom policies (IEF) in inheritance order, uploading only what changed
version_added: 0.1.0
description:
  - Keeps a set of Identity Experience Framework custom policies - a directory (O(path)) or a list (O(policies)) -
    in a B2C tenant, in one task with one token.
  - Reads every file's C(BasePolicy) and orders the set by inheritance before any write. Refuses, naming the policies,
    an id defined twice, an inheritance cycle, a chain deeper than the 10 levels B2C allows (before any request), and
    a base that is neither in the set nor in the tenant (before any write).
  - Reads the tenant's copies of the set's policies in parallel, and uploads only the policies that are new or
    changed, level by level - a base before what extends it, one upload at a time unless O(parallel_uploads) says
    otherwise. What counts as a change is what M(entra.b2c.b2c_policy) compares.
  - Reports the tenant's custom policies outside the set in RV(extra) (drift; from the list, no extra read). With
    O(prune), deletes those whose ids match O(prune_pattern) after the set is uploaded.
  - Every file is checked as M(entra.b2c.b2c_policy) checks one, all problems of all files reported together, before
    any request.
  - Resolves every reference of every policy (claim types, technical profiles, claims transformations, journeys,
    content definitions, localized resources, display controls) against its inheritance chain and refuses, one per
    line with the file's line and the nearest existing id, those no policy of the chain defines - before any request
    when every chain is in the set, else after reading the tenant's copies of the bases outside the set (only those),
    always before any write and in check mode too. So a base change that breaks a child of the set is refused before
    the base is uploaded.
  - When B2C refuses an upload, the other uploads of the same level complete, later levels are not attempted, and the
    task fails naming each refused policy, where it came from, B2C's code and message, what this run already uploaded
    and what it did not attempt. With O(rollback) (the default) the run first puts the tenant back as it was - see
    there. A second run uploads only what is still different.
  - An unchanged set is read and never written. The collection's C(docs/performance.md) counts the requests each kind
    of run makes.
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
    details:
      - Runs everything but the writes, and reports the same RV(levels), RV(uploaded), RV(results), RV(extra) and
        RV(pruned) a real run would, in the same order. No backup is written (RV(backup_files) is empty).
  diff_mode:
    support: full
    details:
      - One unified diff per policy that is (or would be) uploaded because it is new or changed, and one per policy
        O(prune) deletes (or would delete).
options:
  path:
    description:
      - A directory on the host that runs the module; its files whose name matches O(pattern), in its sub-folders too
        (O(recursive)), are the set, uploaded byte for byte once O(settings) are filled in. They are not templated;
        use O(policies) with the template lookup for that.
      - Found as the VS Code B2C extension finds a repository's policies when it builds - except under its output
        folder C(Environments), at any depth - and never in a folder whose name starts with a dot (C(.git),
        C(.vscode)), in O(backup_dir), or through a symbolic link to a folder (a link back up would loop). A file
        whose name starts with a dot is never part of the set.
      - The C(.xml) files left out (by O(pattern), by O(recursive=false), or as dot files) are named in a warning,
        never skipped without a word.
      - Mutually exclusive with O(policies); one of the two is required.
    type: path
  pattern:
    description:
      - File name pattern of the policy files in O(path), shell style, matched against each file's name without its
        folders (V(*.xml) finds C(RelyingParties/SignUpOrSignin.xml) too); a pattern with a V(/) is refused.
    type: str
    default: "*.xml"
  recursive:
    description:
      - Also take the files of the sub-folders of O(path) (C(RelyingParties/) and the like), as the VS Code B2C
        extension does. Two files may have the same name in different folders; their C(PolicyId) decides, and an id
        defined twice is refused before any request.
      - V(false) takes the files of O(path) itself only; the C(.xml) files of its sub-folders are then named in a
        warning.
    type: bool
    default: true
  policies:
    description:
      - The set as a list, each entry exactly one of O(policies[].path) and O(policies[].content).
      - Mutually exclusive with O(path).
    type: list
    elements: dict
    suboptions:
      path:
        description: A policy file on the host that runs the module, uploaded byte for byte.
        type: path
      content:
        description:
          - The policy XML, for example
            V("{{ lookup('ansible.builtin.template', 'policies/TrustFrameworkBase.xml'\) }}").
        type: str
      source:
        description:
          - How messages and RV(results[].source) name this entry, for example the template it was rendered from.
          - Defaults to O(policies[].path), or C(policies[N]) for a O(policies[].content) entry.
        type: str
  state:
    description:
      - V(present) uploads what is new or changed, bases first.
      - V(absent) deletes the set's policies that the tenant holds, what extends another first. A policy outside the
        set that extends one of them is not looked for.
    type: str
    choices: [present, absent]
    default: present
  reupload_dependents:
    description:
      - Also upload the unchanged policies that extend an uploaded one (reason V(base_changed)), so that B2C validates
        them against the new base now rather than at the next sign-in. B2C validates a policy only when that policy
        itself is uploaded, so without this a base change that breaks a child shows at the next sign-in.
      - It costs one upload per dependent policy of a changed base; an unchanged set still costs no write.
      - V(false) uploads only what is new or changed (B2C assembles a policy from its bases each time an application
        calls it, so a new base takes effect without this).
    type: bool
    default: true
  id_prefix:
    description:
      - Deploy the set as a new version beside the live one - text inserted after C(B2C_1A_) into every policy id of
        the set and every reference to one, for example V(V2_) deploys C(B2C_1A_TrustFrameworkBase) as
        C(B2C_1A_V2_TrustFrameworkBase), chained to the other C(B2C_1A_V2_) policies. The live set is not touched.
      - Rewritten in each file, and nothing else - C(PolicyId), C(BasePolicy)'s C(PolicyId) when it names a policy of
        the set, and C(PublicPolicyUri) when it ends with the id of a policy of the set; ids are compared ignoring
        case. A base outside the set (one the tenant alone holds) keeps its id. The rest of each file is uploaded byte
        for byte, so a second run with the same prefix uploads nothing.
      - The prefix is always inserted, also into ids that already begin with it (V(V2_) over
        C(B2C_1A_V2_Base) gives C(B2C_1A_V2_V2_Base)).
      - Letters, digits, V(_), V(-) and V(.), without the C(B2C_1A_) itself; refused before any request otherwise.
      - With O(state=absent), deletes the prefixed set. Then O(prune) with a O(prune_pattern) that matches the old
        version's ids, or O(state=absent) with the old files, retires the old version once the applications use the new
        one; the collection's C(docs/policies.md) has the release recipe.
    type: str
  prune:
    description:
      - Also delete the tenant's custom policies outside the set (RV(extra)) whose ids match O(prune_pattern), after
        the set is uploaded, what extends another first (RV(pruned)). Nothing is pruned when an upload fails.
      - The list of policies gives ids only, so pruning reads every policy outside the set, in parallel, to learn its
        base before any write. It refuses, before any write, to delete a policy that a policy of the set or a policy
        it keeps extends.
      - Only with O(state=present).
    type: bool
    default: false
  prune_pattern:
    description:
      - Required with O(prune) (there is no default that could delete another team's policies). A shell-style
        pattern like O(pattern), matched against policy ids ignoring case, as B2C compares them, for example
        V(B2C_1A_Contoso_*).
      - Only policies outside the set that match it are deleted; the set's own policies never are.
    type: str
  rollback:
    description:
      - When B2C refuses an upload half-way (or one gets no answer), put the tenant back as it was before the run,
        then fail. Each policy this run replaced is uploaded again as the exact copy the tenant held (the run read it
        to compare), bases first; then each policy this run created is deleted, what extends another first.
        RV(rolled_back) lists them, and C(msg) carries B2C's refusal and what was rolled back. The uploads of the
        refused policy's level that were under way complete first.
      - If the rollback itself is refused, the task fails saying which version each policy is in now (V(new),
        V(previous) or V(unknown)) and what to do.
      - V(false) leaves what this run uploaded before the refusal in place (a new base under old relying parties, for
        example); a second run then uploads only what is still different.
      - O(prune) runs only after every upload succeeded and is not rolled back. Only with O(state=present); a
        deletion of O(state=absent) is not rolled back either (keep O(backup) to put policies back).
    type: bool
    default: true
  backup:
    description:
      - Save the tenant's copy of every policy this run replaces or deletes (O(prune) and O(state=absent) included)
        to O(backup_dir) before the write, and return in RV(backup_files) the files of the policies it did replace or
        delete. New policies need none.
      - A backup that cannot be written stops the task before the write it protects. Nothing is written in check
        mode.
    type: bool
    default: false
  backup_dir:
    description:
      - The directory of the backups, on the host that runs the module; required with O(backup). Created with mode
        0700 when missing; each file gets mode 0600 and the name C(<policy id>.<YYYY-MM-DD@HH-MM-SS>.xml), the time
        of the run (Ansible's backup time stamp with V(-) for V(:), so that Windows and SMB shares accept it).
      - The backups of a run that stopped before replacing a policy are removed again, so a directory given to one
        run holds exactly what a restore needs.
    type: path
  parallel:
    description: How many policies are read at the same time.
    type: int
    default: 8
  parallel_uploads:
    description:
      - How many uploads (or deletions) of one level run at the same time.
      - V(1), the default, writes one policy at a time, as every public B2C deployment tool does. More is an opt-in
        that is unproven on real tenants - nothing public shows that concurrent uploads into one tenant are safe -
        which makes a first deployment faster.
    type: int
    default: 1
seealso:
  - module: entra.b2c.b2c_policy
  - module: entra.b2c.b2c_policy_info
  - name: Keys, then policies (user guide chapter)
    description: Deploying IEF custom policies with this collection, with a worked example.
    link: https://github.com/entra-b2c/entra.b2c/blob/main/docs/policies.md
"""

EXAMPLES = r"""
- name: Deploy a directory of finished policy files, bases first, only what changed
  entra.b2c.b2c_policies:
    path: build/contoso
    tenant_id: contoso.onmicrosoft.com
    client_id: "{{ b2c_client_id }}"
    client_secret: "{{ b2c_client_secret }}"
  register: deployed

- name: Show what was uploaded, in order
  ansible.builtin.debug:
    var: deployed.uploaded

- name: Every template of a directory, rendered for this tenant (what the entra.b2c.ief_tenant role does)
  entra.b2c.b2c_policies:
    policies: >-
      {%- set rendered = namespace(items=[]) -%}
      {%- for file in query('ansible.builtin.fileglob', 'policies/*.xml') | sort -%}
      {%-   set rendered.items = rendered.items + [{'content': lookup('ansible.builtin.template', file), 'source': file}] -%}
      {%- endfor -%}
      {{ rendered.items }}

- name: Templates rendered in the task, each named after its template in messages
  entra.b2c.b2c_policies:
    policies:
      - content: "{{ lookup('ansible.builtin.template', 'policies/TrustFrameworkBase.xml') }}"
        source: policies/TrustFrameworkBase.xml
      - content: "{{ lookup('ansible.builtin.template', 'policies/TrustFrameworkExtensions.xml') }}"
        source: policies/TrustFrameworkExtensions.xml
      - content: "{{ lookup('ansible.builtin.template', 'policies/SignUpOrSignin.xml') }}"
        source: policies/SignUpOrSignin.xml
    reupload_dependents: true

- name: Deploy, delete our team's policies that are no longer in the directory, and keep a backup of what changes
  entra.b2c.b2c_policies:
    path: build/contoso
    prune: true
    prune_pattern: B2C_1A_Contoso_*
    backup: true
    backup_dir: /var/backups/b2c-policies
  register: deployed

- name: Put back every policy that run replaced or deleted (its backups are listed bases first)
  entra.b2c.b2c_policy:
    path: "{{ item }}"
  loop: "{{ deployed.backup_files }}"

- name: A release in a directory of its own, which the set's own module restores in one task
  entra.b2c.b2c_policies:
    path: build/contoso
    backup: true
    backup_dir: "/var/backups/b2c-policies/{{ release }}"

- name: Put that release's backups back, ordered by inheritance, only what differs
  entra.b2c.b2c_policies:
    path: "/var/backups/b2c-policies/{{ release }}"

- name: A new version beside the live one (B2C caches a policy up to 30 minutes) - B2C_1A_V2_SignUpOrSignin and so on
  entra.b2c.b2c_policies:
    path: build/contoso
    id_prefix: V2_

- name: Once the applications use the V2_ policies, the previous version goes (the set's own policies never do)
  entra.b2c.b2c_policies:
    path: build/contoso
    id_prefix: V2_
    prune: true
    prune_pattern: B2C_1A_Contoso_*

- name: Leave what was uploaded before a refusal in place (no rollback)
  entra.b2c.b2c_policies:
    path: build/contoso
    rollback: false

- name: A starter pack as downloaded - yourtenant from tenant_id, the IEF app ids from settings
  entra.b2c.b2c_policies:
    path: starterpack/SocialAndLocalAccounts
    tenant_id: contoso.onmicrosoft.com
    settings:
      IdentityExperienceFrameworkAppId: "{{ ief_app_id }}"
      ProxyIdentityExperienceFrameworkAppId: "{{ proxy_ief_app_id }}"

- name: A repository kept for the B2C VS Code extension, its Test environment
  entra.b2c.b2c_policies:
    path: b2c-policies
    appsettings: b2c-policies/appsettings.json
    environment: Test

- name: Policies after the task that creates their key sets (check mode predicts them before the sets exist)
  entra.b2c.b2c_policies:
    path: build/contoso
    ensured_keysets: [TokenSigningKeyContainer, TokenEncryptionKeyContainer]

- name: Remove a whole set, relying parties first
  entra.b2c.b2c_policies:
    path: build/contoso
    state: absent

# What a run would upload, with a diff of each policy (credentials from AZURE_* environment variables):
#   ansible localhost -m entra.b2c.b2c_policies -a "path=build/contoso" --check --diff
# What a prune would delete:
#   ansible localhost -m entra.b2c.b2c_policies -a "path=build/contoso prune=true prune_pattern=B2C_1A_Contoso_*" --check
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
    - One entry per policy of the set, in upload order (level by level, ids sorted within a level); with
      O(state=absent) in deletion order.
  returned: always
  type: list
  elements: dict
  contains:
    policy:
      description:
        - The policy id as the file spells it (with O(state=absent), as the tenant lists it), with O(id_prefix)
          inserted when given.
      type: str
      sample: B2C_1A_TrustFrameworkExtensions
    source:
      description: Where the policy came from - its file, O(policies[].source), or C(policies[N]).
      type: str
      sample: build/contoso/TrustFrameworkExtensions.xml
    level:
      description: Its level in the set's inheritance order; 0 for a policy whose base is outside the set, or none.
      type: int
      sample: 2
    base_policy:
      description: The C(BasePolicy) id, V(null) for none.
      type: str
      sample: B2C_1A_TrustFrameworkLocalization
    keysets:
      description: The key sets the policy references through C(StorageReferenceId), in document order.
      type: list
      elements: str
    changed:
      description: Whether this policy was (in check mode, would be) uploaded or deleted.
      type: bool
    reason:
      description:
        - V(new), V(changed), V(unchanged), V(base_changed) (uploaded only for O(reupload_dependents)); with
          O(state=absent) V(deleted) or V(absent); V(not_attempted) for a policy a failure of an earlier level
          stopped.
      type: str
      sample: unchanged
    replication_wait:
      description:
        - Seconds the upload waited for B2C to make a key set created moments ago usable for policies (see
          O(ensured_keysets)).
      type: float
      returned: when the upload waited
    failed:
      description: True for a policy the service refused.
      type: bool
      returned: when the service refused this policy
    msg:
      description: The service's refusal - code, message, request id.
      type: str
      returned: when the service refused this policy
levels:
  description: The whole set in upload order - a list of levels, each a list of policy ids, sorted.
  returned: always
  type: list
  elements: list
  sample: [[B2C_1A_TrustFrameworkBase], [B2C_1A_TrustFrameworkExtensions], [B2C_1A_PasswordReset, B2C_1A_SignUpOrSignin]]
uploaded:
  description:
    - The ids uploaded in this run, in the order of their levels (check mode - would be). After a failure, what was
      uploaded before it.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [B2C_1A_TrustFrameworkExtensions]
deleted:
  description: The ids deleted in this run, dependents first (check mode - would be).
  returned: when O(state=absent)
  type: list
  elements: str
extra:
  description:
    - The tenant's custom policies outside the set, as the service spells their ids, sorted (drift). From the
      tenant's list of ids; it costs no read.
  returned: always
  type: list
  elements: str
  sample: [B2C_1A_Contoso_OldSignIn, B2C_1A_Fabrikam_SignIn]
pruned:
  description:
    - The policies of RV(extra) that O(prune) deleted in this run (check mode - would delete), what extends another
      first. Empty without O(prune) and when an upload failed.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [B2C_1A_Contoso_OldSignIn]
backup_files:
  description:
    - The backups of the policies this run replaced or deleted (O(backup)), in an order that puts them back bases
      first - the policies it replaced, then those it deleted. A policy the run did not get to (a refusal, a level
      not attempted) has none. Empty in check mode.
    - After a rollback they hold what the tenant holds again.
  returned: always
  type: list
  elements: str
  sample: [/var/backups/b2c-policies/B2C_1A_Contoso_Extensions.2026-12-07@10-41-09.xml]
rolled_back:
  description:
    - The policies O(rollback) put back (uploaded again as the tenant's copy from before the run) or deleted (created
      by this run), in the order it did so - bases first, then what the run created, what extends another first.
    - Empty when the task failed before any upload landed, and with O(rollback=false).
  returned: when an upload of O(state=present) failed
  type: list
  elements: str
  sample: [B2C_1A_Contoso_Base, B2C_1A_Contoso_NewSignIn]
"""

from ansible_collections.entra.b2c.plugins.module_utils._policies.flow import (
    BACKUP_SPEC,
    PARALLEL_SPEC,
    ROLLBACK_SPEC,
    UPLOAD_SPEC,
    deploy_set,
)
from ansible_collections.entra.b2c.plugins.module_utils._core.module import GraphModule
from ansible_collections.entra.b2c.plugins.module_utils._policies.keysets import ENSURED_SPEC
from ansible_collections.entra.b2c.plugins.module_utils._policies.settings import SETTINGS_SPEC


MODULE_SPEC = dict(
    argument_spec=dict(
        path=dict(type="path"),
        pattern=dict(type="str", default="*.xml"),
        recursive=dict(type="bool", default=True),
        policies=dict(type="list", elements="dict", options=dict(
            path=dict(type="path"),
            content=dict(type="str"),
            source=dict(type="str"),
        )),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        reupload_dependents=dict(type="bool", default=True),
        prune=dict(type="bool", default=False),
        prune_pattern=dict(type="str"),
        id_prefix=dict(type="str"),
        **ROLLBACK_SPEC,
        **BACKUP_SPEC,
        **PARALLEL_SPEC,
        **UPLOAD_SPEC,
        **SETTINGS_SPEC,
        **ENSURED_SPEC,
    ),
    mutually_exclusive=[("path", "policies")],
    required_one_of=[("path", "policies")],
    supports_check_mode=True,
)


# The flow the module runs, in a module process (main) or in the controller's worker (the action plugin).
FLOW = deploy_set


def main():
    GraphModule(**MODULE_SPEC).run(FLOW)


if __name__ == "__main__":
    main()
