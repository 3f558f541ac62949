# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The checks of a policy run before its first write: same tenant, permission, the limit of custom policies."""

from __future__ import annotations

import types

import pytest

from ansible_collections.entra.b2c.plugins.module_utils._core.context import RunContext
from ansible_collections.entra.b2c.plugins.module_utils._core.errors import UserError
from ansible_collections.entra.b2c.plugins.module_utils._policies.preflight import (
    MAX_CUSTOM_POLICIES,
    check_before_writes,
    limit_problem,
    policies_after,
)

TENANT = "4a7c1f0e-2b3d-4e5f-8a9b-0c1d2e3f4a5b"
OTHER = "9f8e7d6c-5b4a-4321-8fed-cba987654321"


def policy(policy_id: str, tenant: str = "contoso.onmicrosoft.com", base_tenant: str | None = None):
    return types.SimpleNamespace(policy_id=policy_id, tenant_id=tenant, base_tenant_id=base_tenant,
                                 label=f"{policy_id} ({policy_id[7:]}.xml)")


class FakeRun:
    def __init__(self, tenant_id, token_tenant=TENANT, domains=None, roles=("Policy.ReadWrite.TrustFramework",)):
        self.tenant_id, self.token_tenant, self.domains = tenant_id, token_tenant, domains or {}
        self.roles, self.asked, self.needed = list(roles), [], []

    def connect(self):
        return types.SimpleNamespace(tenant=self.tenant_id)

    def credential_tenant_id(self):
        return TENANT if self.tenant_id == TENANT else self.token_tenant

    tenant_problem = RunContext.tenant_problem  # the real rule, over this fake's tenant and discovery

    def tenant_id_of(self, domain):
        self.asked.append(domain)
        return self.domains.get(domain)

    def require_permissions(self, needed, what):
        self.needed.append((tuple(permission.name for permission in needed), what))
        if not all(permission.held_by(self.roles) for permission in needed):
            raise UserError(f"lacks {needed[0].name}")


def test_the_count_after_a_run_adds_new_uploads_and_takes_deletions_away():
    listed = [f"B2C_1A_P{index}" for index in range(10)]
    assert policies_after(listed, ["b2c_1a_p1", "B2C_1A_New"], ["B2C_1A_P2", "B2C_1A_P3"]) == 9


def test_past_the_limit_is_refused_and_at_it_is_not():
    listed = [f"B2C_1A_P{index}" for index in range(MAX_CUSTOM_POLICIES - 1)]
    assert limit_problem(listed, ["B2C_1A_New"], []) is None
    refused = limit_problem(listed, ["B2C_1A_New", "B2C_1A_Newer"], [])
    assert refused.startswith("the tenant would hold 201 custom policies after this run (199 now, 2 new), more than "
                              "the 200 B2C allows; nothing was written")
    assert limit_problem(listed, ["B2C_1A_New", "B2C_1A_Newer"], ["B2C_1A_P0"]) is None  # pruned in the same run


def test_a_guid_tenant_id_resolves_the_files_domain_and_refuses_another_tenant():
    run = FakeRun(TENANT, domains={"fabrikam.onmicrosoft.com": OTHER})
    with pytest.raises(UserError) as refused:
        check_before_writes(run, [policy("B2C_1A_Base", "Fabrikam.onmicrosoft.com")], [], [])
    assert str(refused.value).startswith("B2C_1A_Base (Base.xml) names the tenant fabrikam.onmicrosoft.com (%s), but the "
                                         "credential signs in to tenant %s; nothing was written" % (OTHER, TENANT))
    assert run.needed == []  # refused before the permission check needs the token


def test_the_same_tenant_passes_with_one_discovery_per_domain():
    run = FakeRun(TENANT, domains={"contoso.onmicrosoft.com": TENANT})
    check_before_writes(run, [policy("B2C_1A_Base"), policy("B2C_1A_Ext", base_tenant="contoso.onmicrosoft.com")], [],
                        [])
    assert run.asked == ["contoso.onmicrosoft.com"]
    assert run.needed == [(("Policy.ReadWrite.TrustFramework",), "uploading and deleting custom policies")]


def test_a_domain_tenant_id_needs_no_discovery_and_a_run_without_writes_no_check():
    run = FakeRun("contoso.onmicrosoft.com")
    check_before_writes(run, [policy("B2C_1A_Base", "fabrikam.onmicrosoft.com")], [], [])
    assert run.asked == []  # compared locally when the files were loaded
    idle = FakeRun(TENANT, roles=())
    check_before_writes(idle, [], [], [])
    assert idle.asked == [] and idle.needed == []


def test_an_unknown_domain_is_refused_and_a_missing_permission_too():
    with pytest.raises(UserError, match="which the authority does not know"):
        check_before_writes(FakeRun(TENANT), [policy("B2C_1A_Base", "nowhere.onmicrosoft.com")], [], [])
    with pytest.raises(UserError, match="lacks Policy.ReadWrite.TrustFramework"):
        check_before_writes(FakeRun(TENANT, domains={"contoso.onmicrosoft.com": TENANT}, roles=("Policy.Read.All",)),
                            [], ["B2C_1A_Old"], [])
