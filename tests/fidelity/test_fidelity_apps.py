# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Graph /applications, /servicePrincipals and /oauth2PermissionGrants: what the emulator answers, against Microsoft's
documentation and what public tools show (the "Applications" table of tests/emulator/README.md)."""

from __future__ import annotations

import threading
from typing import Any, Iterator

import pytest
import requests
from emulator import Emulator
from emulator.__main__ import READY_APP_PERMISSIONS, parse_args
from emulator.apps import (
    APPLICATION_READ_ALL,
    APPLICATION_READ_WRITE_ALL,
    APPLICATION_READ_WRITE_OWNED_BY,
    DIRECTORY_READ_ALL,
    GRANT_READ_WRITE_ALL,
    GRAPH_APP_ID,
    GRAPH_SCOPES,
)
from fidelity_helpers import READ_WRITE, graph_error


class Directory:
    """requests against /beta/{applications,servicePrincipals,oauth2PermissionGrants} with a token of given roles."""

    def __init__(self, emulator: Any, *roles: str) -> None:
        self.emulator = emulator
        self.token = emulator.control.access_token(roles=list(roles))
        self.session = requests.Session()

    def request(self, method: str, path: str, body: Any = None, token: str | None = None,
                headers: dict | None = None) -> requests.Response:
        return self.session.request(method, f"{self.emulator.url}/beta{path}", json=body, verify=self.emulator.ca_path,
                                    headers={"Authorization": f"Bearer {token or self.token}", **(headers or {})},
                                    timeout=30)

    def upsert(self, path: str, body: Any) -> requests.Response:
        return self.request("PATCH", path, body, headers=CREATE_IF_MISSING)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        response = self.request(method, path, body)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None


CREATE_IF_MISSING = {"Prefer": "create-if-missing"}


@pytest.fixture
def directory(emulator) -> Iterator[Directory]:
    client = Directory(emulator, APPLICATION_READ_WRITE_ALL, GRANT_READ_WRITE_ALL)
    yield client
    client.session.close()


def test_create_answers_ids_and_the_body(directory):
    body = {"displayName": "IdentityExperienceFramework", "signInAudience": "AzureADMyOrg",
            "web": {"redirectUris": ["https://t.b2clogin.com/t.onmicrosoft.com"]}}
    app = directory.ok("POST", "/applications", body)
    assert app["id"] != app["appId"] and len(app["appId"]) == 36
    assert app["web"]["redirectUris"] == ["https://t.b2clogin.com/t.onmicrosoft.com"] and app["identifierUris"] == []
    assert directory.ok("GET", f"/applications/{app['id']}")["appId"] == app["appId"]
    missing = directory.request("POST", "/applications", {"signInAudience": "AzureADMyOrg"})
    assert missing.status_code == 400 and graph_error(missing)["code"] == "Request_BadRequest"


def test_filter_by_display_name_ignores_case_and_two_apps_may_share_a_name(directory):
    first = directory.ok("POST", "/applications", {"displayName": "Twin"})
    second = directory.ok("POST", "/applications", {"displayName": "Twin"})
    found = directory.ok("GET", "/applications?$filter=displayName eq 'twin'")["value"]
    assert sorted(app["id"] for app in found) == sorted([first["id"], second["id"]])
    assert [app["id"] for app in directory.ok("GET", f"/applications?$filter=appId eq '{first['appId']}'")["value"]] == [first["id"]]
    bad = directory.request("GET", "/applications?$filter=startswith(displayName,'T')")
    assert bad.status_code == 400 and graph_error(bad)["code"] == "Request_BadRequest"


def test_patch_replaces_a_complex_value_whole(directory):
    app = directory.ok("POST", "/applications", {"displayName": "A", "web": {
        "redirectUris": ["https://a"], "implicitGrantSettings": {"enableIdTokenIssuance": True, "enableAccessTokenIssuance": False}}})
    response = directory.request("PATCH", f"/applications/{app['id']}", {"web": {"redirectUris": ["https://a", "https://b"]}})
    assert response.status_code == 204 and not response.content
    web = directory.ok("GET", f"/applications/{app['id']}")["web"]
    assert web["redirectUris"] == ["https://a", "https://b"]
    assert web["implicitGrantSettings"]["enableIdTokenIssuance"] is False  # not sent: reset


def test_an_enabled_scope_cannot_be_removed(directory):
    scope = {"id": "11111111-1111-1111-1111-111111111111", "value": "user_impersonation", "type": "Admin", "isEnabled": True}
    app = directory.ok("POST", "/applications", {"displayName": "A", "api": {"oauth2PermissionScopes": [scope]}})
    removed = directory.request("PATCH", f"/applications/{app['id']}", {"api": {"oauth2PermissionScopes": []}})
    assert removed.status_code == 400
    disabled = dict(scope, isEnabled=False)
    directory.ok("PATCH", f"/applications/{app['id']}", {"api": {"oauth2PermissionScopes": [disabled]}})
    directory.ok("PATCH", f"/applications/{app['id']}", {"api": {"oauth2PermissionScopes": []}})


def test_identifier_uris_are_unique(directory):
    directory.ok("POST", "/applications", {"displayName": "A", "identifierUris": ["api://same"]})
    taken = directory.request("POST", "/applications", {"displayName": "B", "identifierUris": ["api://SAME"]})
    assert taken.status_code == 400 and "identifierUris" in graph_error(taken)["message"]


def test_service_principal_once_per_app(directory):
    app = directory.ok("POST", "/applications", {"displayName": "A"})
    sp = directory.request("POST", "/servicePrincipals", {"appId": app["appId"]})
    assert sp.status_code == 201 and sp.json()["appId"] == app["appId"]
    again = directory.request("POST", "/servicePrincipals", {"appId": app["appId"]})
    assert again.status_code == 409 and graph_error(again)["code"] == "Request_MultipleObjectsWithSameKeyValue"
    unknown = directory.request("POST", "/servicePrincipals", {"appId": "99999999-9999-9999-9999-999999999999"})
    assert unknown.status_code == 400


def test_graph_service_principal_in_every_tenant(emulator, directory):
    for _round in range(2):  # and again after a reset
        (graph,) = directory.ok("GET", f"/servicePrincipals?$filter=appId eq '{GRAPH_APP_ID}'")["value"]
        scopes = {scope["value"]: scope["id"] for scope in graph["oauth2PermissionScopes"]}
        assert scopes == GRAPH_SCOPES == {"openid": "37f7f235-527c-4136-accd-4a02d197296e",
                                          "offline_access": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182"}
        emulator.control.reset()


def test_service_principal_publishes_its_apps_scopes(directory):
    scope = {"id": "11111111-1111-1111-1111-111111111111", "value": "user_impersonation", "type": "Admin", "isEnabled": True}
    app = directory.ok("POST", "/applications", {"displayName": "A", "api": {"oauth2PermissionScopes": [scope]}})
    directory.ok("PATCH", f"/applications/{app['id']}", {"identifierUris": [f"api://{app['appId']}"]})
    sp = directory.ok("POST", "/servicePrincipals", {"appId": app["appId"]})
    assert [item["value"] for item in sp["oauth2PermissionScopes"]] == ["user_impersonation"]
    assert sp["servicePrincipalNames"] == [app["appId"], f"api://{app['appId']}"]


def _two_principals(directory):
    app = directory.ok("POST", "/applications", {"displayName": "A"})
    client = directory.ok("POST", "/servicePrincipals", {"appId": app["appId"]})
    (graph,) = directory.ok("GET", f"/servicePrincipals?$filter=appId eq '{GRAPH_APP_ID}'")["value"]
    return client, graph


def test_grant_once_per_client_and_resource(directory):
    client, graph = _two_principals(directory)
    body = {"clientId": client["id"], "consentType": "AllPrincipals", "resourceId": graph["id"], "scope": "openid"}
    created = directory.request("POST", "/oauth2PermissionGrants", body)
    assert created.status_code == 201 and created.json()["scope"] == "openid"
    again = directory.request("POST", "/oauth2PermissionGrants", body)
    assert again.status_code == 409 and graph_error(again)["message"] == "Permission entry already exists."
    with_principal = directory.request("POST", "/oauth2PermissionGrants", dict(body, principalId=client["id"]))
    assert with_principal.status_code == 400
    listed = directory.ok("GET", f"/oauth2PermissionGrants?$filter=clientId eq '{client['id']}'")["value"]
    assert [grant["id"] for grant in listed] == [created.json()["id"]]


def test_grant_scope_is_updated(directory):
    client, graph = _two_principals(directory)
    grant = directory.ok("POST", "/oauth2PermissionGrants", {"clientId": client["id"], "consentType": "AllPrincipals",
                                                             "resourceId": graph["id"], "scope": "openid"})
    response = directory.request("PATCH", f"/oauth2PermissionGrants/{grant['id']}", {"scope": "openid offline_access"})
    assert response.status_code == 204
    assert directory.ok("GET", f"/oauth2PermissionGrants/{grant['id']}")["scope"] == "openid offline_access"


@pytest.mark.parametrize("roles, method, path, allowed", [
    ([APPLICATION_READ_ALL], "GET", "/applications", True),
    ([DIRECTORY_READ_ALL], "GET", "/servicePrincipals", True),
    ([READ_WRITE], "GET", "/applications", False),
    ([APPLICATION_READ_ALL], "POST", "/applications", False),
    ([APPLICATION_READ_WRITE_OWNED_BY], "POST", "/applications", True),
    ([DIRECTORY_READ_ALL], "GET", "/oauth2PermissionGrants", True),
    ([APPLICATION_READ_WRITE_ALL], "GET", "/oauth2PermissionGrants", False),
    ([APPLICATION_READ_WRITE_ALL], "POST", "/oauth2PermissionGrants", False),
    ([GRANT_READ_WRITE_ALL], "POST", "/oauth2PermissionGrants", True),
    ([APPLICATION_READ_ALL], "PATCH", "/applications(uniqueName='u')", False),
    ([APPLICATION_READ_WRITE_OWNED_BY], "PATCH", "/applications(uniqueName='u')", True),
    ([APPLICATION_READ_ALL], "GET", "/applications(uniqueName='u')", True),
    ([READ_WRITE], "GET", "/applications(uniqueName='u')", False),
    ([APPLICATION_READ_ALL], "PATCH", "/servicePrincipals(appId='a')", False),
    ([APPLICATION_READ_WRITE_ALL], "PATCH", "/servicePrincipals(appId='a')", True),
])
def test_permissions_of_each_route(emulator, roles, method, path, allowed):
    client = Directory(emulator, *roles)
    body = {"displayName": "A"} if path.startswith("/applications") else {}
    response = client.request(method, path, body if method in ("POST", "PATCH") else None, headers=CREATE_IF_MISSING)
    if allowed:
        assert response.status_code != 403, response.text
    else:
        assert response.status_code == 403 and graph_error(response)["code"] == "Authorization_RequestDenied"


def test_owned_by_reaches_only_own_apps(emulator, directory):
    other = directory.ok("POST", "/applications", {"displayName": "Not mine"})
    owned_by = Directory(emulator, APPLICATION_READ_WRITE_OWNED_BY)
    mine = owned_by.ok("POST", "/applications", {"displayName": "Mine"})
    assert owned_by.request("PATCH", f"/applications/{mine['id']}", {"notes": "x"}).status_code == 204
    refused = owned_by.request("PATCH", f"/applications/{other['id']}", {"notes": "x"})
    assert refused.status_code == 403 and graph_error(refused)["code"] == "Authorization_RequestDenied"


def test_faults_target_a_create_and_state_shows_the_directory(emulator, directory):
    emulator.control.add_fault("applications.create", [{"commit": True, "status": 500}], keyset="Target")
    assert directory.request("POST", "/applications", {"displayName": "Other"}).status_code == 201
    assert directory.request("POST", "/applications", {"displayName": "Target"}).status_code == 500
    state = emulator.control.state()["directory"]
    assert sorted(app["displayName"] for app in state["applications"]) == ["Other", "Target"]  # committed, then failed
    assert [sp["appId"] for sp in state["servicePrincipals"]] == [GRAPH_APP_ID]
    log = [(entry["route"], entry["object"], entry["status"]) for entry in emulator.control.requests()]
    assert log == [("applications.create", "Other", 201), ("applications.create", "Target", 500)]
    emulator.control.reset()
    assert emulator.control.state()["directory"]["applications"] == []


def test_lists_page_keeping_the_filter(emulator, directory):
    for _app in range(3):
        directory.ok("POST", "/applications", {"displayName": "Paged"})
    directory.ok("POST", "/applications", {"displayName": "Other"})
    emulator.control.configure(page_size=2)
    page = directory.ok("GET", "/applications?$filter=displayName eq 'Paged'")
    assert len(page["value"]) == 2 and "$filter=" in page["@odata.nextLink"]
    rest = directory.ok("GET", page["@odata.nextLink"].split("/beta", 1)[1])
    assert [app["displayName"] for app in rest["value"]] == ["Paged"] and "@odata.nextLink" not in rest


def test_ready_app_of_the_cli_carries_every_permission():
    args = parse_args([])
    permissions = [name for name in args.permissions.split(",") if name]
    assert permissions == list(READY_APP_PERMISSIONS)
    assert {"TrustFrameworkKeySet.ReadWrite.All", "Policy.ReadWrite.TrustFramework", APPLICATION_READ_WRITE_ALL,
            GRANT_READ_WRITE_ALL} <= set(permissions)
    with Emulator(permissions=permissions) as emu:
        ready = Directory(emu)
        ready.token = emu.control.access_token(client_id=emu.client_id)
        for path in ("/applications", "/oauth2PermissionGrants"):
            assert ready.request("GET", path).status_code == 200
        response = ready.session.get(f"{emu.url}/beta/trustFramework/policies", verify=emu.ca_path,
                                     headers={"Authorization": f"Bearer {ready.token}"}, timeout=30)
        assert response.status_code == 200


# ---- upsert by alternate key (A17-A22) ---------------------------------------------------------------------------
def test_upsert_creates_once_then_updates(directory):
    created = directory.upsert("/applications(uniqueName='ief-1')",
                               {"displayName": "IEF", "signInAudience": "AzureADMyOrg"})
    assert created.status_code == 201, created.text
    app = created.json()
    assert app["uniqueName"] == "ief-1" and app["displayName"] == "IEF" and app["signInAudience"] == "AzureADMyOrg"
    assert len(app["appId"]) == 36 and app["id"] != app["appId"]
    again = directory.upsert("/applications(uniqueName='ief-1')", {"displayName": "IEF renamed"})
    assert again.status_code == 204 and not again.content
    read = directory.ok("GET", "/applications(uniqueName='ief-1')")
    assert (read["id"], read["displayName"], read["signInAudience"]) == (app["id"], "IEF renamed", "AzureADMyOrg")
    assert [item["id"] for item in directory.ok("GET", "/applications")["value"]] == [app["id"]]


def test_upsert_without_the_preference_only_updates(directory):
    missing = directory.request("PATCH", "/applications(uniqueName='nobody')", {"displayName": "A"})
    assert missing.status_code == 404 and graph_error(missing)["code"] == "Request_ResourceNotFound"
    assert directory.ok("GET", "/applications")["value"] == []
    assert directory.upsert("/applications(uniqueName='somebody')", {"displayName": "A"}).status_code == 201
    updated = directory.request("PATCH", "/applications(uniqueName='somebody')", {"displayName": "B", "notes": "n"})
    assert updated.status_code == 204
    assert directory.ok("GET", "/applications(uniqueName='somebody')")["notes"] == "n"
    unknown = directory.request("GET", "/applications(uniqueName='nobody')")
    assert unknown.status_code == 404 and graph_error(unknown)["code"] == "Request_ResourceNotFound"


def test_upsert_needs_a_display_name(directory):
    for body in ({}, {"displayName": ""}, {"signInAudience": "AzureADMyOrg"}):
        refused = directory.upsert("/applications(uniqueName='u')", body)
        assert refused.status_code == 400 and graph_error(refused)["code"] == "Request_BadRequest", body
    assert directory.ok("GET", "/applications")["value"] == []


def test_unique_name_is_set_once_and_unique(directory):
    empty = directory.request("GET", "/applications?$filter=uniqueName eq 'taken'")
    assert empty.status_code == 400, empty.text  # refused even with no app to compare
    app = directory.ok("POST", "/applications", {"displayName": "A", "uniqueName": "taken"})
    assert app["uniqueName"] == "taken"
    twin = directory.request("POST", "/applications", {"displayName": "B", "uniqueName": "TAKEN"})
    assert twin.status_code == 400 and "uniqueName" in graph_error(twin)["message"]
    changed = directory.request("PATCH", f"/applications/{app['id']}", {"uniqueName": "other"})
    assert changed.status_code == 400 and "uniqueName" in graph_error(changed)["message"]
    plain = directory.ok("POST", "/applications", {"displayName": "C"})
    assert plain["uniqueName"] is None
    set_later = directory.request("PATCH", f"/applications/{plain['id']}", {"uniqueName": "late"})
    assert set_later.status_code == 400
    renamed = directory.upsert("/applications(uniqueName='taken')", {"displayName": "A", "uniqueName": "other"})
    assert renamed.status_code == 400
    assert directory.ok("GET", "/applications(uniqueName='taken')")["id"] == app["id"]
    not_filterable = directory.request("GET", "/applications?$filter=uniqueName eq 'taken'")
    assert not_filterable.status_code == 400 and graph_error(not_filterable)["code"] == "Request_BadRequest"


def _at_once(emulator: Any, count: int, path: str, body: dict) -> list:
    """The same upsert from `count` clients (a connection each) released together; their answers."""
    clients = [Directory(emulator, APPLICATION_READ_WRITE_ALL) for _client in range(count)]
    barrier = threading.Barrier(count)
    answers: list = [None] * count

    def send(index: int) -> None:
        barrier.wait()
        answers[index] = clients[index].upsert(path, body)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for client in clients:
        client.session.close()
    return answers


def test_concurrent_upserts_make_one_application(emulator):
    answers = _at_once(emulator, 8, "/applications(uniqueName='race')", {"displayName": "Race"})
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [204] * 7, statuses
    apps = emulator.control.state()["directory"]["applications"]
    assert [(app["displayName"], app["uniqueName"]) for app in apps] == [("Race", "race")]
    log = [(entry["route"], entry["object"]) for entry in emulator.control.requests()]
    assert log == [("applications.upsert", "race")] * 8


def test_service_principal_upsert_by_app_id(directory):
    app = directory.ok("POST", "/applications", {"displayName": "A"})
    path = f"/servicePrincipals(appId='{app['appId']}')"
    missing = directory.request("PATCH", path, {"displayName": "A"})
    assert missing.status_code == 404 and graph_error(missing)["code"] == "Request_ResourceNotFound"
    nameless = directory.upsert(path, {})
    assert nameless.status_code == 400 and graph_error(nameless)["code"] == "Request_BadRequest"
    created = directory.upsert(path, {"displayName": "A"})
    assert created.status_code == 201 and created.json()["appId"] == app["appId"], created.text
    assert created.json()["displayName"] == "A"
    again = directory.upsert(path, {"displayName": "A again"})
    assert again.status_code == 204 and not again.content
    listed = directory.ok("GET", f"/servicePrincipals?$filter=appId eq '{app['appId']}'")["value"]
    assert [(sp["id"], sp["displayName"]) for sp in listed] == [(created.json()["id"], "A again")]
    no_app = directory.upsert("/servicePrincipals(appId='99999999-9999-9999-9999-999999999999')", {"displayName": "X"})
    assert no_app.status_code == 400


def test_concurrent_service_principal_upserts_make_one(emulator, directory):
    app = directory.ok("POST", "/applications", {"displayName": "A"})
    answers = _at_once(emulator, 6, f"/servicePrincipals(appId='{app['appId']}')", {"displayName": "A"})
    assert sorted(answer.status_code for answer in answers) == [201] + [204] * 5
    sps = [sp for sp in emulator.control.state()["directory"]["servicePrincipals"] if sp["appId"] == app["appId"]]
    assert len(sps) == 1
