# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Graph client's retry rules, driven by a scripted session (the end-to-end suite covers real HTTP)."""

from __future__ import annotations

import email.utils
import errno
import json
import socket
import ssl

import pytest
import requests
import urllib3

from ansible_collections.entra.b2c.plugins.module_utils._core import graph as _graph
from ansible_collections.entra.b2c.plugins.module_utils._keysets import api as _keysets
from ansible_collections.entra.b2c.plugins.module_utils._keysets.api import KeysetGraph
from ansible_collections.entra.b2c.plugins.module_utils._policies.api import PolicyGraph
from ansible_collections.entra.b2c.plugins.module_utils._core.graph import (
    GraphClient,
    GraphError,
    GraphSession,
    backoff_seconds,
    retry_after_seconds,
)


class FakeResponse:
    def __init__(self, status, body=None, headers=None, text=None):
        self.status_code = status
        self.headers = dict(headers or {})
        self.content = text.encode() if text is not None else b"" if body is None else json.dumps(body).encode()
        self.text = self.content.decode()
        self.reason = "reason"
        self._body = body

    def json(self):
        if self._body is None:
            raise ValueError("no body")
        return self._body

    def iter_content(self, chunk_size=1):
        self.chunks_read = 0
        for start in range(0, len(self.content), chunk_size):
            self.chunks_read += 1
            yield self.content[start:start + chunk_size]

    def close(self):
        self.closed = True


def graph_error(status, code, message="boom", request_id="rid-1"):
    return FakeResponse(status, {"error": {"code": code, "message": message, "innerError": {"request-id": request_id}}},
                        {"request-id": request_id})


class ScriptedSession:
    """Answers requests from a script: a FakeResponse or an exception per call."""

    def __init__(self, *script):
        self.script = list(script)
        self.calls = []

    def request(self, method, url, data=None, headers=None, **options):
        self.calls.append((method, url, data, headers))
        self.options = getattr(self, "options", []) + [options]
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


class Tokens:
    def __init__(self, can_refresh=True):
        self.can_refresh = can_refresh
        self.issued = 0
        self.cloud = type("Cloud", (), {"name": "global", "graph_root": "https://graph.microsoft.com"})()

    @staticmethod
    def describe():
        return "client secret for client_id X"

    def token(self):
        if not self.issued:
            self.issued = 1
        return "token-%d" % self.issued

    def refresh(self):
        self.issued += 1
        return self.token()


class TestHandle(KeysetGraph):
    """The key set API and the transport under it, as one handle: the key set calls are the API's, the rest (request,
    tokens, ...) the transport's."""

    __test__ = False

    def __getattr__(self, name):
        return getattr(self.client, name)


def client(*script, tokens=None):
    sleeps = []
    session = ScriptedSession(*script)
    transport = GraphClient(session, "https://graph.example", tokens or Tokens(), tenant="contoso.onmicrosoft.com",
                            sleep=sleeps.append, rand=lambda: 1.0)
    return TestHandle(transport), session, sleeps


def add_key(graph, landed=lambda: None):
    """The key-adding POST of the tests, with the read that reconciles it."""
    return graph.add_key("B2C_1A_K", "generateKey", {"use": "sig"}, landed)


def test_retry_after_seconds_and_http_date():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert retry_after_seconds(date, now=lambda: 1_000_000) == pytest.approx(30.0)
    assert retry_after_seconds(email.utils.formatdate(10, usegmt=True), now=lambda: 1_000_000) == 0.0


def test_backoff_doubles_up_to_the_cap_with_jitter():
    assert [backoff_seconds(n, rand=lambda: 1.0) for n in (1, 2, 3, 4, 5, 6)] == [1, 2, 4, 8, 16, 16]
    assert backoff_seconds(1, rand=lambda: 0.0) == 0.5


def test_get_honours_retry_after_then_succeeds():
    graph, session, sleeps = client(FakeResponse(429, headers={"Retry-After": "3"}), FakeResponse(200, {"id": "x"}))
    assert graph.request_json("GET", "/trustFramework/keySets/x") == {"id": "x"}
    assert sleeps == [3.0]
    assert len(session.calls) == 2


@pytest.mark.parametrize("status", [503, 504])
def test_get_retries_transient_5xx_with_backoff(status):
    graph, _session, sleeps = client(FakeResponse(status), FakeResponse(status), FakeResponse(200, {"ok": 1}))
    assert graph.request_json("GET", "/x") == {"ok": 1}
    assert sleeps == [1.0, 2.0]


def test_get_does_not_retry_a_plain_500_or_a_400():
    graph, session, _sleeps = client(graph_error(500, "UnknownError"))
    with pytest.raises(GraphError):
        graph.request_json("GET", "/x")
    assert len(session.calls) == 1
    graph, session, _sleeps = client(graph_error(400, "AADB2C95033"))
    with pytest.raises(GraphError) as err:
        graph.request_json("GET", "/x")
    assert err.value.code == "AADB2C95033" and len(session.calls) == 1


def test_throttling_beyond_the_budget_fails_clearly():
    graph, _session, sleeps = client(FakeResponse(429, headers={"Retry-After": "600"}))
    with pytest.raises(GraphError) as err:
        graph.request_json("GET", "/x")
    assert sleeps == []
    assert err.value.status == 429 and "gave up" in str(err.value) and "600" in str(err.value)


def test_waiting_is_capped_by_the_budget():
    graph, session, sleeps = client(*[FakeResponse(503) for _attempt in range(_graph.MAX_ATTEMPTS)])
    with pytest.raises(GraphError, match="gave up after"):
        graph.request_json("GET", "/x")
    assert sum(sleeps) <= _graph.WAIT_BUDGET and len(session.calls) < _graph.MAX_ATTEMPTS


def test_attempts_are_capped():
    script = [FakeResponse(503, headers={"Retry-After": "1"}) for _attempt in range(_graph.MAX_ATTEMPTS)]
    graph, session, _sleeps = client(*script)
    with pytest.raises(GraphError, match="gave up after %d attempts" % _graph.MAX_ATTEMPTS):
        graph.request_json("GET", "/x")
    assert len(session.calls) == _graph.MAX_ATTEMPTS


def test_post_429_is_retried_without_reconciling():
    reconciled = []
    graph, session, _sleeps = client(FakeResponse(429, headers={"Retry-After": "1"}), FakeResponse(200, {"kid": "new"}))
    assert add_key(graph, lambda: reconciled.append(1)) == {"kid": "new"}
    assert reconciled == [] and len(session.calls) == 2


def test_post_5xx_returns_the_landed_result_without_repeating():
    graph, session, _sleeps = client(graph_error(500, "UnknownError"))
    assert add_key(graph, lambda: {"kid": "landed"}) == {"kid": "landed"}
    assert len(session.calls) == 1


def test_a_key_post_answered_without_the_key_reads_the_key_it_added():
    graph, session, _sleeps = client(FakeResponse(200))  # success, empty body
    assert add_key(graph, lambda: {"kid": "read back"}) == {"kid": "read back"}
    assert len(session.calls) == 1  # never sent again


def dropped():
    """A connection closed after the request went out, as requests reports it."""
    return requests.exceptions.ConnectionError(urllib3.exceptions.ProtocolError("Connection aborted."))


def refused():
    """A connection that never opened, as requests reports it: nothing was sent."""
    reason = urllib3.exceptions.NewConnectionError(None, "Connection refused")
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/gen", reason))


UNANSWERED = {
    "read timeout": lambda: requests.exceptions.ReadTimeout("slow"),
    "dropped": dropped,
    "504": lambda: graph_error(504, "GatewayTimeout"),
}


@pytest.mark.parametrize("fault", sorted(UNANSWERED))
def test_an_unanswered_key_post_is_never_sent_again(fault):
    """It may still commit, however long after the client gave up: a second POST could add a second key."""
    reads = []
    graph, session, sleeps = client(UNANSWERED[fault]())
    graph.session.request_timeout = 2.0
    with pytest.raises(GraphError) as err:
        add_key(graph, lambda: reads.append(1))
    assert len(session.calls) == 1
    assert sleeps == [1.0, 2.0, 4.0, 3.0] and len(reads) == len(sleeps) + 1  # growing pauses, LANDING_MIN in all
    message = str(err.value)
    assert "POST /trustFramework/keySets/B2C_1A_K/generateKey" in message
    assert "may still add" in message and "not sent again" in message
    assert "re-run the task" in message
    if fault == "504":
        assert err.value.status == 504 and "request-id rid-1" in message


def test_an_unanswered_key_post_returns_the_key_that_lands_later():
    answers = [None, None, None, {"kid": "late"}]
    graph, session, sleeps = client(requests.exceptions.ReadTimeout("slow"))
    assert add_key(graph, lambda: answers.pop(0)) == {"kid": "late"}
    assert len(session.calls) == 1 and sleeps == [1.0, 2.0, 4.0]


def test_reading_for_an_unanswered_post_lasts_twice_the_timeout_within_the_budget():
    graph, _session, sleeps = client(requests.exceptions.ReadTimeout("slow"))
    graph.session.request_timeout = 30.0
    with pytest.raises(GraphError):
        add_key(graph, lambda: None)
    assert sum(sleeps) == _graph.WAIT_BUDGET and max(sleeps) == _graph.BACKOFF_CAP
    graph, _session, sleeps = client(FakeResponse(429, headers={"Retry-After": "55"}),
                                     requests.exceptions.ReadTimeout("slow"))
    graph.session.request_timeout = 30.0
    with pytest.raises(GraphError):
        add_key(graph, lambda: None)
    assert sleeps[0] == 55.0 and sum(sleeps) == _graph.WAIT_BUDGET


@pytest.mark.parametrize("failure", [refused, lambda: requests.exceptions.ConnectTimeout("connect")],
                         ids=["refused", "connect timeout"])
def test_a_key_post_that_was_never_sent_is_sent_again(failure):
    reads = []
    graph, session, _sleeps = client(failure(), FakeResponse(200, {"kid": "new"}))
    assert add_key(graph, lambda: reads.append(1)) == {"kid": "new"}
    assert len(session.calls) == 2 and reads == []


def test_a_key_set_create_without_answer_is_sent_again_after_a_read():
    """A duplicate create answers 409 (handled by create_keyset), so it cannot add a second set."""
    graph, session, sleeps = client(dropped(), graph_error(404, "AADB2C90073"),
                                    FakeResponse(201, {"id": "B2C_1A_K", "keys": []}))
    assert graph.create_keyset("K") == {"id": "B2C_1A_K", "keys": []}
    assert [call[0] for call in session.calls] == ["POST", "GET", "POST"] and len(sleeps) == 1
    graph, session, _sleeps = client(requests.exceptions.ReadTimeout("slow"), graph_error(404, "AADB2C90073"),
                                     graph_error(409, "AADB2C95028"), FakeResponse(200, {"id": "B2C_1A_K", "keys": []}))
    assert graph.create_keyset("K") == {"id": "B2C_1A_K", "keys": []}
    assert [call[0] for call in session.calls] == ["POST", "GET", "POST", "GET"]


def test_a_delete_that_committed_before_a_500_is_done():
    graph, session, _sleeps = client(graph_error(500, "UnknownError"), graph_error(404, "AADB2C90073"))
    assert graph.delete_keyset("B2C_1A_K") is True
    assert [call[0] for call in session.calls] == ["DELETE", "GET"]


def test_a_delete_that_failed_with_the_set_still_there_fails():
    graph, _session, _sleeps = client(graph_error(500, "UnknownError", request_id="rid-del"),
                                      FakeResponse(200, {"id": "B2C_1A_K", "keys": []}))
    with pytest.raises(GraphError) as err:
        graph.delete_keyset("B2C_1A_K")
    assert err.value.status == 500 and err.value.request_id == "rid-del"


@pytest.mark.parametrize("status", [500, 503])
def test_an_answered_5xx_key_post_is_read_then_sent_again(status):
    """The service answered, so it is done with the request: what it committed shows in the read at once."""
    events = []
    graph, session, _sleeps = client(graph_error(status, "ServiceUnavailable"), FakeResponse(200, {"kid": "second"}))
    graph.sleep = lambda seconds: events.append(("sleep", seconds))
    assert add_key(graph, lambda: events.append(("read",))) == {"kid": "second"}
    assert events[0] == ("read",) and len(session.calls) == 2


def test_a_post_never_takes_the_retrying_path_of_idempotent_requests():
    graph, session, _sleeps = client(requests.exceptions.ConnectionError("reset"))
    with pytest.raises(ValueError, match="not idempotent"):
        graph.request("POST", "/trustFramework/keySets/B2C_1A_K/generateKey", b"{}")
    assert session.calls == []


def test_connection_errors_on_reads_get_a_few_tries():
    script = [requests.exceptions.ConnectionError("refused") for _attempt in range(_graph.MAX_TRANSPORT_ATTEMPTS)]
    graph, session, _sleeps = client(*script)
    with pytest.raises(GraphError, match="gave up"):
        graph.request_json("GET", "/x")
    assert len(session.calls) == _graph.MAX_TRANSPORT_ATTEMPTS


def test_tls_failure_is_not_retried_and_says_what_to_do():
    graph, session, _sleeps = client(requests.exceptions.SSLError("bad cert"))
    with pytest.raises(GraphError, match="ca_path"):
        graph.request_json("GET", "/x")
    assert len(session.calls) == 1


def test_401_refreshes_the_token_once():
    tokens = Tokens()
    graph, session, _sleeps = client(graph_error(401, "InvalidAuthenticationToken"), FakeResponse(200, {"ok": 1}),
                                     tokens=tokens)
    assert graph.request_json("GET", "/x") == {"ok": 1}
    assert [call[3]["Authorization"] for call in session.calls] == ["Bearer token-1", "Bearer token-2"]


def test_second_401_fails_naming_the_credential():
    graph, _session, _sleeps = client(graph_error(401, "InvalidAuthenticationToken"),
                                      graph_error(401, "InvalidAuthenticationToken"))
    with pytest.raises(GraphError) as err:
        graph.request_json("GET", "/x")
    assert "client secret" in str(err.value) and "HTTP 401" in str(err.value)
    assert "graph_endpoint is the Graph of cloud global" in str(err.value)


def test_403_names_permission_role_and_request_id():
    graph, _session, _sleeps = client(graph_error(403, "Authorization_RequestDenied", request_id="abc-123"))
    with pytest.raises(GraphError) as err:
        graph.create_keyset("B2C_1A_X")
    text = str(err.value)
    assert "TrustFrameworkKeySet.ReadWrite.All" in text and "B2C IEF Keyset Administrator" in text
    assert "request-id abc-123" in text


def test_the_permission_hint_comes_from_the_api_that_was_called():
    """The transport names no permission: a key set call names the key set one, a policy call the policy one."""
    graph, _session, _sleeps = client(*[graph_error(403, "Authorization_RequestDenied")] * 4)
    with pytest.raises(GraphError) as bare:
        graph.client.request_json("GET", "/trustFramework/policies")
    assert bare.value.hint is None
    for call in (lambda: graph.get_keyset("B2C_1A_X"), graph.list_keysets):
        with pytest.raises(GraphError) as keysets:
            call()
        assert "TrustFrameworkKeySet.ReadWrite.All" in str(keysets.value)
    with pytest.raises(GraphError) as policies:
        PolicyGraph(graph.client).list_ids()
    assert "Policy.ReadWrite.TrustFramework" in str(policies.value) and "TrustFrameworkKeySet" not in str(policies.value)


def test_one_pagination_follows_next_links_for_every_api():
    pages = [FakeResponse(200, {"value": [{"id": "B2C_1A_A"}], "@odata.nextLink": "https://graph.microsoft.com/beta/x?$skiptoken=2"}),
             FakeResponse(200, {"value": [{"id": "B2C_1A_B"}, "not an object"]})]
    graph, session, _sleeps = client(*pages, *pages)
    assert [item["id"] for item in graph.list_keysets()] == ["B2C_1A_A", "B2C_1A_B"]
    assert PolicyGraph(graph.client).list_ids() == ["B2C_1A_A", "B2C_1A_B"]
    assert session.calls[1][1] == "https://graph.example/beta/x?$skiptoken=2"  # the link's path, on the task's Graph


GENERIC_NOT_FOUND = "KeyContainer with 'id': 'B2C_1A_X' cannot be found in the directory 'contoso.onmicrosoft.com'."
GENERIC_NOT_CREATED = "The trustframework key set with id 'B2C_1A_X' in tenant 'contoso' is not created."


@pytest.mark.parametrize("status, code, missing, message", [
    (404, "AADB2C90073", True, "boom"), (400, "AADB2C90073", True, "boom"), (404, None, True, "boom"),
    (400, "AADB2C95033", False, "boom"), (400, "AADB2C95052", True, "boom"),
    (400, "AADB2C", True, GENERIC_NOT_FOUND), (400, "AADB2C", True, GENERIC_NOT_CREATED),
    (400, "AADB2C", False, "Bad kty parameter 'EC' for the trustframework key. Must be RSA or oct."),
])
def test_get_keyset_decides_missing_on_the_code(status, code, missing, message):
    response = graph_error(status, code, message) if code else FakeResponse(404)
    graph, _session, _sleeps = client(response)
    if missing:
        assert graph.get_keyset("B2C_1A_X") is None
    else:
        with pytest.raises(GraphError):
            graph.get_keyset("B2C_1A_X")


def test_keyset_ids_cannot_leave_their_path_segment():
    graph, session, _sleeps = client(FakeResponse(200, {"id": "x", "keys": []}))
    graph.get_keyset("../../users?$top=1#")
    assert session.calls[0][1] == "https://graph.example/beta/trustFramework/keySets/..%2F..%2Fusers%3F%24top%3D1%23"


@pytest.mark.parametrize("status, code, message", [
    (409, "AADB2C95028", "boom"), (400, "AADB2C95028", "boom"),
    (400, "AADB2C", "Can't create trustframework key set with name 'B2C_1A_X' because it already exists."),
])
def test_create_keyset_that_already_exists_returns_it(status, code, message):
    graph, _session, _sleeps = client(graph_error(status, code, message), FakeResponse(200, {"id": "B2C_1A_X", "keys": []}))
    assert graph.create_keyset("B2C_1A_X") == {"id": "B2C_1A_X", "keys": []}


def test_create_keyset_refused_for_another_reason_fails():
    graph, _session, _sleeps = client(graph_error(400, "AADB2C", "The application does not have any of the required permissions."))
    with pytest.raises(GraphError):
        graph.create_keyset("B2C_1A_X")


def test_a_token_for_another_audience_points_at_cloud():
    tokens = Tokens()
    tokens.cloud = type("Cloud", (), {"name": "usgov", "graph_root": "https://graph.microsoft.us"})()
    rejected = graph_error(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
    graph, _session, _sleeps = client(rejected, rejected, tokens=tokens)
    with pytest.raises(GraphError) as err:
        graph.request_json("GET", "/trustFramework/keySets")
    assert "the token is for https://graph.microsoft.us (cloud usgov), not for this Graph: set cloud" in str(err.value)


def test_list_follows_next_links():
    graph, session, _sleeps = client(
        FakeResponse(200, {"value": [{"id": "a"}], "@odata.nextLink": "https://graph.example/beta/next?page=2"}),
        FakeResponse(200, {"value": [{"id": "b"}]}))
    assert [k["id"] for k in graph.list_keysets()] == ["a", "b"]
    assert session.calls[1][1] == "https://graph.example/beta/next?page=2"


def test_next_links_naming_another_host_are_rebased_onto_the_endpoint():
    graph, session, _sleeps = client(
        FakeResponse(200, {"value": [{"id": "a"}],
                           "@odata.nextLink": "https://graph.microsoft.com/beta/trustFramework/keySets?$skiptoken=X"}),
        FakeResponse(200, {"value": [{"id": "b"}]}))
    assert [k["id"] for k in graph.list_keysets()] == ["a", "b"]
    assert session.calls[1][1] == "https://graph.example/beta/trustFramework/keySets?$skiptoken=X"


def test_session_applies_verify_and_timeout_per_request(monkeypatch):
    seen = {}

    def fake_request(self, method, url, *args, **kwargs):  # pylint: disable=unused-argument
        seen.update(kwargs)
        return FakeResponse(200, {})

    monkeypatch.setattr(requests.Session, "request", fake_request)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/somewhere/else.pem")
    session = GraphSession("/my/ca.pem", 12.5)
    session.request("GET", "https://x")
    assert seen["verify"] == "/my/ca.pem" and seen["timeout"] == 12.5


POLICY_PATH = "/trustFramework/policies/B2C_1A_SIGNUP/$value"
POLICY_XML = '<TrustFrameworkPolicy PolicyId="B2C_1A_SIGNUP"/>'


def test_an_idempotent_request_carries_any_body_and_returns_any_answer_through_the_same_retries():
    """The shape a custom policy upload needs: an XML PUT and an XML GET, with retries, token refresh and errors."""
    tokens = Tokens()
    graph, session, sleeps = client(FakeResponse(503), graph_error(401, "InvalidAuthenticationToken"),
                                    FakeResponse(200, text=POLICY_XML), tokens=tokens)
    response = graph.request("PUT", POLICY_PATH, POLICY_XML, content_type="application/xml", accept="application/xml")
    assert response.text == POLICY_XML and sleeps == [1.0]
    assert [call[2] for call in session.calls] == [POLICY_XML.encode()] * 3
    assert [call[3]["Content-Type"] for call in session.calls] == ["application/xml"] * 3
    assert [call[3]["Accept"] for call in session.calls] == ["application/xml"] * 3
    assert [call[3]["Authorization"] for call in session.calls] == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]

    graph, session, _sleeps = client(FakeResponse(200, text=POLICY_XML))
    assert graph.request("GET", POLICY_PATH, accept="application/xml").text == POLICY_XML
    assert session.calls[0][2] is None and "Content-Type" not in session.calls[0][3]


def test_a_refused_non_json_request_is_translated_like_any_other():
    graph, _session, _sleeps = client(graph_error(400, "AADB2C45001", message="the policy is not valid XML"))
    with pytest.raises(GraphError) as err:
        graph.request("PUT", POLICY_PATH, "<oops", content_type="application/xml", accept="application/xml")
    assert err.value.code == "AADB2C45001" and "PUT " + POLICY_PATH in str(err.value)


def test_json_bodies_are_sent_as_json():
    graph, session, _sleeps = client(FakeResponse(200, {"kid": "new"}))
    assert add_key(graph) == {"kid": "new"}
    method, url, data, headers = session.calls[0]
    assert (method, url) == ("POST", "https://graph.example/beta/trustFramework/keySets/B2C_1A_K/generateKey")
    assert json.loads(data) == {"use": "sig"} and headers["Content-Type"] == "application/json"


def test_a_body_that_json_cannot_carry_is_refused_before_sending():
    graph, session, _sleeps = client()
    with pytest.raises(ValueError):
        graph.request_json("PATCH", "/x", {"exp": float("nan")})
    assert session.calls == []


def test_the_lock_identity_names_graph_root_tenant_and_keyset():
    graph, _session, _sleeps = client()
    other_tenant = GraphClient(None, "https://graph.example", Tokens(), tenant="fabrikam.onmicrosoft.com")
    other_cloud = GraphClient(None, "https://graph.microsoft.us", Tokens(), tenant="contoso.onmicrosoft.com")
    identity = graph.identity("B2C_1A_Signing")
    assert identity == graph.identity("b2c_1a_signing")  # B2C ids ignore case
    assert identity != graph.identity("B2C_1A_Other")
    assert identity not in (other_tenant.identity("B2C_1A_Signing"), other_cloud.identity("B2C_1A_Signing"))


# -- a key set created moments ago: B2C's replication delay (issue 11) ------------------------------------------------

NOT_CREATED = "The trustframework key set with id 'B2C_1A_K' in tenant 'contoso' is not created."
NOT_FOUND = "KeyContainer with 'id': 'B2C_1A_K' cannot be found in the directory 'contoso.onmicrosoft.com'."


def refused_as_missing(code="AADB2C95052", status=400, message=NOT_CREATED):
    return graph_error(status, code, message, request_id="rid-repl")


def failure_of(response, answered=True):
    return _graph.Failure(_graph._error_from_response("POST", "/x", response), answered=answered)


@pytest.mark.parametrize("response, answered, waits", [
    (refused_as_missing(), True, True),
    (refused_as_missing("AADB2C90073", message=NOT_FOUND), True, True),
    (refused_as_missing("AADB2C90073", 404, NOT_FOUND), True, True),
    (refused_as_missing("AADB2C", message=NOT_CREATED), True, True),
    (refused_as_missing("AADB2C", message=NOT_FOUND), True, True),
    (graph_error(400, "AADB2C95033"), True, False),
    (graph_error(400, "AADB2C", "Bad kty parameter 'EC'"), True, False),
    (graph_error(429, "AADB2C95043"), True, False),
    (graph_error(500, "UnknownError"), True, False),
    (graph_error(504, "AADB2C95052"), False, False),  # a gateway's answer: the service may still be at work
], ids=["95052", "90073", "90073-404", "generic-not-created", "generic-not-found", "95033", "generic-other", "429",
        "500", "504"])
def test_only_a_refusal_as_missing_awaits_replication(response, answered, waits):
    """The rule a new set's key POST waits on; a set that existed before the run gets no such rule (below)."""
    assert _keysets.awaits_replication(failure_of(response, answered)) is waits


def replicating(*script):
    graph, session, sleeps = client(*script)
    return graph, session, sleeps, graph.replication_budget()


def test_a_new_set_refusing_keys_is_waited_for_and_the_post_sent_again():
    reads = []
    graph, session, sleeps, replication = replicating(refused_as_missing(), refused_as_missing("AADB2C90073",
                                                                                               message=NOT_FOUND),
                                                      FakeResponse(200, {"kid": "new"}))
    assert graph.add_key("B2C_1A_K", "generateKey", {"use": "sig"}, lambda: reads.append(1), replication) == {"kid": "new"}
    assert [call[0] for call in session.calls] == ["POST"] * 3
    assert sleeps == [1.0, 2.0] and replication.waited == 3.0
    assert len(reads) == 2  # one read before each resend: none landed


def test_a_key_that_landed_while_waiting_is_returned_without_a_second_post():
    graph, session, _sleeps, replication = replicating(refused_as_missing())
    assert graph.add_key("B2C_1A_K", "generateKey", {}, lambda: {"kid": "theirs"}, replication) == {"kid": "theirs"}
    assert len(session.calls) == 1


def test_replication_pauses_are_short_so_the_wait_ends_soon_after_the_set_is_ready():
    script = [refused_as_missing() for _attempt in range(8)] + [FakeResponse(200, {"kid": "new"})]
    graph, _session, sleeps, replication = replicating(*script)
    graph.add_key("B2C_1A_K", "generateKey", {}, lambda: None, replication)
    assert sleeps == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0, 5.0]
    assert max(sleeps) == _keysets.REPLICATION_PAUSE_CAP


def test_past_the_replication_budget_the_failure_says_the_set_is_not_ready_and_nothing_was_added():
    script = [refused_as_missing() for _attempt in range(_keysets.REPLICATION_MAX_ATTEMPTS)]
    graph, session, sleeps, replication = replicating(*script)
    with pytest.raises(GraphError) as err:
        graph.add_key("B2C_1A_K", "generateKey", {}, lambda: None, replication)
    assert sum(sleeps) <= _keysets.REPLICATION_BUDGET < sum(sleeps) + _keysets.REPLICATION_PAUSE_CAP
    assert len(session.calls) == len(sleeps) + 1
    message = str(err.value)
    assert message.startswith("Graph POST /trustFramework/keySets/B2C_1A_K/generateKey failed: " + NOT_CREATED)
    assert ("(HTTP 400, AADB2C95052); the key set exists (created moments ago) but B2C has not made it ready for keys "
            "yet: gave up after %d attempts and %.0f s of waiting; no key was added: run the task again in a few "
            "minutes [request-id rid-repl]" % (len(session.calls), sum(sleeps))) in message


def test_the_replication_wait_has_its_own_budget_apart_from_throttling():
    """Throttling before and during the wait does not cut it short: each has its own minute."""
    throttled = FakeResponse(429, headers={"Retry-After": "50"})
    script = [throttled] + [refused_as_missing() for _attempt in range(10)] + [FakeResponse(200, {"kid": "new"})]
    graph, _session, sleeps, replication = replicating(*script)
    assert graph.add_key("B2C_1A_K", "generateKey", {}, lambda: None, replication) == {"kid": "new"}
    assert sleeps[0] == 50.0 and sum(sleeps) > _graph.WAIT_BUDGET
    assert replication.waited == sum(sleeps[1:])


@pytest.mark.parametrize("refusal", [refused_as_missing(), refused_as_missing("AADB2C90073", message=NOT_FOUND)],
                         ids=["95052", "90073"])
def test_a_set_that_existed_before_the_run_is_not_waited_for(refusal):
    """Missing now, it was deleted: not replicating."""
    graph, session, sleeps = client(refusal)
    with pytest.raises(GraphError) as err:
        add_key(graph, lambda: pytest.fail("no read: the POST was refused"))
    assert len(session.calls) == 1 and sleeps == []
    assert "it was deleted meanwhile, or created moments ago by another task or job and not replicated yet; run the " \
           "task again in a minute" in str(err.value)


def test_a_create_refused_as_existing_reads_the_set_until_it_replicated():
    graph, session, sleeps = client(graph_error(400, "AADB2C95028"), graph_error(400, "AADB2C90073", NOT_FOUND),
                                    graph_error(400, "AADB2C90073", NOT_FOUND),
                                    FakeResponse(200, {"id": "B2C_1A_K", "keys": []}))
    assert graph.create_keyset("B2C_1A_K") == {"id": "B2C_1A_K", "keys": []}
    assert [call[0] for call in session.calls] == ["POST", "GET", "GET", "GET"] and sleeps == [1.0, 2.0]


def test_a_create_refused_as_existing_whose_set_never_reads_fails_saying_so():
    script = [graph_error(400, "AADB2C95028", request_id="rid-create")] + [
        graph_error(400, "AADB2C90073", NOT_FOUND) for _attempt in range(_keysets.REPLICATION_MAX_ATTEMPTS)]
    graph, _session, sleeps = client(*script)
    with pytest.raises(GraphError) as err:
        graph.create_keyset("B2C_1A_K")
    assert sum(sleeps) <= _keysets.REPLICATION_BUDGET
    assert err.value.code == "AADB2C95028" and "request-id rid-create" in str(err.value)
    assert "yet reading it answers that it does not exist (gave up after" in str(err.value)
    assert "it was deleted meanwhile, or B2C has not finished creating it" in str(err.value)


# -- a key POST whose outcome is unknown and whose re-read fails too (issue 12) ---------------------------------------

def failing_read():
    raise GraphError("Graph GET /trustFramework/keySets/B2C_1A_K failed: cannot reach graph.example (graph_endpoint): "
                     "connection refused (nothing listens on that port)")


@pytest.mark.parametrize("fault", [lambda: requests.exceptions.ReadTimeout("slow"), dropped,
                                   lambda: graph_error(504, "GatewayTimeout"), lambda: graph_error(500, "UnknownError")],
                         ids=["read timeout", "dropped", "504", "500"])
def test_a_key_post_whose_re_read_fails_says_a_key_may_have_been_added(fault):
    graph, session, _sleeps = client(fault())
    with pytest.raises(GraphError) as err:
        add_key(graph, failing_read)
    assert len(session.calls) == 1
    message = str(err.value)
    assert message.startswith("Graph POST /trustFramework/keySets/B2C_1A_K/generateKey failed: ")
    assert ("a key may have been added, and reading the key set to find out failed (Graph GET "
            "/trustFramework/keySets/B2C_1A_K failed: cannot reach graph.example (graph_endpoint): connection refused "
            "(nothing listens on that port)); the request was not sent again: re-run the task once Graph answers: it "
            "reads the key set first and adds a key only if none landed") in message


def test_reading_for_an_unanswered_post_lasts_twice_the_timeout_at_least_ten_seconds():
    for timeout, expected in ((2.0, _graph.LANDING_MIN), (8.0, 16.0), (45.0, _graph.WAIT_BUDGET)):
        graph, _session, sleeps = client(requests.exceptions.ReadTimeout("slow"))
        graph.session.request_timeout = timeout
        with pytest.raises(GraphError, match="the key set was read for %d s" % expected):
            add_key(graph, lambda: None)
        assert sum(sleeps) == expected


# -- transport failures in words: which host, and what went wrong (issue 12) ------------------------------------------

def resolution_failure():
    cause = socket.gaierror(-2, "Name or service not known")
    reason = urllib3.exceptions.NewConnectionError(None, "Failed to resolve 'graph.nosuch.invalid'")
    reason.__cause__ = cause
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/x", reason))


def unroutable():
    reason = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")
    reason.__cause__ = OSError(errno.ENETUNREACH, "Network is unreachable")
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/x", reason))


def refused_with_cause():
    reason = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")
    reason.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/x", reason))


def connect_timeout():
    reason = urllib3.exceptions.ConnectTimeoutError(None, "timed out")
    return requests.exceptions.ConnectTimeout(urllib3.exceptions.MaxRetryError(None, "/x", reason))


def untrusted():
    verification = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    verification.verify_message = "self-signed certificate in certificate chain"
    return requests.exceptions.SSLError(urllib3.exceptions.MaxRetryError(None, "/x", urllib3.exceptions.SSLError(
        verification)))


def plain_http_port():
    """https to a port that speaks plain http: the TLS handshake itself fails."""
    error = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    error.reason = "WRONG_VERSION_NUMBER"
    return requests.exceptions.SSLError(urllib3.exceptions.MaxRetryError(None, "/x", urllib3.exceptions.SSLError(error)))


@pytest.mark.parametrize("make, words, reached", [
    (resolution_failure, "the host name does not resolve (DNS)", False),
    (refused_with_cause, "connection refused (nothing listens on that port)", False),
    (refused, "the connection could not be opened", False),
    (unroutable, "network is unreachable", False),
    (connect_timeout, "no answer to the connection within the timeout (a firewall dropping packets, or a wrong "
                      "address)", False),
    (untrusted, "self-signed certificate in certificate chain", False),
    (plain_http_port, "wrong version number", False),
    (lambda: requests.exceptions.ReadTimeout("slow"), "no answer within the timeout", True),
    (dropped, "connection failed or was dropped", True),
], ids=["dns", "refused", "refused-no-cause", "no-route", "connect-timeout", "tls", "plain-http", "read-timeout",
        "dropped"])
def test_transport_failures_are_named(make, words, reached):
    failure = _graph.transport_failure(make())
    assert (failure.words, failure.reached) == (words, reached)


@pytest.mark.parametrize("make, expected", [
    (resolution_failure, "Graph GET /x failed: cannot reach graph.example (graph_endpoint): the host name does not "
                         "resolve (DNS); gave up after 3 attempts and 3 s of waiting; check graph_endpoint and the "
                         "network path from the host that runs the module (DNS, firewall, HTTPS_PROXY)"),
    (refused_with_cause, "Graph GET /x failed: cannot reach graph.example (graph_endpoint): connection refused "
                         "(nothing listens on that port); gave up after 3 attempts and 3 s of waiting; check "
                         "graph_endpoint and the network path from the host that runs the module (DNS, firewall, "
                         "HTTPS_PROXY)"),
    (connect_timeout, "Graph GET /x failed: cannot reach graph.example (graph_endpoint): no answer to the connection "
                      "within the timeout (a firewall dropping packets, or a wrong address); gave up after 3 attempts "
                      "and 3 s of waiting; check graph_endpoint"),
    (lambda: requests.exceptions.ReadTimeout("slow"), "Graph GET /x failed: no answer within the timeout; gave up after "
                                                      "3 attempts and 3 s of waiting"),
])
def test_graph_that_cannot_be_reached_is_named_with_the_option_that_set_it(make, expected):
    graph, session, _sleeps = client(*[make() for _attempt in range(_graph.MAX_TRANSPORT_ATTEMPTS)])
    with pytest.raises(GraphError) as err:
        graph.request_json("GET", "/x")
    assert str(err.value).startswith(expected)
    assert len(session.calls) == _graph.MAX_TRANSPORT_ATTEMPTS


def test_the_default_graph_is_named_by_its_cloud():
    session = ScriptedSession(*[resolution_failure() for _attempt in range(_graph.MAX_TRANSPORT_ATTEMPTS)])
    graph = GraphClient(session, "https://graph.microsoft.com", Tokens(), sleep=lambda _s: None, rand=lambda: 1.0)
    with pytest.raises(GraphError) as err:
        graph.request_json("GET", "/x")
    assert "cannot reach graph.microsoft.com (the Graph of cloud global): the host name does not resolve" in str(err.value)
    assert "check cloud and the network path" in str(err.value)


def test_an_untrusted_graph_certificate_names_host_and_reason_and_is_not_retried():
    graph, session, _sleeps = client(untrusted())
    with pytest.raises(GraphError) as err:
        graph.request_json("GET", "/x")
    assert str(err.value) == ("Graph GET /x failed: TLS verification of graph.example (graph_endpoint) failed: "
                              "self-signed certificate in certificate chain; give the CA bundle with ca_path, or "
                              "validate_certs: false for a test endpoint only")
    assert len(session.calls) == 1


def test_a_port_that_speaks_no_tls_is_named_and_not_retried():
    graph, session, _sleeps = client(plain_http_port())
    with pytest.raises(GraphError) as err:
        graph.request_json("GET", "/x")
    assert str(err.value) == ("Graph GET /x failed: the TLS handshake with graph.example (graph_endpoint) failed: wrong "
                              "version number; check that graph_endpoint names an https endpoint (scheme, host and port)")
    assert len(session.calls) == 1
