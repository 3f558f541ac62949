# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The structured `error` a failed task returns beside `msg`: what Graph gave, null where it gave nothing, absent when
Graph did not answer."""

from __future__ import annotations

import pytest
import requests

from ansible_collections.entra.b2c.plugins.module_utils._core.graph import GraphError
from ansible_collections.entra.b2c.plugins.module_utils._keysets.keys import KeyInputError
from ansible_collections.entra.b2c.plugins.module_utils._core.context import RunContext, error_result, first_error, outcome
from ansible_collections.entra.b2c.plugins.module_utils._core.errors import TaskFailed

from ansible_collections.entra.b2c.tests.unit.plugins.module_utils.test_graph import FakeResponse, client

KEYS = {"status", "code", "message", "request_id", "date"}


def failure_of(*script) -> GraphError:
    graph, _session, _sleeps = client(*script)
    with pytest.raises(GraphError) as info:
        graph.get_keyset("B2C_1A_Signing")
    return info.value


def test_a_graph_envelope_gives_every_field_as_graph_gave_it():
    envelope = {"error": {"code": "AADB2C90035", "message": "The key set is locked.",
                          "innerError": {"date": "2026-12-07T10:59:12", "request-id": "rid-body",
                                         "client-request-id": "crid"}}}
    error = failure_of(FakeResponse(409, envelope, {"request-id": "rid-header", "Date": "Mon, 07 Dec 2026 10:59:12 GMT"}))
    assert error_result(error) == {"error": {"status": 409, "code": "AADB2C90035", "message": "The key set is locked.",
                                             "request_id": "rid-header", "date": "2026-12-07T10:59:12"}}
    assert "AADB2C90035" in str(error)  # msg keeps saying it all


def test_what_graph_did_not_give_is_null_never_guessed():
    error = failure_of(FakeResponse(403, text="<html>Forbidden</html>", headers={"Date": "Mon, 07 Dec 2026 10:59:12 GMT"}))
    facts = error_result(error)["error"]
    assert set(facts) == KEYS
    assert facts == {"status": 403, "code": None, "message": None, "request_id": None,
                     "date": "Mon, 07 Dec 2026 10:59:12 GMT"}  # the Date header when innerError has no date
    bare = failure_of(FakeResponse(400, {"error": {"code": "BadRequest"}}))
    assert error_result(bare)["error"] == {"status": 400, "code": "BadRequest", "message": None, "request_id": None,
                                           "date": None}


def test_a_failure_graph_never_answered_has_no_error():
    script = [requests.exceptions.ConnectionError("refused")] * 10
    error = failure_of(*script)
    assert error.status is None and error_result(error) == {}
    assert error_result(KeyInputError("exp: not a date")) == {}


def test_the_message_is_graphs_own_words_not_the_task_message():
    error = failure_of(FakeResponse(400, {"error": {"code": "AADB2C", "message": "Bad key."}}))
    error.message = "B2C_1A_X (x.xml) was not uploaded: " + error.message  # as the flows prefix it
    assert error_result(error)["error"]["message"] == "Bad key."


def test_first_error_is_the_first_failed_entry_that_has_one():
    first = {"status": 400, "code": "A", "message": "a", "request_id": "1", "date": None}
    second = dict(first, code="B")
    entries = [{"failed": False}, {"failed": True, "msg": "no answer"}, {"failed": True, "error": first},
               {"failed": True, "error": second}]
    assert first_error(entries) == {"error": first}
    assert first_error([{"failed": True, "msg": "x"}, {"changed": True}]) == {}


def test_outcome_returns_error_beside_msg_and_the_facts_of_what_was_done():
    error = failure_of(FakeResponse(403, {"error": {"code": "Authorization_RequestDenied", "message": "Denied.",
                                                    "innerError": {"request-id": "rid", "date": "2026-12-07T10:59:12"}}}))

    def flow(_run):
        raise TaskFailed(str(error), {"changed": False, "keyset": "B2C_1A_Signing"}, cause=error) from error

    result = outcome(flow, RunContext({}))
    assert result["failed"] is True and result["msg"] == str(error)
    assert result["keyset"] == "B2C_1A_Signing" and result["changed"] is False
    assert result["error"] == {"status": 403, "code": "Authorization_RequestDenied", "message": "Denied.", "request_id": "rid",
                               "date": "2026-12-07T10:59:12"}


def test_outcome_adds_no_error_for_bad_input():
    def flow(_run):
        raise KeyInputError("exp: give a date")

    result = outcome(flow, RunContext({}))
    assert result == {"failed": True, "msg": "exp: give a date"}


def test_outcome_returns_what_the_flow_returns_and_lets_a_crash_through():
    assert outcome(lambda run: {"changed": run.check_mode}, RunContext({}, check_mode=True)) == {"changed": True}

    def crashing(_run):
        raise ZeroDivisionError("a bug, not the user's to fix")

    with pytest.raises(ZeroDivisionError):  # a crash is reported with its traceback by the door, not as msg
        outcome(crashing, RunContext({}))
