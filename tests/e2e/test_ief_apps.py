# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""b2c_ief_apps end to end: the two IEF app registrations from an empty tenant (check mode first, a lost create
answer on the way), a second run that writes nothing, drift repaired with only that change, refusals, and two runs
started together on an empty tenant (two AWX jobs of one template) that make each object once."""

from __future__ import annotations

import collections
import hashlib
import re
import threading

import requests
from conftest import TENANT_APP, Ansible
from emulator.apps import GRAPH_APP_ID, GRAPH_SCOPES
from policy_helpers import tenant_connection

IEF, PROXY = "IdentityExperienceFramework", "ProxyIdentityExperienceFramework"
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def unique_name(display_name: str) -> str:
    """The uniqueName the module's notes promise for an app it creates, computed here from that text."""
    folded = display_name.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:40].strip("-") or "app"
    return "entra-b2c-%s-%s" % (slug, hashlib.sha256(folded.encode("utf-8")).hexdigest()[:8])


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
    # not one write request of any kind: the look-ups (by name, then by uniqueName) only
    assert {entry["method"] for entry in control.requests() if entry["route"] not in ("token", "discovery")} == {"GET"}

    # for real, the answer to the first app's create lost after it landed; then the same again, by the ids it returned
    control.add_fault("applications.upsert", [{"commit": True, "drop": True}], keyset=unique_name(IEF))
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
    # one upsert per object, and the lost one sent again (an upsert lands once: the second answered 204, and the app
    # was read back), one PATCH (the application ID URI), one POST per grant, and nothing more: the second run wrote
    # nothing
    assert sorted(writes(control)) == sorted([("PATCH", "applications.upsert")] * 3 + [("PATCH", "applications.patch")]
                                             + [("PATCH", "servicePrincipals.upsert")] * 2
                                             + [("POST", "grants.create")] * 3)
    upserts = [(entry["object"], entry["status"]) for entry in control.requests()
               if entry["route"] == "applications.upsert"]
    assert upserts == [(unique_name(IEF), None), (unique_name(IEF), 204), (unique_name(PROXY), 201)]

    # the shapes, as the tenant holds them
    state = directory(control)
    apps = {app["displayName"]: app for app in state["applications"]}
    assert sorted(apps) == [IEF, PROXY]
    ief, proxy = apps[IEF], apps[PROXY]
    assert ief["appId"] == ief_id and proxy["appId"] == proxy_id
    assert (ief["uniqueName"], proxy["uniqueName"]) == (unique_name(IEF), unique_name(PROXY))
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


# How long the emulator holds requests before serving them, so that the two runs cross where a race could do harm: each
# of the first two creates of the first app is held longer than the runs start apart, so both look the apps up (and
# find none) before either create lands; then the first run's first service principal create is held, so the second
# run, which found the apps made, creates both service principals and the grants first, and the first run's creates
# of those meet objects already there.
CREATE_HOLD = 4.0
PRINCIPAL_HOLD = 3.0


def test_two_runs_started_together_make_each_app_principal_and_grant_once(ansible, control, tmp_path):
    domain = ansible.emulator.tenant_domain
    defaults = tenant_connection(ansible)
    control.add_fault("applications.upsert", [{"delay": CREATE_HOLD}] * 2, keyset=unique_name(IEF))
    control.add_fault("servicePrincipals.upsert", [{"delay": PRINCIPAL_HOLD}])
    # a second controller of its own (work directory, results), as a second AWX job would be
    runners = [ansible, Ansible(ansible.emulator, tmp_path / "second", ansible.collections)]
    (tmp_path / "second").mkdir()
    runs: list = [None, None]

    def play(index: int) -> None:
        runs[index] = runners[index].playbook([apps_task(tenant_domain=domain)], defaults=defaults)

    threads = [threading.Thread(target=play, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    for run in runs:
        assert run.rc == 0 and run.task("apps")["status"] == "ok", run.output[-3000:]
    results = [run.result("apps") for run in runs]

    # the two runs raced: each app's and each service principal's create was sent by both, one made it (201) and the
    # other's met it (204); each grant was created by one (201) and refused to the other (409), which read it instead
    statuses = collections.defaultdict(list)
    for entry in control.requests():
        if entry["route"] in ("applications.upsert", "servicePrincipals.upsert", "grants.create"):
            statuses[entry["route"]].append(entry["status"])
    assert {route: collections.Counter(found) for route, found in statuses.items()} == {
        "applications.upsert": {201: 2, 204: 2}, "servicePrincipals.upsert": {201: 2, 204: 2},
        "grants.create": {201: 3, 409: 3}}, "the two runs did not cross as planned: %s" % dict(statuses)

    # one app of each name, one service principal each, each grant once; both runs report those apps
    state = directory(control)
    apps = collections.Counter(app["displayName"] for app in state["applications"])
    assert apps == {IEF: 1, PROXY: 1}, apps
    ids = {app["displayName"]: app["appId"] for app in state["applications"]}
    for result in results:
        assert result["identity_experience_framework_app_id"] == ids[IEF]
        assert result["proxy_identity_experience_framework_app_id"] == ids[PROXY]
    sps = collections.Counter(sp["appId"] for sp in state["servicePrincipals"])
    assert sps == {GRAPH_APP_ID: 1, ids[IEF]: 1, ids[PROXY]: 1}, sps
    sp_ids = {sp["appId"]: sp["id"] for sp in state["servicePrincipals"]}
    grants = collections.Counter((grant["clientId"], grant["resourceId"], grant["scope"])
                                 for grant in state["oauth2PermissionGrants"])
    assert grants == {
        (sp_ids[ids[IEF]], sp_ids[GRAPH_APP_ID], "openid offline_access"): 1,
        (sp_ids[ids[PROXY]], sp_ids[GRAPH_APP_ID], "openid offline_access"): 1,
        (sp_ids[ids[PROXY]], sp_ids[ids[IEF]], "user_impersonation"): 1,
    }, grants
    (ief,) = [app for app in state["applications"] if app["displayName"] == IEF]
    (scope,) = ief["api"]["oauth2PermissionScopes"]
    (proxy,) = [app for app in state["applications"] if app["displayName"] == PROXY]
    assert proxy["requiredResourceAccess"][0] == {"resourceAppId": ids[IEF],
                                                  "resourceAccess": [{"id": scope["id"], "type": "Scope"}]}
    assert ief["identifierUris"] == ["api://%s" % ids[IEF]]

    # and then a run finds all of it: nothing to change, not one write
    control.clear_requests()
    again = ansible.playbook([apps_task(tenant_domain=domain)], defaults=defaults)
    assert again.result("apps")["changed"] is False, again.output[-3000:]
    assert writes(control) == []
