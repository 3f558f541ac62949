# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The test controls themselves: request log, seed, state, reset, apps; and concurrent use of the store."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from emulator.control import ControlError
from fidelity_helpers import GRAPH_SCOPE, PRIVATE_MEMBERS, Graph, msal_app


def test_request_log_names_every_route(graph, emulator):
    emulator.control.clear_requests()
    msal_app(emulator, emulator.client_id, emulator.client_secret).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    keyset = graph.create("Logged")
    key = graph.generate(keyset, use="sig", kty="RSA")
    graph.get()
    graph.get(f"/{keyset}")
    graph.get(f"/{keyset}/getActiveKey")
    graph.get(f"/{keyset}/keys_v2/{key['kid']}")
    graph.patch(f"/{keyset}/keys_v2/{key['kid']}", {"status": "enabled"})
    graph.put(f"/{keyset}", {"keys": [{"use": "sig", "kty": "RSA", "n": key["n"], "e": key["e"]}]})
    graph.post(f"/{keyset}/uploadSecret", {"use": "sig", "k": "x"})
    graph.post(f"/{keyset}/uploadCertificate", {"key": "bm90IGEgY2VydA=="})
    graph.post(f"/{keyset}/uploadPkcs12", {"key": "bm90IGEgcGZ4", "password": "x"})
    graph.delete(f"/{keyset}")
    graph.get(f"{emulator.url}/beta/nothing")
    graph.get(f"{emulator.url}/{emulator.tenant_id}/discovery/v2.0/keys")
    emulator.control.state()

    log = emulator.control.requests()
    assert [entry["route"] for entry in log] == [
        "discovery", "token", "keysets.create", "keys.generate", "keysets.list", "keysets.get", "keys.active", "keys_v2.get",
        "keys_v2.patch", "keysets.replace", "keys.uploadSecret", "keys.uploadCertificate", "keys.uploadPkcs12", "keysets.delete",
        "unknown", "jwks"]
    assert [entry["seq"] for entry in log] == sorted(entry["seq"] for entry in log)
    generate = log[3]
    assert generate["method"] == "POST" and generate["status"] == 200 and generate["keyset"] == keyset
    assert generate["path"] == f"/beta/trustFramework/keySets/{keyset}/generateKey"
    assert generate["duration_ms"] > 0 and generate["fault"] is None
    assert log[2]["keyset"] == keyset and log[2]["status"] == 201


def test_request_log_records_faults_and_drops(graph, emulator):
    emulator.control.clear_requests()
    emulator.control.add_fault("keysets.list", [{"drop": True}])
    with pytest.raises(requests.ConnectionError):
        graph.get()
    entry = emulator.control.requests()[-1]
    assert entry["status"] is None and entry["fault"] == {"drop": True}


def test_clear_requests(graph, emulator):
    graph.get()
    emulator.control.clear_requests()
    assert emulator.control.requests() == []


def test_seed_fills_kid_and_material_and_state_hides_private_parts(emulator, graph):
    seeded = emulator.control.seed([{"id": "B2C_1A_Seeded", "keys": [
        {"use": "sig", "kty": "RSA", "nbf": "1700000000"},
        {"use": "sig", "kty": "RSA", "kid": "given-kid", "status": "disabled"},
        {"use": "sig", "kty": "RSA", "status": None},
    ]}])
    keys = seeded[0]["keys"]
    assert len(keys[0]["kid"]) == 43 and keys[0]["n"] and keys[0]["nbf"] == "1700000000"
    assert keys[1]["kid"] == "given-kid" and keys[1]["status"] == "disabled"
    assert "status" not in keys[2]
    state = emulator.control.state()
    assert [keyset["id"] for keyset in state["keysets"]] == ["B2C_1A_Seeded"]
    assert emulator.client_id in state["apps"]
    for key in state["keysets"][0]["keys"]:
        assert not set(PRIVATE_MEMBERS) & set(key) and key["k"] is None
    assert graph.get("/B2C_1A_Seeded").json()["keys"][0]["nbf"] == "1700000000"


def test_seed_mixed_sets_are_allowed_for_tests(emulator, graph):
    emulator.control.seed([{"id": "B2C_1A_Mixed", "keys": [{"use": "sig", "kty": "oct"}, {"use": "enc", "kty": "RSA"}]}])
    assert len(graph.get("/B2C_1A_Mixed").json()["keys"]) == 2


def test_reset_empties_the_tenant_and_drops_later_apps(emulator, graph):
    graph.create("Gone")
    app = emulator.control.register_app()
    emulator.control.configure(page_size=1, not_found_status=400)
    emulator.control.add_fault("keysets.list", [{"status": 503}])
    emulator.control.reset()
    state = emulator.control.state()
    assert state["keysets"] == [] and state["faults"] == []
    assert app["client_id"] not in state["apps"] and emulator.client_id in state["apps"]
    assert state["settings"]["page_size"] is None and state["settings"]["not_found_status"] == 400
    assert state["settings"]["cloud"] == "global" and state["settings"]["replication_delay"] == 0
    assert emulator.control.requests() == []
    assert graph.get().status_code == 200


def test_register_app_generates_credentials(emulator):
    app = emulator.control.register_app(display_name="deployer")
    assert app["client_id"] and app["client_secret"] and app["permissions"] == ["TrustFrameworkKeySet.ReadWrite.All"]
    result = msal_app(emulator, app["client_id"], app["client_secret"]).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert "access_token" in result
    with pytest.raises(ControlError, match="already registered"):
        emulator.control.register_app(client_id=app["client_id"])
    with pytest.raises(ControlError, match="unknown app fields"):
        emulator.control.register_app(secret="x")


def test_federated_token_comes_from_the_external_issuer(emulator):
    token = emulator.control.federated_token("subject-1", lifetime=120)
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["iss"] == f"{emulator.url}/_emulator/issuer"
    assert claims["sub"] == "subject-1" and claims["aud"] == "api://AzureADTokenExchange"
    assert claims["exp"] - claims["iat"] == 120


def test_configure_refuses_unknown_or_bad_settings(emulator):
    with pytest.raises(ControlError, match="unknown settings"):
        emulator.control.configure(pagesize=3)
    with pytest.raises(ControlError, match="not_found_status"):
        emulator.control.configure(not_found_status=500)


def test_concurrent_generate_keeps_every_key(graph, emulator):
    keyset = graph.create("Busy")
    token = emulator.control.access_token()

    def generate(index):
        client = Graph(emulator, token)
        try:
            return client.post(f"/{keyset}/generateKey", {"use": "sig", "kty": "RSA", "nbf": 1700000000 + index}).json()["kid"]
        finally:
            client.session.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        kids = list(pool.map(generate, range(16)))
    stored = graph.get(f"/{keyset}").json()["keys"]
    assert len(set(kids)) == 16
    assert sorted(key["kid"] for key in stored) == sorted(kids)


def test_concurrent_create_of_one_id_succeeds_once(graph, emulator):
    token = emulator.control.access_token()

    def create(index):
        client = Graph(emulator, token)
        try:
            return client.post("", {"id": "Race"}).status_code
        finally:
            client.session.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(create, range(8)))
    assert statuses == [201] + [400] * 7  # AADB2C95028, at the default status
