# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Injected faults: throttling, outages, dropped connections, writes that land before the error, delays, latency."""

from __future__ import annotations

import time

import msal
import pytest
import requests
from emulator.control import ControlError
from fidelity_helpers import GRAPH_SCOPE, graph_error, msal_app


def test_429_with_retry_after_then_normal(graph, emulator):
    keyset = graph.create("Throttled")
    emulator.control.add_fault("keys.generate", [{"status": 429, "retry_after": 2}])
    throttled = graph.post(f"/{keyset}/generateKey", {"use": "sig", "kty": "RSA"})
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2"
    assert graph_error(throttled)["code"] == "AADB2C95043"
    assert graph.get(f"/{keyset}").json()["keys"] == []
    assert graph.post(f"/{keyset}/generateKey", {"use": "sig", "kty": "RSA"}).status_code == 200


def test_queue_is_consumed_in_order(graph, emulator):
    emulator.control.add_fault("keysets.list", [{"status": 503, "retry_after": 1}, {"status": 504}])
    first, second, third = graph.get(), graph.get(), graph.get()
    assert (first.status_code, second.status_code, third.status_code) == (503, 504, 200)
    assert first.headers["Retry-After"] == "1" and "Retry-After" not in second.headers
    assert graph_error(first)["code"] and graph_error(second)["code"]


def test_429_on_the_token_endpoint_has_entra_shape(emulator):
    emulator.control.add_fault("token", [{"status": 429, "retry_after": 1}])
    response = requests.post(f"{emulator.url}/{emulator.tenant_id}/oauth2/v2.0/token", verify=emulator.ca_path, timeout=30,
                             data={"grant_type": "client_credentials", "client_id": emulator.client_id,
                                   "client_secret": emulator.client_secret, "scope": GRAPH_SCOPE})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    body = response.json()
    assert body["error"] and body["error_codes"] and body["error_description"].startswith(f"AADSTS{body['error_codes'][0]}:")


def test_drop_closes_the_connection_without_answer(graph, emulator):
    keyset = graph.create("Dropped")
    emulator.control.add_fault("keys.generate", [{"drop": True}])
    with pytest.raises(requests.ConnectionError):
        graph.post(f"/{keyset}/generateKey", {"use": "sig", "kty": "RSA"})
    assert graph.get(f"/{keyset}").json()["keys"] == []
    assert graph.post(f"/{keyset}/generateKey", {"use": "sig", "kty": "RSA"}).status_code == 200


def test_commit_then_500_leaves_the_key(graph, emulator):
    keyset = graph.create("Committed")
    emulator.control.add_fault("keys.generate", [{"commit": True, "status": 500}])
    response = graph.post(f"/{keyset}/generateKey", {"use": "sig", "kty": "RSA"})
    assert response.status_code == 500
    assert len(graph.get(f"/{keyset}").json()["keys"]) == 1


def test_commit_then_drop_leaves_the_key(graph, emulator):
    keyset = graph.create("CommittedDrop")
    emulator.control.add_fault("keys.generate", [{"commit": True, "drop": True}])
    with pytest.raises(requests.ConnectionError):
        graph.post(f"/{keyset}/generateKey", {"use": "sig", "kty": "RSA"})
    assert len(graph.get(f"/{keyset}").json()["keys"]) == 1


def test_delay_then_normal_answer(graph, emulator):
    emulator.control.add_fault("keysets.list", [{"delay": 0.4}])
    started = time.monotonic()
    response = graph.get()
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.4


def test_any_status_and_code_pair(graph, emulator):
    emulator.control.add_fault("keysets.get", [{"status": 401, "code": "InvalidAuthenticationToken", "message": "Lifetime validation failed."}])
    graph.create("Custom")
    response = graph.get("/B2C_1A_Custom")
    assert response.status_code == 401
    error = graph_error(response)
    assert (error["code"], error["message"]) == ("InvalidAuthenticationToken", "Lifetime validation failed.")


def test_fault_filters_on_keyset_and_method(graph, emulator):
    graph.create("Target")
    graph.create("Bystander")
    emulator.control.add_fault("keysets.get", [{"status": 503}], keyset="B2C_1A_Target", method="GET")
    assert graph.get("/B2C_1A_Bystander").status_code == 200
    assert graph.get("/B2C_1A_Target").status_code == 503
    assert graph.get("/B2C_1A_Target").status_code == 200


def test_fault_on_create_matches_the_resulting_id(graph, emulator):
    emulator.control.add_fault("keysets.create", [{"status": 409, "code": "AADB2C95053"}], keyset="B2C_1A_Busy")
    assert graph.post("", {"id": "Calm"}).status_code == 201
    busy = graph.post("", {"id": "Busy"})
    assert busy.status_code == 409 and graph_error(busy)["code"] == "AADB2C95053"


def test_token_fault_reaches_msal(emulator):
    emulator.control.add_fault("token", [{"status": 503}])
    app = msal_app(emulator, emulator.client_id, emulator.client_secret)
    # msal raises on a 5xx from the token endpoint (older versions answered an error dict)
    try:
        result = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
    except msal.exceptions.MsalServiceError as exc:
        assert "503" in str(exc)
    else:
        assert "access_token" not in result
    assert emulator.control.requests()[-1]["status"] == 503


def test_clear_faults(graph, emulator):
    emulator.control.add_fault("keysets.list", [{"status": 503}])
    emulator.control.clear_faults()
    assert graph.get().status_code == 200


def test_invalid_fault_is_refused(emulator):
    with pytest.raises(ControlError, match="route must be one of"):
        emulator.control.add_fault("keys.nonsense", [{"status": 500}])
    with pytest.raises(ControlError, match="unknown fault fields"):
        emulator.control.add_fault("keys.generate", [{"stauts": 500}])


def test_latency_applies_to_graph_not_to_controls(graph, emulator):
    emulator.control.configure(latency_ms=150)
    started = time.monotonic()
    graph.get()
    assert time.monotonic() - started >= 0.15
    started = time.monotonic()
    emulator.control.state()
    assert time.monotonic() - started < 0.15
