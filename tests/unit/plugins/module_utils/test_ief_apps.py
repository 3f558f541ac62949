# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for the pure IEF app layer (plugins/module_utils/_apps/ief_apps.py) and the branches of its flow
(plugins/module_utils/_apps/flow.py) over a fake Graph: created (201), made a moment earlier by another run (204, then
read), found by name (patched by object id), found by uniqueName, check mode."""

from __future__ import annotations

import copy
import re
import types

import pytest
from ansible_collections.entra.b2c.plugins.module_utils._apps.api import AppGraph
from ansible_collections.entra.b2c.plugins.module_utils._apps.flow import ensure_ief_apps
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
    unique_name,
    user_impersonation,
)
from ansible_collections.entra.b2c.plugins.module_utils._core.context import RunContext
from ansible_collections.entra.b2c.plugins.module_utils._core.errors import TaskFailed

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


# ---- the uniqueName of a created app ------------------------------------------------------------------------------
def test_unique_name_is_stable_plain_and_tells_apart_what_a_slug_would_confuse():
    assert unique_name("IdentityExperienceFramework") == "entra-b2c-identityexperienceframework-8e2d0a88"
    assert unique_name("IDENTITYEXPERIENCEFRAMEWORK") == unique_name("IdentityExperienceFramework")  # names ignore case
    assert unique_name("IEF App") != unique_name("ief-app") != unique_name("IEF  App")
    for name in ("IEF App", "Système IEF", "O'Brien (prod)/2", "!!!", "x" * 300, "ProxyIdentityExperienceFramework"):
        value = unique_name(name)
        assert re.fullmatch(r"entra-b2c-[a-z0-9]+(-[a-z0-9]+)*-[0-9a-f]{8}", value), value
        assert len(value) <= 59, value
    assert unique_name("!!!").startswith("entra-b2c-app-")


# ---- the flow's branches, over a fake Graph -------------------------------------------------------------------------
IEF_NAME, PROXY_NAME = "IdentityExperienceFramework", "ProxyIdentityExperienceFramework"
GRAPH_SP = {"id": "sp-graph", "appId": GRAPH_APP_ID, "oauth2PermissionScopes": []}
WRITES = ("upsert_application", "patch_application", "upsert_service_principal", "create_grant", "patch_grant")


class FakeGraph:
    """AppGraph's methods over an in-memory tenant, each call recorded. `made_elsewhere` maps a uniqueName to the app
    another run makes the moment before this run's upsert of it (which then answers 204)."""

    def __init__(self, apps=(), made_elsewhere=None, sp_made_elsewhere=()):
        self.apps = [copy.deepcopy(app) for app in apps]
        self.sps = [dict(GRAPH_SP)]
        self.grants = []
        self.made_elsewhere = dict(made_elsewhere or {})
        self.sp_made_elsewhere = set(sp_made_elsewhere)
        self.calls = []
        self.counter = 0

    def _new_id(self, kind):
        self.counter += 1
        return f"{kind}-{self.counter}"

    def service_principal(self, app_id):
        self.calls.append(("service_principal", app_id))
        return next((sp for sp in self.sps if sp["appId"] == app_id), None)

    def applications_named(self, name):
        self.calls.append(("applications_named", name))
        return [app for app in self.apps if app["displayName"].lower() == name.lower()]

    def applications_with_app_id(self, app_id):
        self.calls.append(("applications_with_app_id", app_id))
        return [app for app in self.apps if app["appId"] == app_id]

    def application_by_unique_name(self, key):
        self.calls.append(("application_by_unique_name", key))
        return next((copy.deepcopy(app) for app in self.apps if app.get("uniqueName") == key), None)

    def upsert_application(self, key, body):
        self.calls.append(("upsert_application", key, copy.deepcopy(body)))
        if key in self.made_elsewhere:
            self.apps.append(dict(self.made_elsewhere.pop(key), uniqueName=key))
        existing = next((app for app in self.apps if app.get("uniqueName") == key), None)
        if existing is not None:
            existing.update(copy.deepcopy(body))
            return None
        app = created(body, app_id=self._new_id("app"), object_id=self._new_id("obj"))
        app["uniqueName"] = key
        self.apps.append(app)
        return copy.deepcopy(app)

    def patch_application(self, object_id, body):
        self.calls.append(("patch_application", object_id, copy.deepcopy(body)))
        next(app for app in self.apps if app["id"] == object_id).update(copy.deepcopy(body))

    def upsert_service_principal(self, app_id, display_name):
        self.calls.append(("upsert_service_principal", app_id, display_name))
        if app_id in self.sp_made_elsewhere:
            self.sps.append({"id": self._new_id("sp"), "appId": app_id})
            return None
        sp = {"id": self._new_id("sp"), "appId": app_id, "displayName": display_name}
        self.sps.append(sp)
        return dict(sp)

    def grants_of(self, client_id):
        self.calls.append(("grants_of", client_id))
        return [dict(grant) for grant in self.grants if grant["clientId"] == client_id]

    def create_grant(self, body):
        self.calls.append(("create_grant", dict(body)))
        grant = dict(body, id=self._new_id("grant"))
        self.grants.append(grant)
        return dict(grant)

    def patch_grant(self, grant_id, scope):
        self.calls.append(("patch_grant", grant_id, scope))

    def writes(self):
        return [call for call in self.calls if call[0] in WRITES]


class Context(RunContext):
    """A run of b2c_ief_apps whose Graph is the fake."""

    def __init__(self, graph, check_mode=False, **params):
        super().__init__(dict({"identity_experience_framework_app_id": None,
                               "proxy_identity_experience_framework_app_id": None,
                               "identity_experience_framework_name": IEF_NAME,
                               "proxy_identity_experience_framework_name": PROXY_NAME,
                               "tenant_domain": None, "tenant_id": "contoso.onmicrosoft.com"}, **params),
                         check_mode=check_mode, diff=True)
        self.graph = graph
        self.roles = ["Application.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All"]
        self.tenants = {}  # domain -> tenant id, as discovery answers

    def api(self, factory):
        assert factory is AppGraph
        return self.graph

    def connect(self):
        return types.SimpleNamespace(tenant=self.params["tenant_id"])

    def claims(self):
        return {"roles": list(self.roles), "tid": TENANT_GUID, "app_displayname": "deployer"}

    def tenant_id_of(self, domain):
        return self.tenants.get(domain)


def made_by_another_run():
    """The two apps as a concurrent run's upserts make them (the same bodies this run sends)."""
    scope = "af725b58-43b6-5d43-a279-92b731f71159"  # what this run computes for contoso's IdentityExperienceFramework
    ief = created(ief_create_body(IEF_NAME, "contoso", scope, GRAPH_SCOPE_IDS), app_id="other-ief",
                  object_id="other-ief-obj")
    proxy = created(proxy_create_body(PROXY_NAME, "other-ief", scope, GRAPH_SCOPE_IDS), app_id="other-proxy",
                    object_id="other-proxy-obj")
    return {unique_name(IEF_NAME): ief, unique_name(PROXY_NAME): proxy}


def test_flow_creates_both_apps_through_the_upsert_by_their_unique_names():
    graph = FakeGraph()
    result = ensure_ief_apps(Context(graph))
    upserts = [call for call in graph.calls if call[0] == "upsert_application"]
    assert [call[1] for call in upserts] == [unique_name(IEF_NAME), unique_name(PROXY_NAME)]
    ief_body, proxy_body = upserts[0][2], upserts[1][2]
    assert ief_body["displayName"] == IEF_NAME and proxy_body["displayName"] == PROXY_NAME
    # the scope id is the same for every run of this tenant and app: two runs at once send the same scope
    scope_id = ief_body["api"]["oauth2PermissionScopes"][0]["id"]
    assert scope_id == made_by_another_run()[unique_name(IEF_NAME)]["api"]["oauth2PermissionScopes"][0]["id"]
    assert proxy_body["requiredResourceAccess"][0] == {"resourceAppId": "app-1",
                                                       "resourceAccess": [{"id": scope_id, "type": "Scope"}]}
    # then only the application ID URI, by object id, and the service principals through their upsert
    assert graph.writes()[1] == ("patch_application", "obj-2", {"identifierUris": ["api://app-1"]})
    assert [call[:2] for call in graph.writes() if call[0] == "upsert_service_principal"] == [
        ("upsert_service_principal", "app-1"), ("upsert_service_principal", "app-3")]
    assert len([call for call in graph.writes() if call[0] == "create_grant"]) == 3
    assert result["changed"] is True and result["identity_experience_framework"]["created"] is True
    assert result["identity_experience_framework"]["changes"][:2] == ["application created",
                                                                      "application ID URI api://app-1 set"]
    assert result["proxy_identity_experience_framework"]["created"] is True
    # created apps are not searched again: no look-up of their service principals or grants
    assert ("service_principal", "app-1") not in graph.calls and not any(call[0] == "grants_of" for call in graph.calls)


def test_flow_an_app_made_by_another_run_meanwhile_is_read_and_carried_on_with():
    graph = FakeGraph(made_elsewhere=made_by_another_run(), sp_made_elsewhere={"other-ief"})
    result = ensure_ief_apps(Context(graph))
    # each upsert answered 204: the app is read back by its uniqueName and what it lacks is added by its object id
    reads = [call[1] for call in graph.calls if call[0] == "application_by_unique_name"]
    assert reads == [unique_name(IEF_NAME), unique_name(PROXY_NAME)] * 2  # the look-ups, then after each 204
    patches = [call for call in graph.writes() if call[0] == "patch_application"]
    assert patches == [("patch_application", "other-ief-obj", {"identifierUris": ["api://other-ief"]})]
    ief, proxy = result["identity_experience_framework"], result["proxy_identity_experience_framework"]
    assert (result["identity_experience_framework_app_id"], result["proxy_identity_experience_framework_app_id"]) == (
        "other-ief", "other-proxy")
    assert ief["created"] is False and "application created" not in ief["changes"]
    assert ief["changes"][0] == "application ID URI api://other-ief set"
    assert proxy["created"] is False and proxy["changes"] == ["service principal created"]
    # the service principal the other run made (204) is read, not made twice; it is not reported as this run's
    assert ief["service_principal_id"] == next(sp["id"] for sp in graph.sps if sp["appId"] == "other-ief")
    assert "service principal created" not in ief["changes"]
    assert len([sp for sp in graph.sps if sp["appId"] == "other-ief"]) == 1
    # found (not created) by this run: its grants are read first
    assert [call[1] for call in graph.calls if call[0] == "grants_of"] == [ief["service_principal_id"],
                                                                           proxy["service_principal_id"]]
    assert result["diff"]["before"]["identity_experience_framework"]["app_id"] == "other-ief"


def test_flow_an_app_found_by_name_is_patched_by_object_id_and_never_given_a_unique_name():
    graph_access = [{"id": GRAPH_SCOPE_IDS[name], "type": "Scope"} for name in ("openid", "offline_access")]
    portal_made = created({"displayName": IEF_NAME, "signInAudience": "AzureADMyOrg",
                           "identifierUris": ["api://portal-ief"], "api": {"oauth2PermissionScopes": [
                               {"id": "s1", "value": "user_impersonation", "isEnabled": True}]},
                           "requiredResourceAccess": [{"resourceAppId": GRAPH_APP_ID, "resourceAccess": graph_access}]},
                          app_id="portal-ief", object_id="portal-ief-obj")
    graph = FakeGraph(apps=[portal_made])
    result = ensure_ief_apps(Context(graph))
    assert ("application_by_unique_name", unique_name(IEF_NAME)) not in graph.calls  # found by name: no more looking
    assert [call[1] for call in graph.writes() if call[0] == "upsert_application"] == [unique_name(PROXY_NAME)]
    patches = [call for call in graph.writes() if call[0] == "patch_application"]
    assert patches == [("patch_application", "portal-ief-obj",
                        {"web": {"redirectUris": [redirect_uri("contoso")], "implicitGrantSettings": {}}})]
    assert not any("uniqueName" in call[2] for call in graph.writes() if call[0] == "patch_application")
    assert result["identity_experience_framework_app_id"] == "portal-ief"
    assert result["identity_experience_framework"]["created"] is False


def test_flow_an_app_it_created_and_someone_renamed_is_found_by_unique_name_and_kept():
    renamed = made_by_another_run()[unique_name(IEF_NAME)]
    renamed.update(displayName="IEF (renamed in the portal)", uniqueName=unique_name(IEF_NAME),
                   identifierUris=["api://other-ief"])
    graph = FakeGraph(apps=[renamed])
    result = ensure_ief_apps(Context(graph))
    assert [call[1] for call in graph.writes() if call[0] == "upsert_application"] == [unique_name(PROXY_NAME)]
    assert result["identity_experience_framework_app_id"] == "other-ief"
    assert result["identity_experience_framework"]["display_name"] == "IEF (renamed in the portal)"
    assert result["identity_experience_framework"]["changes"] == ["service principal created"]


def test_flow_in_check_mode_reads_and_writes_nothing():
    graph = FakeGraph()
    result = ensure_ief_apps(Context(graph, check_mode=True))
    assert graph.writes() == []
    assert result["identity_experience_framework_app_id"] is None and result["changed"] is True
    assert result["identity_experience_framework"]["changes"][0] == "application created"
    assert len(result["admin_consent_changes"]) == 3


TENANT_GUID = "4a7c1f0e-2b3d-4e5f-8a9b-0c1d2e3f4a5b"


@pytest.mark.parametrize("check_mode", [True, False])
def test_flow_refuses_a_token_without_the_grant_permission_before_any_write(check_mode):
    graph = FakeGraph()
    context = Context(graph, check_mode=check_mode)
    context.roles = ["Application.ReadWrite.All"]
    with pytest.raises(TaskFailed) as failed:
        ensure_ief_apps(context)
    assert "deployer lacks the Microsoft Graph application permission DelegatedPermissionGrant.ReadWrite.All" in str(
        failed.value)
    assert graph.writes() == []


def test_flow_refuses_a_tenant_domain_of_another_tenant_when_tenant_id_is_a_guid():
    graph = FakeGraph()
    context = Context(graph, tenant_id=TENANT_GUID, tenant_domain="fabrikam.onmicrosoft.com")
    context.tenants = {"fabrikam.onmicrosoft.com": "9f8e7d6c-5b4a-4321-8fed-cba987654321"}
    with pytest.raises(TaskFailed, match="tenant_domain names the tenant fabrikam.onmicrosoft.com"):
        ensure_ief_apps(context)
    assert graph.writes() == []
    context = Context(FakeGraph(), tenant_id=TENANT_GUID, tenant_domain="contoso.onmicrosoft.com")
    context.tenants = {"contoso.onmicrosoft.com": TENANT_GUID}
    assert ensure_ief_apps(context)["changed"] is True


def test_flow_a_204_whose_app_cannot_be_read_says_to_run_again():
    graph = FakeGraph(made_elsewhere=made_by_another_run())
    graph.application_by_unique_name = lambda key: graph.calls.append(("application_by_unique_name", key))
    with pytest.raises(TaskFailed) as failed:
        ensure_ief_apps(Context(graph))
    assert f"application of uniqueName {unique_name(IEF_NAME)}" in str(failed.value)
    assert "run the task again" in str(failed.value)
