# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for the pure IEF app layer (plugins/module_utils/_apps/ief_apps.py)."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.entra.b2c.plugins.module_utils._apps.ief_apps import (
    GRAPH_APP_ID,
    GRAPH_SCOPE_IDS,
    PROXY_REDIRECT_URI,
    AppsError,
    app_facts,
    apply_patch,
    check_options,
    graph_scope_ids,
    ief_create_body,
    pick_app,
    plan_grant,
    plan_ief,
    plan_proxy,
    proxy_create_body,
    redirect_uri,
    tenant_name,
    user_impersonation,
)

IEF_APP_ID = "11111111-1111-1111-1111-111111111111"
SCOPE_ID = "22222222-2222-2222-2222-222222222222"
OTHER_SCOPE = "33333333-3333-3333-3333-333333333333"


def created(body, app_id=IEF_APP_ID, object_id="obj-1"):
    """An app as Graph answers a create of `body` (no application ID URI yet)."""
    app = {"id": object_id, "appId": app_id, "identifierUris": [], "signInAudience": "AzureADandPersonalMicrosoftAccount",
           "isFallbackPublicClient": None, "web": {"redirectUris": [], "implicitGrantSettings": {}},
           "publicClient": {"redirectUris": []}, "api": {"oauth2PermissionScopes": []}, "requiredResourceAccess": []}
    app.update(copy.deepcopy(body))
    return app


# ---- input -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("domain, tenant_id, expected", [
    (None, "contoso.onmicrosoft.com", "contoso"),
    (None, "Contoso.OnMicrosoft.com", "contoso"),
    ("fabrikam", "8a2f1c3d-0000-4000-8000-000000000000", "fabrikam"),
    ("fabrikam.onmicrosoft.com", "contoso.onmicrosoft.com", "fabrikam"),
])
def test_tenant_name_from_domain_or_tenant_id(domain, tenant_id, expected):
    assert tenant_name(domain, tenant_id) == expected


@pytest.mark.parametrize("domain, tenant_id, words", [
    (None, "8a2f1c3d-0000-4000-8000-000000000000", "tenant_domain: required when tenant_id is a GUID"),
    (None, None, "tenant_domain: required when tenant_id is not given"),
    ("login.contoso.com", None, "tenant_domain: 'login.contoso.com' is not a B2C tenant domain"),
    (None, "contoso.example.org", "tenant_id: 'contoso.example.org' is not a B2C tenant domain"),
])
def test_tenant_name_refusals_say_what_to_give(domain, tenant_id, words):
    with pytest.raises(AppsError, match=words):
        tenant_name(domain, tenant_id)


def test_redirect_uri_is_the_tutorials():
    assert redirect_uri("contoso") == "https://contoso.b2clogin.com/contoso.onmicrosoft.com"


@pytest.mark.parametrize("args, words", [
    (("", "Proxy", None, None), "identity_experience_framework_name: must not be empty"),
    (("Same", "same", None, None), "both 'Same'"),
    (("A", "B", "not-a-guid", None), "identity_experience_framework_app_id: 'not-a-guid' is not an application"),
    (("A", "B", None, "x"), "proxy_identity_experience_framework_app_id: 'x'"),
    (("A", "B", IEF_APP_ID, IEF_APP_ID.upper()), "are the same id"),
])
def test_options_are_checked(args, words):
    with pytest.raises(AppsError, match=words):
        check_options(*args)
    check_options("IdentityExperienceFramework", "ProxyIdentityExperienceFramework", IEF_APP_ID, None)


# ---- finding -----------------------------------------------------------------------------------------------------------
def test_pick_app_by_name_none_one_or_refuses_two_naming_both():
    one = {"id": "o1", "appId": "a1", "displayName": "IdentityExperienceFramework"}
    two = {"id": "o2", "appId": "a2", "displayName": "identityexperienceframework"}
    assert pick_app([], "IdentityExperienceFramework", None, "opt") is None
    assert pick_app([one], "IdentityExperienceFramework", None, "opt") is one
    with pytest.raises(AppsError) as refused:
        pick_app([one, two], "IdentityExperienceFramework", None, "identity_experience_framework_app_id")
    text = str(refused.value)
    assert "2 applications are named 'IdentityExperienceFramework'" in text
    assert "appId a1 (object id o1)" in text and "appId a2 (object id o2)" in text
    assert "identity_experience_framework_app_id" in text


def test_pick_app_by_given_id_must_exist():
    app = {"id": "o1", "appId": IEF_APP_ID, "displayName": "Renamed"}
    assert pick_app([app], "IdentityExperienceFramework", IEF_APP_ID.upper(), "opt") is app
    with pytest.raises(AppsError, match=f"opt: no application with appId {IEF_APP_ID}"):
        pick_app([], "IdentityExperienceFramework", IEF_APP_ID, "opt")


# ---- shapes and plans ----------------------------------------------------------------------------------------------
def test_graph_scope_ids_prefer_the_tenants_service_principal():
    assert graph_scope_ids(None) == GRAPH_SCOPE_IDS
    sp = {"oauth2PermissionScopes": [{"value": "openid", "id": "x-openid"}, {"value": "User.Read", "id": "u"}]}
    assert graph_scope_ids(sp) == {"openid": "x-openid", "offline_access": GRAPH_SCOPE_IDS["offline_access"]}


def test_ief_create_body_is_the_tutorials_shape():
    body = ief_create_body("IdentityExperienceFramework", "contoso", SCOPE_ID, GRAPH_SCOPE_IDS)
    assert body["signInAudience"] == "AzureADMyOrg"
    assert body["web"] == {"redirectUris": ["https://contoso.b2clogin.com/contoso.onmicrosoft.com"]}
    (scope,) = body["api"]["oauth2PermissionScopes"]
    assert (scope["id"], scope["value"], scope["isEnabled"]) == (SCOPE_ID, "user_impersonation", True)
    assert scope["adminConsentDisplayName"] == "Access IdentityExperienceFramework"
    assert body["requiredResourceAccess"] == [{"resourceAppId": GRAPH_APP_ID, "resourceAccess": [
        {"id": GRAPH_SCOPE_IDS["openid"], "type": "Scope"}, {"id": GRAPH_SCOPE_IDS["offline_access"], "type": "Scope"}]}]


def test_a_new_ief_app_then_needs_only_its_application_id_uri():
    app = created(ief_create_body("IdentityExperienceFramework", "contoso", SCOPE_ID, GRAPH_SCOPE_IDS))
    body, changes = plan_ief(app, "IdentityExperienceFramework", "contoso", OTHER_SCOPE, GRAPH_SCOPE_IDS)
    assert body == {"identifierUris": [f"api://{IEF_APP_ID}"]}
    assert changes == [f"application ID URI api://{IEF_APP_ID} set"]
    done = apply_patch(app, body)
    assert plan_ief(done, "IdentityExperienceFramework", "contoso", OTHER_SCOPE, GRAPH_SCOPE_IDS) == ({}, [])


def test_ief_drift_is_repaired_with_only_that_change_and_the_rest_kept():
    app = created(ief_create_body("IdentityExperienceFramework", "contoso", SCOPE_ID, GRAPH_SCOPE_IDS))
    app["identifierUris"] = ["https://contoso.onmicrosoft.com/IdentityExperienceFramework"]  # an older tool's URI: kept
    app["web"] = {"redirectUris": ["https://jwt.ms"], "implicitGrantSettings": {"enableIdTokenIssuance": True},
                  "redirectUriSettings": [{"uri": "https://jwt.ms", "index": None}]}
    body, changes = plan_ief(app, "IdentityExperienceFramework", "contoso", OTHER_SCOPE, GRAPH_SCOPE_IDS)
    # the whole web value is sent, with the other URI and the implicit grant settings kept (beta's redirectUriSettings,
    # which repeats the URIs, left out)
    assert body == {"web": {"redirectUris": ["https://jwt.ms", redirect_uri("contoso")],
                            "implicitGrantSettings": {"enableIdTokenIssuance": True}}}
    assert changes == [f"web redirect URI {redirect_uri('contoso')} added"]


def test_ief_missing_scope_and_graph_permission_are_added_others_kept():
    app = created({"displayName": "IdentityExperienceFramework", "signInAudience": "AzureADMyOrg",
                   "identifierUris": [f"api://{IEF_APP_ID}"], "web": {"redirectUris": [redirect_uri("contoso")]},
                   "api": {"oauth2PermissionScopes": [{"id": "s-read", "value": "read", "isEnabled": True}]},
                   "requiredResourceAccess": [{"resourceAppId": GRAPH_APP_ID, "resourceAccess": [
                       {"id": GRAPH_SCOPE_IDS["openid"], "type": "Scope"}, {"id": "role-x", "type": "Role"}]}]})
    body, changes = plan_ief(app, "IdentityExperienceFramework", "contoso", OTHER_SCOPE, GRAPH_SCOPE_IDS)
    assert [scope["value"] for scope in body["api"]["oauth2PermissionScopes"]] == ["read", "user_impersonation"]
    assert body["api"]["oauth2PermissionScopes"][1]["id"] == OTHER_SCOPE
    assert body["requiredResourceAccess"][0]["resourceAccess"] == [
        {"id": GRAPH_SCOPE_IDS["openid"], "type": "Scope"}, {"id": "role-x", "type": "Role"},
        {"id": GRAPH_SCOPE_IDS["offline_access"], "type": "Scope"}]
    assert changes == ["scope user_impersonation added", "Microsoft Graph permission(s) offline_access added"]
    assert set(body) == {"api", "requiredResourceAccess"}


def test_a_disabled_user_impersonation_is_enabled_not_duplicated():
    scope = {"id": SCOPE_ID, "value": "user_impersonation", "isEnabled": False, "type": "Admin"}
    app = created(ief_create_body("IdentityExperienceFramework", "contoso", SCOPE_ID, GRAPH_SCOPE_IDS))
    app["identifierUris"] = [f"api://{IEF_APP_ID}"]
    app["api"]["oauth2PermissionScopes"] = [scope]
    body, changes = plan_ief(app, "IdentityExperienceFramework", "contoso", OTHER_SCOPE, GRAPH_SCOPE_IDS)
    assert body == {"api": {"oauth2PermissionScopes": [dict(scope, isEnabled=True)]}}
    assert changes == ["scope user_impersonation enabled"]
    assert user_impersonation(apply_patch(app, body))["id"] == SCOPE_ID


def test_proxy_create_body_and_a_second_plan_changes_nothing():
    body = proxy_create_body("ProxyIdentityExperienceFramework", IEF_APP_ID, SCOPE_ID, GRAPH_SCOPE_IDS)
    assert (body["isFallbackPublicClient"], body["publicClient"]) == (True, {"redirectUris": [PROXY_REDIRECT_URI]})
    expected = {"resourceAppId": IEF_APP_ID, "resourceAccess": [{"id": SCOPE_ID, "type": "Scope"}]}
    assert body["requiredResourceAccess"][0] == expected
    assert plan_proxy(created(body, app_id="p"), IEF_APP_ID, SCOPE_ID, GRAPH_SCOPE_IDS) == ({}, [])


def test_proxy_drift_public_client_redirect_and_ief_permission():
    app = created(proxy_create_body("ProxyIdentityExperienceFramework", IEF_APP_ID, SCOPE_ID, GRAPH_SCOPE_IDS), app_id="p")
    app["isFallbackPublicClient"] = False
    app["publicClient"] = {"redirectUris": []}
    app["requiredResourceAccess"] = app["requiredResourceAccess"][1:]
    body, changes = plan_proxy(app, IEF_APP_ID, SCOPE_ID, GRAPH_SCOPE_IDS)
    assert body["isFallbackPublicClient"] is True and body["publicClient"] == {"redirectUris": [PROXY_REDIRECT_URI]}
    assert [entry["resourceAppId"] for entry in body["requiredResourceAccess"]] == [GRAPH_APP_ID, IEF_APP_ID]
    assert changes == ["public client flows allowed (isFallbackPublicClient)",
                       f"public client redirect URI {PROXY_REDIRECT_URI} added",
                       "IdentityExperienceFramework permission user_impersonation added"]


# ---- admin consent -----------------------------------------------------------------------------------------------------
def test_plan_grant_create_extend_or_nothing():
    assert plan_grant([], "c", "r", ["openid", "offline_access"]) == ("create", {
        "clientId": "c", "consentType": "AllPrincipals", "resourceId": "r", "scope": "openid offline_access"})
    partial = [{"id": "g1", "clientId": "c", "resourceId": "r", "consentType": "AllPrincipals", "scope": "User.Read openid"}]
    assert plan_grant(partial, "c", "r", ["openid", "offline_access"]) == ("patch", ("g1", "User.Read openid offline_access"))
    full = [{"id": "g1", "clientId": "C", "resourceId": "R", "consentType": "AllPrincipals", "scope": "offline_access openid"}]
    assert plan_grant(full, "c", "r", ["openid", "offline_access"]) == (None, None)
    # a user's own consent is not admin consent
    user = [dict(full[0], consentType="Principal", principalId="u1")]
    assert plan_grant(user, "c", "r", ["openid"])[0] == "create"


def test_app_facts_hold_public_fields_only():
    app = created(ief_create_body("IdentityExperienceFramework", "contoso", SCOPE_ID, GRAPH_SCOPE_IDS))
    app["passwordCredentials"] = [{"secretText": "never"}]
    facts = app_facts(app)
    assert "never" not in repr(facts)
    assert facts["user_impersonation_scope_id"] == SCOPE_ID and facts["web_redirect_uris"] == [redirect_uri("contoso")]
    assert app_facts(None) is None
