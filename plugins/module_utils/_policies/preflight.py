# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The checks a policy run makes after its reads and before its first write, in check mode too: the tenant the files
name is the credential's, the token may write policies, and the tenant stays within B2C's limit of custom policies.

Internal use only: this module may change without notice.

B2C itself refuses a policy of another tenant ("TenantId in the policy xml ... is not same as ..."), but only at the
upload, after whatever the run wrote before (key sets, app registrations, the set's first levels). A task whose
tenant_id is a domain name is compared with each TenantId locally (_policies/policy.py); here the rest: a tenant_id
given as a GUID, or no tenant_id at all (a ready access token), resolved through the tenant's OpenID discovery.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ansible_collections.entra.b2c.plugins.module_utils._core.context import RunContext
from ansible_collections.entra.b2c.plugins.module_utils._core.errors import UserError
from ansible_collections.entra.b2c.plugins.module_utils._core.identity import Permission, is_guid
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import Policy, policy_key

POLICY_WRITE = Permission("Policy.ReadWrite.TrustFramework")
# Service limits: custom policies per tenant.
MAX_CUSTOM_POLICIES = 200


def policies_after(listed: Iterable[str], uploaded: Iterable[str], deleted: Iterable[str]) -> int:
    """How many custom policies the tenant holds after a run: those listed now and the new uploads, less deletions."""
    after = {policy_key(policy_id) for policy_id in listed} | {policy_key(policy_id) for policy_id in uploaded}
    return len(after - {policy_key(policy_id) for policy_id in deleted})


def limit_problem(listed: Sequence[str], uploaded: Sequence[str], deleted: Sequence[str]) -> str | None:
    """The refusal when the run would take the tenant past MAX_CUSTOM_POLICIES; None otherwise (pure)."""
    count = policies_after(listed, uploaded, deleted)
    if count <= MAX_CUSTOM_POLICIES:
        return None
    new = policies_after([], uploaded, listed)
    return (f"the tenant would hold {count} custom policies after this run ({len(set(map(policy_key, listed)))} now, "
            f"{new} new), more than the {MAX_CUSTOM_POLICIES} B2C allows; nothing was written: delete or prune "
            f"policies the tenant no longer uses first (b2c_policy state=absent, or prune with prune_pattern)")


def check_before_writes(run: RunContext, uploads: Sequence[Policy], deletes: Sequence[str],
                        listed: Sequence[str] | None = None) -> None:
    """Refuse the run before its first write (in check mode too, where the plan would write) when the files name
    another tenant, the token lacks the policy permission, or the tenant would pass its limit of custom policies.
    `listed`: the tenant's custom policy ids, when the run read them (None: the limit is not checked)."""
    if not uploads and not deletes:
        return
    if uploads:
        check_same_tenant(run, uploads)
    if listed is not None:
        problem = limit_problem(listed, [policy.policy_id for policy in uploads], deletes)
        if problem:
            raise UserError(problem)
    run.require_permissions([POLICY_WRITE], "uploading and deleting custom policies")


def check_same_tenant(run: RunContext, policies: Sequence[Policy]) -> None:
    """Each domain the policies name in TenantId belongs to the credential's tenant, when the task's tenant_id cannot
    show it by itself (a GUID, or none with a ready token); one discovery request per domain."""
    task_tenant = run.connect().tenant
    if task_tenant and not is_guid(task_tenant):
        return  # a domain name: compared with every TenantId when the files were loaded
    named: dict = {}
    for policy in policies:
        for value in (policy.tenant_id, policy.base_tenant_id):
            if value and not is_guid(value):
                named.setdefault(value.strip().lower(), policy.label)
    for domain, where in named.items():
        problem = run.tenant_problem(domain, where)
        if problem:
            raise UserError(problem)
