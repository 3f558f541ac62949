# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""b2c_ief_apps end to end: the two IEF app registrations from an empty tenant (check mode first, a lost create
answer on the way), a second run that writes nothing, drift repaired with only that change, refusals."""

from __future__ import annotations

import requests
from conftest import TENANT_APP
from emulator.apps import GRAPH_APP_ID, GRAPH_SCOPES
from policy_helpers import tenant_connection

IEF, PROXY = "IdentityExperienceFramework", "ProxyIdentityExperienceFramework"
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def apps_task(name="apps", **args) -> dict:
    return {"name": name, "entra.b2c.b2c_ief_apps": args, "ignore_errors": True}


def directory(control) -> dict:
    return control.directory()


def writes(control) -> list:
    return [(entry["method"], entry["route"]) for entry in control.requests()
            if entry["method"] in WRITES and entry["route"] != "token"]


def graph_call(ansible, method, path, body=None):
    """A direct Graph request as the tenant app (to make drift the module must repair)."""
    emulator = ansible.emulator
    token = emulator.control.access_token(client_id=TENANT_APP["client_id"])
    response = requests.request(method, f"{emulator.url}/beta{path}", json=body, headers={"Authorization": f"Bearer {token}"},
                                verify=emulator.ca_path, timeout=30)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def test_empty_tenant_check_create_with_lost_answer_again_drift_and_twins(ansible, control):
    domain = ansible.emulator.tenant_domain
    name = domain.split(".")[0]
    task = apps_task(tenant_domain=domain)
    defaults = tenant_connection(ansible)

    # check mode with diff: both apps predicted, nothing written
    run = ansible.playbook([task], defaults=defaults, check=True, diff=True)
    result = run.result("apps")
    assert run.task("apps")["status"] == "ok", run.output[-3000:]
    assert result["changed"] is True
    assert (result["identity_experience_framework_app_id"], result["proxy_identity_experience_framework_app_id"]) == (None, None)
    assert result["identity_experience_framework"]["changes"][0] == "application created"
    assert len(result["admin_consent_changes"]) == 3
    assert result["diff"]["after"]["proxy_identity_experience_framework"]["public_client_redirect_uris"] == ["myapp://auth"]
    assert writes(control) == [] and directory(control)["applications"] == []

    # for real, the answer to the first app's create lost after it landed; then the same again, by the ids it returned
    control.add_fault("applications.create", [{"commit": True, "drop": True}], keyset=IEF)
    control.clear_requests()
    by_id = apps_task("again", tenant_domain=domain, identity_experience_framework_name="Ignored when an id is given",
                      identity_experience_framework_app_id="{{ created.identity_experience_framework_app_id }}",
                      proxy_identity_experience_framework_app_id="{{ created.proxy_identity_experience_framework_app_id }}")
    run = ansible.playbook([dict(task, register="created"), by_id], defaults=defaults)
    first, again = run.result("apps"), run.result("again")
    assert run.task("apps")["status"] == "ok", run.output[-3000:]
    assert first["changed"] is True and again["changed"] is False
    assert control.state()["faults"] == []  # the lost answer happened
    ief_id, proxy_id = first["identity_experience_framework_app_id"], first["proxy_identity_experience_framework_app_id"]
    assert (again["identity_experience_framework_app_id"], again["proxy_identity_experience_framework_app_id"]) == (ief_id, proxy_id)
    assert again["identity_experience_framework"]["display_name"] == IEF  # found by id: its own name
    # one POST per object (the lost one was read, not resent), one PATCH (the application ID URI), and nothing more:
    # the second run wrote nothing
    assert sorted(writes(control)) == sorted([("POST", "applications.create")] * 2 + [("PATCH", "applications.patch")]
                                             + [("POST", "servicePrincipals.create")] * 2 + [("POST", "grants.create")] * 3)

    # the shapes, as the tenant holds them
    state = directory(control)
    apps = {app["displayName"]: app for app in state["applications"]}
    assert sorted(apps) == [IEF, PROXY]
    ief, proxy = apps[IEF], apps[PROXY]
    assert ief["appId"] == ief_id and proxy["appId"] == proxy_id
    assert ief["signInAudience"] == proxy["signInAudience"] == "AzureADMyOrg"
    assert ief["web"]["redirectUris"] == [f"https://{name}.b2clogin.com/{name}.onmicrosoft.com"]
    assert ief["identifierUris"] == [f"api://{ief_id}"]
    (scope,) = ief["api"]["oauth2PermissionScopes"]
    expected_scope = ("user_impersonation", True, f"Access {IEF}")
    assert (scope["value"], scope["isEnabled"], scope["adminConsentDisplayName"]) == expected_scope
    graph_access = {"resourceAppId": GRAPH_APP_ID, "resourceAccess": [{"id": GRAPH_SCOPES[value], "type": "Scope"}
                                                                      for value in ("openid", "offline_access")]}
    assert ief["requiredResourceAccess"] == [graph_access]
    assert proxy["isFallbackPublicClient"] is True and proxy["publicClient"]["redirectUris"] == ["myapp://auth"]
    assert proxy["web"]["redirectUris"] == []
    assert proxy["requiredResourceAccess"] == [
        {"resourceAppId": ief_id, "resourceAccess": [{"id": scope["id"], "type": "Scope"}]}, graph_access]
    sps = {sp["appId"]: sp["id"] for sp in state["servicePrincipals"]}
    assert set(sps) == {GRAPH_APP_ID, ief_id, proxy_id}
    grants = {(grant["clientId"], grant["resourceId"]): (grant["consentType"], grant["scope"])
              for grant in state["oauth2PermissionGrants"]}
    assert grants == {
        (sps[ief_id], sps[GRAPH_APP_ID]): ("AllPrincipals", "openid offline_access"),
        (sps[proxy_id], sps[GRAPH_APP_ID]): ("AllPrincipals", "openid offline_access"),
        (sps[proxy_id], sps[ief_id]): ("AllPrincipals", "user_impersonation"),
    }

    # drift: the redirect URI removed and a grant narrowed; two apps share a name the next task asks for
    graph_call(ansible, "PATCH", f"/applications/{ief['id']}", {"web": {"redirectUris": []}})
    narrowed = next(grant for grant in state["oauth2PermissionGrants"] if grant["clientId"] == sps[proxy_id]
                    and grant["resourceId"] == sps[GRAPH_APP_ID])
    graph_call(ansible, "PATCH", f"/oauth2PermissionGrants/{narrowed['id']}", {"scope": "openid"})
    twins = [graph_call(ansible, "POST", "/applications", {"displayName": "Twin"}) for _twin in range(2)]
    control.clear_requests()
    run = ansible.playbook([task, apps_task("twins", tenant_domain=domain, proxy_identity_experience_framework_name="Twin")],
                           defaults=defaults, diff=True)
    repaired, refused = run.result("apps"), run.result("twins")
    assert repaired["changed"] is True, run.output[-3000:]
    assert repaired["identity_experience_framework"]["changes"] == [
        f"web redirect URI https://{name}.b2clogin.com/{name}.onmicrosoft.com added"]
    assert repaired["proxy_identity_experience_framework"]["changes"] == []
    assert repaired["admin_consent_changes"] == [f"{PROXY} -> Microsoft Graph: openid offline_access granted"]
    assert repaired["diff"]["before"]["identity_experience_framework"]["web_redirect_uris"] == []
    assert writes(control) == [("PATCH", "applications.patch"), ("PATCH", "grants.patch")]
    assert run.task("twins")["status"] == "failed"
    assert "2 applications are named 'Twin'" in refused["msg"]
    for twin in twins:
        assert f"appId {twin['appId']} (object id {twin['id']})" in refused["msg"]
    assert len(directory(control)["applications"]) == 4  # the two IEF apps and the twins: nothing made


def test_refusals_before_any_request_and_the_missing_permission_named(ansible, control):
    weak = control.register_app(permissions=["TrustFrameworkKeySet.ReadWrite.All"])
    run = ansible.playbook([
        apps_task("no_domain"),
        apps_task("bad_id", tenant_domain="contoso.onmicrosoft.com", identity_experience_framework_app_id="IEF"),
        apps_task("weak", tenant_domain="contoso.onmicrosoft.com", client_id=weak["client_id"],
                  client_secret=weak["client_secret"]),
    ], defaults=tenant_connection(ansible))
    assert "tenant_domain: required when tenant_id is a GUID" in run.result("no_domain")["msg"]
    assert "identity_experience_framework_app_id: 'IEF' is not an application (client) id" in run.result("bad_id")["msg"]
    weak_msg = run.result("weak")["msg"]
    assert "HTTP 403" in weak_msg and "Application.Read.All" in weak_msg, weak_msg
    # the two refusals made no request: the only token asked for is the weak app's
    tokens = [entry["client_id"] for entry in control.requests() if entry["route"] == "token"]
    assert tokens == [weak["client_id"]]
