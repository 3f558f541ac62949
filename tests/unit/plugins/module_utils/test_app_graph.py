# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""AppGraph and GraphClient.create_once against a scripted session: a lost create answer is read, never resent."""

from __future__ import annotations

import json

import pytest
import requests
from ansible_collections.entra.b2c.plugins.module_utils._apps.api import APP_WRITE_HINT, GRANT_HINT, AppGraph
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

    def request(self, method, url, data=None, headers=None, **_options):
        self.calls.append((method, url.split("/beta", 1)[1], json.loads(data) if data else None))
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


def test_a_create_without_answer_is_read_and_never_sent_again():
    landed = []
    apps, session = graph(requests.exceptions.ReadTimeout("no answer"))
    app = apps.create_application({"displayName": "X"}, lambda: landed.append(1) or APP)
    assert app == APP and [call[0] for call in session.calls] == ["POST"] and landed == [1]


def test_a_lost_create_that_did_not_land_fails_saying_rerun_is_safe():
    apps, session = graph(requests.exceptions.ReadTimeout("no answer"))
    with pytest.raises(GraphError) as failed:
        apps.create_application({"displayName": "X"}, lambda: None)
    assert "was not sent again" in str(failed.value) and "creates only what is missing" in str(failed.value)
    assert [call[0] for call in session.calls] == ["POST"]


def test_an_answered_5xx_is_read_then_sent_again_only_when_nothing_landed():
    apps, session = graph(error(500, "generalException"), Answer(201, APP))
    reads = []
    assert apps.create_application({"displayName": "X"}, lambda: reads.append(1)) == APP
    assert [call[0] for call in session.calls] == ["POST", "POST"] and reads == [1]


def test_a_conflicting_service_principal_create_returns_the_existing_one():
    sp = {"id": "sp1", "appId": "a1"}
    apps, session = graph(error(409, "Request_MultipleObjectsWithSameKeyValue"), Answer(200, {"value": [sp]}))
    assert apps.create_service_principal("a1") == sp
    assert [call[:2] for call in session.calls] == [
        ("POST", "/servicePrincipals"), ("GET", "/servicePrincipals?$filter=appId%20eq%20%27a1%27")]


@pytest.mark.parametrize("call, hint", [
    (lambda apps: apps.patch_application("o1", {"web": {}}), APP_WRITE_HINT),
    (lambda apps: apps.grants_of("sp1"), GRANT_HINT),
])
def test_403_names_the_permission(call, hint):
    apps, _session = graph(error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."))
    with pytest.raises(GraphError) as refused:
        call(apps)
    assert refused.value.hint == hint and hint in str(refused.value)
