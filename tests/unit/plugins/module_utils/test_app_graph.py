# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""AppGraph against a scripted session: the upserts by alternate key (what they send, 201 and 204), the read by
uniqueName, and grants through post_once (a lost answer or a 409 read, never a second grant)."""

from __future__ import annotations

import json

import pytest
import requests
from ansible_collections.entra.b2c.plugins.module_utils._apps.api import (
    APP_READ_HINT,
    APP_WRITE_HINT,
    GRANT_HINT,
    AppGraph,
)
from ansible_collections.entra.b2c.plugins.module_utils._core.graph import GraphClient, GraphError


class Answer:
    def __init__(self, status, body=None):
        self.status_code = status
        self.headers = {"request-id": "rid"}
        self.content = b"" if body is None else json.dumps(body).encode()
        self.reason = "reason"
        self._body = body

    def json(self):
        if self._body is None:
            raise ValueError("no body")
        return self._body

    def iter_content(self, chunk_size=1):
        yield from (self.content[start:start + chunk_size] for start in range(0, len(self.content), chunk_size))

    def close(self):
        pass


def error(status, code="Request_BadRequest", message="no"):
    return Answer(status, {"error": {"code": code, "message": message}})


class Session:
    request_timeout = 1.0

    def __init__(self, *script):
        self.script = list(script)
        self.calls = []
        self.headers = []

    def request(self, method, url, data=None, headers=None, **_options):
        self.calls.append((method, url.split("/beta", 1)[1], json.loads(data) if data else None))
        self.headers.append(dict(headers or {}))
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


class Tokens:
    can_refresh = False
    cloud = type("Cloud", (), {"name": "global", "graph_root": "https://graph.microsoft.com"})()

    @staticmethod
    def token():
        return "t"


def graph(*script):
    session = Session(*script)
    sleeps = []
    return AppGraph(GraphClient(session, "https://graph.example", Tokens(), sleep=sleeps.append, rand=lambda: 1.0)), session


APP = {"id": "o1", "appId": "a1", "displayName": "IdentityExperienceFramework"}


def test_lookup_filters_by_display_name_quoted_and_encoded():
    apps, session = graph(Answer(200, {"value": [APP]}))
    assert apps.applications_named("O'Brien app") == [APP]
    method, path, _body = session.calls[0]
    assert method == "GET" and path == "/applications?$filter=displayName%20eq%20%27O%27%27Brien%20app%27"


UNIQUE = "entra-b2c-identityexperienceframework-8e2d0a88"
GRANT = {"id": "g1", "clientId": "sp1", "consentType": "AllPrincipals", "resourceId": "sp2", "scope": "openid"}
GRANT_BODY = {key: GRANT[key] for key in ("clientId", "consentType", "resourceId", "scope")}


# ---- applications and service principals: upsert by alternate key -------------------------------------------------
def test_the_upsert_creates_with_the_preference_and_returns_the_new_app():
    apps, session = graph(Answer(201, APP))
    assert apps.upsert_application(UNIQUE, {"displayName": "IdentityExperienceFramework"}) == APP
    assert session.calls == [
        ("PATCH", f"/applications(uniqueName='{UNIQUE}')", {"displayName": "IdentityExperienceFramework"})]
    assert session.headers[0]["Prefer"] == "create-if-missing"
    # the client's own headers are sent as before
    assert (session.headers[0]["Content-Type"], session.headers[0]["Authorization"]) == ("application/json", "Bearer t")


def test_the_upsert_of_an_existing_app_answers_none_to_read_it_then():
    apps, _session = graph(Answer(204))
    assert apps.upsert_application(UNIQUE, {"displayName": "IdentityExperienceFramework"}) is None


def test_a_lost_upsert_answer_is_sent_again_and_lands_once():
    # PATCH is idempotent: sent again, the upsert meets what the first attempt made (204) and the flow reads it
    apps, session = graph(requests.exceptions.ReadTimeout("no answer"), Answer(204))
    assert apps.upsert_application(UNIQUE, {"displayName": "X"}) is None
    assert [call[0] for call in session.calls] == ["PATCH", "PATCH"]
    assert [headers["Prefer"] for headers in session.headers] == ["create-if-missing"] * 2


def test_the_read_by_unique_name_is_a_key_read_and_404_is_none():
    apps, session = graph(Answer(200, APP), error(404, "Request_ResourceNotFound"))
    assert apps.application_by_unique_name(UNIQUE) == APP
    assert apps.application_by_unique_name("o'b c") is None
    assert [call[:2] for call in session.calls] == [
        ("GET", f"/applications(uniqueName='{UNIQUE}')"), ("GET", "/applications(uniqueName='o%27%27b%20c')")]
    assert "Prefer" not in session.headers[0]


def test_a_unique_name_held_elsewhere_says_what_to_do():
    apps, _session = graph(error(400, "Request_BadRequest",
                                 "Another object with the same value for property uniqueName already exists."))
    with pytest.raises(GraphError) as refused:
        apps.upsert_application(UNIQUE, {"displayName": "IdentityExperienceFramework"})
    text = str(refused.value)
    assert f"uniqueName {UNIQUE}" in text and "Deleted applications" in text and "another display name" in text


def test_the_service_principal_upsert_by_app_id():
    sp = {"id": "sp1", "appId": "a1", "displayName": "IdentityExperienceFramework"}
    apps, session = graph(Answer(201, sp), Answer(204))
    assert apps.upsert_service_principal("a1", "IdentityExperienceFramework") == sp
    assert apps.upsert_service_principal("a1", "IdentityExperienceFramework") is None
    assert session.calls == [
        ("PATCH", "/servicePrincipals(appId='a1')", {"displayName": "IdentityExperienceFramework"})] * 2
    assert [headers["Prefer"] for headers in session.headers] == ["create-if-missing"] * 2


# ---- grants: post_once --------------------------------------------------------------------------------------------
def test_a_second_grant_refused_409_returns_the_existing_one():
    # two runs at once: the other's grant landed first; this one's POST is refused and the grant read, not made twice
    apps, session = graph(error(409, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists."),
                          Answer(200, {"value": [GRANT]}))
    assert apps.create_grant(GRANT_BODY) == GRANT
    assert [call[:2] for call in session.calls] == [
        ("POST", "/oauth2PermissionGrants"), ("GET", "/oauth2PermissionGrants?$filter=clientId%20eq%20%27sp1%27")]


def test_a_grant_create_without_answer_is_read_and_never_sent_again():
    apps, session = graph(requests.exceptions.ReadTimeout("no answer"), Answer(200, {"value": [GRANT]}))
    assert apps.create_grant(GRANT_BODY) == GRANT
    assert [call[0] for call in session.calls] == ["POST", "GET"]


def test_an_answered_5xx_grant_is_read_then_sent_again_only_when_nothing_landed():
    apps, session = graph(error(500, "generalException"), Answer(200, {"value": []}), Answer(201, GRANT))
    assert apps.create_grant(GRANT_BODY) == GRANT
    assert [call[0] for call in session.calls] == ["POST", "GET", "POST"]


@pytest.mark.parametrize("call, hint", [
    (lambda apps: apps.patch_application("o1", {"web": {}}), APP_WRITE_HINT),
    (lambda apps: apps.upsert_application(UNIQUE, {"displayName": "X"}), APP_WRITE_HINT),
    (lambda apps: apps.upsert_service_principal("a1", "X"), APP_WRITE_HINT),
    (lambda apps: apps.application_by_unique_name(UNIQUE), APP_READ_HINT),
    (lambda apps: apps.grants_of("sp1"), GRANT_HINT),
])
def test_403_names_the_permission(call, hint):
    apps, _session = graph(error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."))
    with pytest.raises(GraphError) as refused:
        call(apps)
    assert refused.value.hint == hint and hint in str(refused.value)
