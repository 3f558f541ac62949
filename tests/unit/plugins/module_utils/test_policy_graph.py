# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The policy requests' rules (absent, retries of refusals known to pass, hints), driven by a scripted session; the
end-to-end suite covers real HTTP against the emulator."""

from __future__ import annotations

import pytest
import requests

from ansible_collections.entra.b2c.plugins.module_utils._core.graph import GraphClient, GraphError
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import MAX_POLICY_BYTES
from ansible_collections.entra.b2c.plugins.module_utils._policies.api import (
    BASE_HINT,
    CONFLICT_HINT,
    KEYSET_HINT,
    MAX_STORED_POLICY_BYTES,
    POLICY_PERMISSION_HINT,
    UPLOAD_RETRIES,
    PolicyGraph,
    policy_path,
)

from ansible_collections.entra.b2c.tests.unit.plugins.module_utils.test_graph import (
    FakeResponse,
    ScriptedSession,
    Tokens,
    graph_error,
)

TRANSIENT = ("Validation failed: 1 validation error(s) found in policy. Object reference not set to an instance of an "
             "object.")
BASE_MISSING = "Policy with 'policyId': B2C_1A_EXT cannot be found in the directory '7c1f'."


class XmlResponse(FakeResponse):
    def __init__(self, status, xml=b""):
        super().__init__(status, headers={"Content-Type": "application/xml"})
        self.content = xml


def graph(*script):
    sleeps = []
    session = ScriptedSession(*script)
    client = GraphClient(session, "https://graph.example", Tokens(), sleep=sleeps.append, rand=lambda: 1.0)
    return PolicyGraph(client), session, sleeps


def test_the_id_never_leaves_its_path_segment():
    assert policy_path("B2C_1A_X", "/$value") == "/trustFramework/policies/B2C_1A_X/$value"
    assert policy_path("a/../b?c") == "/trustFramework/policies/a%2F..%2Fb%3Fc"


def test_list_follows_next_links_behind_an_endpoint_override():
    policies, session, _sleeps = graph(
        FakeResponse(200, {"value": [{"id": "B2C_1A_A"}, {"nope": 1}],
                           "@odata.nextLink": "https://graph.microsoft.com/beta/trustFramework/policies?$skiptoken=2"}),
        FakeResponse(200, {"value": [{"id": "B2C_1A_B"}]}))
    assert policies.list_ids() == ["B2C_1A_A", "B2C_1A_B"]
    assert session.calls[1][1] == "https://graph.example/beta/trustFramework/policies?$skiptoken=2"


def test_get_answers_the_bytes_and_none_for_a_missing_policy():
    policies, session, _sleeps = graph(XmlResponse(200, b"<x/>"), graph_error(404, "AADB2C", "Policy ... cannot be found"))
    assert policies.get_xml("B2C_1A_X") == b"<x/>"
    assert policies.get_xml("B2C_1A_Y") is None
    assert session.calls[0][3]["Accept"] == "application/xml"


def test_put_sends_the_bytes_as_utf8_xml():
    policies, session, sleeps = graph(XmlResponse(201, b"<stored/>"))
    policies.put_xml("B2C_1A_X", b"\xef\xbb\xbf<TrustFrameworkPolicy/>")
    method, url, data, headers = session.calls[0]
    assert (method, url) == ("PUT", "https://graph.example/beta/trustFramework/policies/B2C_1A_X/$value")
    assert data == b"\xef\xbb\xbf<TrustFrameworkPolicy/>" and headers["Content-Type"] == "application/xml; charset=utf-8"
    assert sleeps == []


def test_a_transient_refusal_is_sent_again_within_a_bound():
    policies, session, sleeps = graph(graph_error(400, "AADB2C", TRANSIENT), XmlResponse(200))
    policies.put_xml("B2C_1A_X", b"<p/>")
    assert len(session.calls) == 2 and sleeps == [1.0]

    policies, session, sleeps = graph(*[graph_error(400, "AADB2C", TRANSIENT)] * (UPLOAD_RETRIES + 1))
    with pytest.raises(GraphError):
        policies.put_xml("B2C_1A_X", b"<p/>")
    assert len(session.calls) == UPLOAD_RETRIES + 1 and sleeps == [1.0, 2.0, 4.0]


def test_a_missing_base_is_waited_for_only_when_this_run_uploaded_it():
    policies, session, _sleeps = graph(graph_error(400, "AADB2C", BASE_MISSING), XmlResponse(201))
    policies.put_xml("B2C_1A_RP", b"<p/>", base_just_uploaded="B2C_1A_Ext")
    assert len(session.calls) == 2

    policies, session, _sleeps = graph(graph_error(400, "AADB2C", BASE_MISSING))
    with pytest.raises(GraphError) as caught:
        policies.put_xml("B2C_1A_RP", b"<p/>")
    assert len(session.calls) == 1 and caught.value.hint == BASE_HINT

    policies, session, _sleeps = graph(graph_error(400, "AADB2C", BASE_MISSING))
    with pytest.raises(GraphError):  # another base than the one just uploaded
        policies.put_xml("B2C_1A_RP", b"<p/>", base_just_uploaded="B2C_1A_Other")
    assert len(session.calls) == 1


def test_refusals_carry_the_policy_apis_hints():
    policies, _session, _sleeps = graph(graph_error(400, "AADB2C", 'Tenant "t" does not have CryptographicKey referenced '
                                                                   'by storageReferenceId "B2C_1A_K".'))
    with pytest.raises(GraphError) as caught:
        policies.put_xml("B2C_1A_X", b"<p/>")
    assert caught.value.hint == KEYSET_HINT and "B2C_1A_K" in str(caught.value) and "HTTP 400, AADB2C" in str(caught.value)

    policies, _session, _sleeps = graph(graph_error(403, "Authorization_RequestDenied", "Insufficient privileges"))
    with pytest.raises(GraphError) as caught:
        policies.list_ids()
    assert caught.value.hint == POLICY_PERMISSION_HINT and "TrustFrameworkKeySet" not in str(caught.value)


def test_delete_says_whether_there_was_something_to_delete():
    policies, _session, _sleeps = graph(FakeResponse(204))
    assert policies.delete("B2C_1A_X") is True
    policies, _session, _sleeps = graph(graph_error(404, "AADB2C", "Policy with 'policyId': X cannot be found"))
    assert policies.delete("B2C_1A_X") is False


def test_a_delete_that_got_no_answer_is_settled_by_a_read():
    dropped = requests.exceptions.ConnectionError("reset")
    policies, _session, _sleeps = graph(dropped, dropped, dropped, graph_error(404, "AADB2C", "cannot be found"))
    assert policies.delete("B2C_1A_X") is True
    policies, _session, _sleeps = graph(dropped, dropped, dropped, XmlResponse(200, b"<still/>"))
    with pytest.raises(GraphError):
        policies.delete("B2C_1A_X")


def test_a_conflict_with_another_upload_is_not_sent_again_and_says_why():
    policies, session, sleeps = graph(graph_error(409, "AADB2C", "The policy 'B2C_1A_X' is being changed by another request."))
    with pytest.raises(GraphError) as caught:
        policies.put_xml("B2C_1A_X", b"<p/>")
    assert len(session.calls) == 1 and sleeps == []
    assert caught.value.hint == CONFLICT_HINT and "(HTTP 409, AADB2C); another upload changed this policy" in str(caught.value)


def test_a_stored_policy_is_read_streamed_and_whole_up_to_the_cap():
    body = b"<x>" + b"a" * (MAX_STORED_POLICY_BYTES - 7) + b"</x>"
    assert len(body) == MAX_STORED_POLICY_BYTES
    policies, session, _sleeps = graph(XmlResponse(200, body))
    assert policies.get_xml("B2C_1A_Big") == body
    assert session.options == [{"stream": True}]


def test_a_stored_policy_past_the_cap_stops_the_read_with_a_clear_error():
    oversized = XmlResponse(200, b"<x>" + b"a" * (3 * MAX_STORED_POLICY_BYTES) + b"</x>")
    policies, _session, _sleeps = graph(oversized)
    with pytest.raises(GraphError, match=r"GET /trustFramework/policies/B2C_1A_Big/\$value is more than 2048 KB; "
                                         r"reading stopped there") as info:
        policies.get_xml("B2C_1A_Big")
    assert info.value.status is None
    assert oversized.closed and oversized.chunks_read == MAX_STORED_POLICY_BYTES // (64 * 1024) + 1  # not the rest
    assert MAX_STORED_POLICY_BYTES == 2 * MAX_POLICY_BYTES


def test_a_declared_length_past_the_cap_is_refused_without_reading():
    declared = XmlResponse(200, b"<x/>")
    declared.headers["Content-Length"] = str(MAX_STORED_POLICY_BYTES + 1)
    policies, _session, _sleeps = graph(declared)
    with pytest.raises(GraphError, match="more than 2048 KB"):
        policies.get_xml("B2C_1A_Big")
    assert declared.closed and not hasattr(declared, "chunks_read")
