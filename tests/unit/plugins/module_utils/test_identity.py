# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Who a run acts as: token claims, the permission check before the first write, a domain's tenant id."""

from __future__ import annotations

import base64
import json
import types

import pytest

from ansible_collections.entra.b2c.plugins.module_utils._core.context import RunContext
from ansible_collections.entra.b2c.plugins.module_utils._core.errors import UserError
from ansible_collections.entra.b2c.plugins.module_utils._core.identity import (
    Permission,
    permission_check,
    same_tenant_problem,
    tenant_of_issuer,
    token_claims,
)

TENANT = "4a7c1f0e-2b3d-4e5f-8a9b-0c1d2e3f4a5b"
OTHER = "9f8e7d6c-5b4a-4321-8fed-cba987654321"
POLICY_WRITE = Permission("Policy.ReadWrite.TrustFramework")
APP_WRITE = Permission("Application.ReadWrite.All", also=("Application.ReadWrite.OwnedBy",))


def jwt(claims: dict) -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def test_claims_are_read_from_a_jwt_and_nothing_else():
    assert token_claims(jwt({"tid": TENANT, "roles": ["A"]})) == {"tid": TENANT, "roles": ["A"]}
    for opaque in (None, "", "not-a-jwt", "a.b", "a.!!!.c", f"x.{base64.urlsafe_b64encode(b'[1]').decode()}.y"):
        assert token_claims(opaque) == {}


def test_an_app_only_token_holding_the_permission_passes():
    assert permission_check({"roles": ["Policy.ReadWrite.TrustFramework"]}, [POLICY_WRITE], "uploads") == (None, None)
    assert permission_check({"roles": ["application.readwrite.ownedby"]}, [APP_WRITE], "apps") == (None, None)


def test_a_missing_permission_is_named_with_what_the_token_holds():
    problem, skipped = permission_check({"roles": ["Policy.Read.All"], "app_displayname": "deployer"},
                                        [POLICY_WRITE, APP_WRITE], "the policy uploads")
    assert skipped is None
    assert problem.startswith("deployer lacks the Microsoft Graph application permission Policy.ReadWrite.TrustFramework "
                              "and Application.ReadWrite.All (or Application.ReadWrite.OwnedBy) for the policy uploads, "
                              "so nothing was written")
    assert problem.endswith("(its token holds: Policy.Read.All)")


@pytest.mark.parametrize("claims, kind", [({"scp": "Policy.ReadWrite.TrustFramework"}, "a delegated token (scp)"),
                                          ({}, "a token without a roles claim")])
def test_without_roles_the_check_says_it_was_skipped(claims, kind):
    problem, skipped = permission_check(claims, [POLICY_WRITE], "uploads")
    assert problem is None and skipped.endswith(f"the run has {kind}")


def test_the_tenant_id_comes_from_the_issuer():
    assert tenant_of_issuer(f"https://login.microsoftonline.com/{TENANT.upper()}/v2.0") == TENANT
    for issuer in (None, "", "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
                   f"https://sts.windows.net/{TENANT}/"):
        assert tenant_of_issuer(issuer) is None


def test_one_tenant_passes_and_another_is_refused_naming_both():
    assert same_tenant_problem("contoso.onmicrosoft.com", TENANT, TENANT.upper(), "TenantId") is None
    refused = same_tenant_problem("fabrikam.onmicrosoft.com", OTHER, TENANT, "ief_tenant_settings.Tenant")
    assert "ief_tenant_settings.Tenant names the tenant fabrikam.onmicrosoft.com (%s)" % OTHER in refused
    assert f"the credential signs in to tenant {TENANT}; nothing was written" in refused
    unknown = same_tenant_problem("nowhere.onmicrosoft.com", None, TENANT, "TenantId")
    assert "which the authority does not know" in unknown


class FakeResponse:
    def __init__(self, status: int, body: dict | None = None):
        self.status_code = status
        self._body = body

    def json(self):
        if self._body is None:
            raise ValueError("no JSON")
        return self._body


def run_with(token: str, answers: dict, tenant_id: str | None = "contoso.onmicrosoft.com") -> tuple:
    asked: list = []

    def get(url):
        asked.append(url)
        return answers[url.split("/")[3]]

    tokens = types.SimpleNamespace(token=lambda: token, authority_host="https://login.example",
                                   http_client=types.SimpleNamespace(get=get))
    run = RunContext({})
    run._client = types.SimpleNamespace(tokens=tokens, tenant=tenant_id)  # pylint: disable=protected-access
    return run, asked


def test_a_domain_resolves_once_per_run_through_discovery():
    run, asked = run_with(jwt({}), {"contoso.onmicrosoft.com": FakeResponse(200, {
        "issuer": f"https://login.example/{TENANT}/v2.0"}), "nowhere.onmicrosoft.com": FakeResponse(400, {})})
    assert run.tenant_id_of("Contoso.onmicrosoft.com") == TENANT
    assert run.tenant_id_of("contoso.onmicrosoft.com") == TENANT
    assert run.tenant_id_of("nowhere.onmicrosoft.com") is None
    assert asked == ["https://login.example/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration",
                     "https://login.example/nowhere.onmicrosoft.com/v2.0/.well-known/openid-configuration"]


def test_discovery_that_fails_otherwise_stops_the_run():
    run, _asked = run_with(jwt({}), {"contoso.onmicrosoft.com": FakeResponse(503)})
    with pytest.raises(UserError, match="answered HTTP 503"):
        run.tenant_id_of("contoso.onmicrosoft.com")


def test_the_credential_tenant_is_tenant_id_when_a_guid_else_the_token_tid():
    assert run_with(jwt({"tid": OTHER}), {}, tenant_id=TENANT.upper())[0].credential_tenant_id() == TENANT
    assert run_with(jwt({"tid": OTHER}), {})[0].credential_tenant_id() == OTHER
    assert run_with("opaque", {}, tenant_id=None)[0].credential_tenant_id() is None


def test_require_permissions_refuses_or_warns():
    run, _asked = run_with(jwt({"roles": ["Policy.Read.All"]}), {})
    with pytest.raises(UserError, match="lacks the Microsoft Graph application permission Policy.ReadWrite"):
        run.require_permissions([POLICY_WRITE], "uploads")
    run, _asked = run_with(jwt({"scp": "x"}), {})
    run.require_permissions([POLICY_WRITE], "uploads")
    assert run.warnings == ["the permissions for uploads were not checked before the first write: the run has a "
                            "delegated token (scp)"]
