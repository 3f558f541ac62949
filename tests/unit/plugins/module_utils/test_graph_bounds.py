# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the Graph client reads, and how far: next links on Graph's own host and beta API, a page cap, a size cap on
every JSON answer; and the neutral hook through which an API makes a refusal of its own wait (Transient)."""

from __future__ import annotations

import pytest

from ansible_collections.entra.b2c.plugins.module_utils._core import graph as _graph
from ansible_collections.entra.b2c.plugins.module_utils._core.graph import GraphError, Landing, Transient
from ansible_collections.entra.b2c.tests.unit.plugins.module_utils.test_graph import (
    FakeResponse,
    add_key,
    client,
    graph_error,
)

LAST_PAGE = FakeResponse(200, {"value": [{"id": "B2C_1A_Last"}]})


def page(link, item="B2C_1A_A"):
    return FakeResponse(200, {"value": [{"id": item}], "@odata.nextLink": link})


# -- next links --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["graph.example", "GRAPH.example", "graph.microsoft.com"],
                         ids=["endpoint", "endpoint-any-case", "cloud-graph"])
def test_a_next_link_on_the_endpoint_or_the_clouds_graph_is_followed_on_the_endpoint(host):
    graph, session, _sleeps = client(page(f"https://{host}/beta/trustFramework/keySets?$skiptoken=2"), LAST_PAGE)
    assert [item["id"] for item in graph.list_keysets()] == ["B2C_1A_A", "B2C_1A_Last"]
    assert session.calls[1][1] == "https://graph.example/beta/trustFramework/keySets?$skiptoken=2"


@pytest.mark.parametrize("link", [
    "https://elsewhere.example/beta/trustFramework/keySets?$skiptoken=2",
    "https://graph.example.elsewhere.example/beta/trustFramework/keySets?$skiptoken=2",
    "https://graph.example:8443/beta/trustFramework/keySets?$skiptoken=2",
    "/beta/trustFramework/keySets?$skiptoken=2",
], ids=["other-host", "lookalike-host", "other-port", "no-host"])
def test_a_next_link_on_another_host_is_not_followed(link):
    graph, session, _sleeps = client(page(link), LAST_PAGE)
    with pytest.raises(GraphError, match=r"nextLink outside its beta API .*it was not followed: check that "
                                         r"graph_endpoint is Microsoft Graph"):
        graph.list_keysets()
    assert len(session.calls) == 1


@pytest.mark.parametrize("link", [
    "https://graph.example/v1.0/trustFramework/keySets?$skiptoken=2",
    "https://graph.microsoft.com/users?$skiptoken=2",
    "https://graph.example/betas/trustFramework/keySets",
], ids=["v1.0", "no-version", "prefix-lookalike"])
def test_a_next_link_outside_the_beta_api_is_not_followed(link):
    graph, session, _sleeps = client(page(link), LAST_PAGE)
    with pytest.raises(GraphError, match="nextLink outside its beta API"):
        graph.list_keysets()
    assert len(session.calls) == 1


@pytest.mark.parametrize("link", [
    "https://graph.example/beta/../v1.0/users?$skiptoken=2",
    "https://graph.example/beta/%2E%2E/v1.0/users",
    "https://graph.example/beta/./trustFramework/keySets",
], ids=["dot-dot", "encoded-dot-dot", "dot"])
def test_a_next_link_climbing_out_of_the_beta_api_is_not_followed(link):
    """An HTTP client resolves dot segments before sending: /beta/../v1.0 would leave the beta API."""
    graph, session, _sleeps = client(page(link), LAST_PAGE)
    with pytest.raises(GraphError, match="nextLink outside its beta API"):
        graph.list_keysets()
    assert len(session.calls) == 1


# -- the page cap ------------------------------------------------------------------------------------------------------

def next_page(number):
    return page(f"https://graph.example/beta/trustFramework/keySets?$skiptoken={number}", f"B2C_1A_{number}")


def test_paging_stops_at_the_cap_and_says_so(monkeypatch):
    monkeypatch.setattr(_graph, "MAX_PAGES", 3)
    graph, session, _sleeps = client(next_page(1), next_page(2), next_page(3), LAST_PAGE)
    with pytest.raises(GraphError) as err:
        graph.list_keysets()
    assert len(session.calls) == 3
    assert str(err.value).startswith("Graph GET /trustFramework/keySets linked more than 3 pages; paging stopped "
                                     "there rather than follow links without end: check that graph_endpoint is "
                                     "Microsoft Graph")


def test_a_collection_of_exactly_the_cap_is_read_whole(monkeypatch):
    monkeypatch.setattr(_graph, "MAX_PAGES", 3)
    graph, session, _sleeps = client(next_page(1), next_page(2), LAST_PAGE)
    assert [item["id"] for item in graph.list_keysets()] == ["B2C_1A_1", "B2C_1A_2", "B2C_1A_Last"]
    assert len(session.calls) == 3


def test_the_page_cap_is_a_thousand_pages():
    assert _graph.MAX_PAGES == 1000


# -- the size of a JSON answer -----------------------------------------------------------------------------------------

CAP = 128 * 1024  # two of read_capped's 64 KB chunks
CHUNKS_AT_MOST = 3  # the chunk that passes the cap is the last one read


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setattr(_graph, "MAX_JSON_BYTES", CAP)


def huge(status=200):
    return FakeResponse(status, {"id": "B2C_1A_X", "keys": [], "padding": "x" * (8 * CAP)})


READERS = {
    "GET": (lambda graph: graph.get_keyset("B2C_1A_X"), "GET /trustFramework/keySets/B2C_1A_X"),
    "list": (lambda graph: graph.list_keysets(), "GET /trustFramework/keySets"),
    "key POST": (add_key, "POST /trustFramework/keySets/B2C_1A_K/generateKey"),
    "create": (lambda graph: graph.create_keyset("B2C_1A_X"), "Graph's answer to POST /trustFramework/keySets is"),
    "PATCH": (lambda graph: graph.request_json("PATCH", "/applications/o1?$select=id", {"a": 1}),
              "PATCH /applications/o1"),
}


@pytest.mark.usefixtures("small_cap")
@pytest.mark.parametrize("reader", sorted(READERS))
def test_a_json_answer_past_the_cap_is_refused_and_read_no_further(reader):
    read, named = READERS[reader]
    answer = huge()
    graph, session, _sleeps = client(answer)
    with pytest.raises(GraphError) as err:
        read(graph)
    assert named in str(err.value)
    assert ("is more than 128 KB; reading stopped there rather than hold an answer without bound: check that "
            "graph_endpoint is Microsoft Graph") in str(err.value)
    assert answer.chunks_read <= CHUNKS_AT_MOST and answer.closed
    assert session.options[0].get("stream") is True  # else the HTTP library would have read it all already
    assert len(session.calls) == 1  # never sent again


@pytest.mark.usefixtures("small_cap")
def test_an_answer_declaring_a_length_past_the_cap_is_not_read_at_all():
    answer = FakeResponse(200, {"id": "B2C_1A_X"}, headers={"Content-Length": str(CAP + 1)})
    graph, _session, _sleeps = client(answer)
    with pytest.raises(GraphError, match="more than 128 KB"):
        graph.get_keyset("B2C_1A_X")
    assert not hasattr(answer, "chunks_read") and answer.closed


@pytest.mark.usefixtures("small_cap")
def test_a_json_answer_within_the_cap_is_read():
    answer = FakeResponse(200, {"id": "B2C_1A_X", "keys": [], "padding": "x" * (CAP - 100)})
    graph, _session, _sleeps = client(answer)
    assert graph.get_keyset("B2C_1A_X")["id"] == "B2C_1A_X"


@pytest.mark.usefixtures("small_cap")
def test_an_error_answer_past_the_cap_keeps_its_status_and_is_read_no_further():
    answer = graph_error(400, "AADB2C95033", message="x" * (8 * CAP))
    graph, _session, _sleeps = client(answer)
    with pytest.raises(GraphError) as err:
        graph.get_keyset("B2C_1A_X")
    assert err.value.status == 400 and err.value.code is None  # its body was not parsed
    assert answer.chunks_read <= CHUNKS_AT_MOST and answer.closed


def test_the_json_cap_is_four_megabytes():
    assert _graph.MAX_JSON_BYTES == 4 * 1024 * 1024


# -- a refusal an API knows to pass with time --------------------------------------------------------------------------

def busy():
    return graph_error(400, "Busy", "try later", request_id="rid-busy")


def transient(graph, attempts):
    return Transient(lambda failure: failure.answered and failure.error.code == "Busy",
                     graph.client.wait_budget(total=30.0, max_attempts=attempts, cap=2.0),
                     lambda gave_up: f"the service stayed busy: {gave_up}")


def test_a_transient_refusal_is_read_then_sent_again_within_its_own_budget():
    reads = []
    graph, session, sleeps = client(busy(), busy(), FakeResponse(201, {"id": "new"}))
    rule = transient(graph, attempts=5)
    made = graph.client.post_once("/things", {"n": 1}, lambda: reads.append(1), Landing(), transient=rule)
    assert made == {"id": "new"} and len(session.calls) == 3
    assert sleeps == [1.0, 2.0] and rule.budget.waited == 3.0 and len(reads) == 2


def test_a_transient_refusal_past_its_budget_fails_in_its_apis_words():
    graph, session, _sleeps = client(busy(), busy())
    with pytest.raises(GraphError) as err:
        graph.client.post_once("/things", {"n": 1}, lambda: None, Landing(), transient=transient(graph, attempts=2))
    assert len(session.calls) == 2
    assert "; the service stayed busy: gave up after 2 attempts and 1 s of waiting [request-id rid-busy]" in str(
        err.value)


def test_without_its_rule_the_same_refusal_fails_at_once():
    graph, session, sleeps = client(busy())
    with pytest.raises(GraphError):
        graph.client.post_once("/things", {"n": 1}, lambda: pytest.fail("no read: the POST was refused"), Landing())
    assert len(session.calls) == 1 and sleeps == []
