# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every documented Graph/B2C error, each in its own test: code, HTTP status and Graph's envelope."""

from __future__ import annotations

import base64
import uuid

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from fidelity_helpers import READ, graph_error, make_certificate


def test_error_envelope_and_request_id_headers(graph):
    client_request_id = str(uuid.uuid4())
    response = graph.get("/B2C_1A_Missing", headers={"client-request-id": client_request_id})
    error = graph_error(response)
    assert response.headers["client-request-id"] == client_request_id
    assert error["innerError"]["client-request-id"] == client_request_id
    assert error["innerError"]["request-id"] == response.headers["request-id"]
    uuid.UUID(response.headers["request-id"])
    assert response.headers["Content-Type"].startswith("application/json")


def test_success_carries_request_ids_too(graph):
    response = graph.get()
    assert response.status_code == 200
    uuid.UUID(response.headers["request-id"])
    uuid.UUID(response.headers["client-request-id"])


def test_90073_keyset_not_found_is_400(graph):
    """IEFPolicies treats a 400 on GET as "missing" (the B2C admin API answers its errors with 400)."""
    response = graph.get("/B2C_1A_Missing")
    assert response.status_code == 400
    error = graph_error(response)
    assert error["code"] == "AADB2C90073"
    assert error["message"] == ("KeyContainer with 'id': 'B2C_1A_Missing' cannot be found in the directory "
                                "'emulatorb2c.onmicrosoft.com'.")


def test_90073_status_can_be_404(graph, emulator):
    emulator.control.configure(not_found_status=404)
    for response in (graph.get("/B2C_1A_Missing"), graph.delete("/B2C_1A_Missing"), graph.get("/B2C_1A_Missing/getActiveKey")):
        assert response.status_code == 404
        assert graph_error(response)["code"] == "AADB2C90073"


def test_95028_keyset_exists_is_400(graph):
    graph.create("Twice")
    response = graph.post("", {"id": "Twice"})
    assert response.status_code == 400
    error = graph_error(response)
    assert error["code"] == "AADB2C95028"
    assert error["message"] == "Can't create trustframework key set with name 'B2C_1A_Twice' because it already exists."


def test_95028_status_can_be_409(graph, emulator):
    emulator.control.configure(exists_status=409)
    graph.create("Twice")
    response = graph.post("", {"id": "B2C_1A_Twice"})
    assert response.status_code == 409
    assert graph_error(response)["code"] == "AADB2C95028"


def test_95052_generate_into_missing_keyset(graph):
    response = graph.post("/B2C_1A_Nowhere/generateKey", {"use": "sig", "kty": "RSA"})
    assert response.status_code == 400
    error = graph_error(response)
    assert error["code"] == "AADB2C95052"
    assert error["message"] == ("The trustframework key set with id 'B2C_1A_Nowhere' in tenant 'emulatorb2c.onmicrosoft.com' is "
                                "not created. Please use 'Create api' to create the key set first.")
    assert graph.get().json()["value"] == []


def test_95052_upload_into_missing_keyset(graph):
    response = graph.post("/B2C_1A_Nowhere/uploadSecret", {"use": "sig", "k": "secret"})
    assert graph_error(response)["code"] == "AADB2C95052"


def test_generic_code_keeps_the_meaning_in_the_message(graph, emulator):
    """Some real B2C answers carry the code "AADB2C" only: the message is then all a client can go by."""
    emulator.control.configure(generic_error_code=True)
    keyset = graph.create("Generic")
    cases = [(graph.get("/B2C_1A_Missing"), "cannot be found in the directory"),
             (graph.post("/B2C_1A_Nowhere/generateKey", {"use": "sig", "kty": "RSA"}), "is not created"),
             (graph.post("", {"id": "Generic"}), "because it already exists"),
             (graph.post(f"/{keyset}/generateKey", {"use": "sig", "kty": "EC"}), "Bad kty parameter 'EC'")]
    for response, text in cases:
        assert response.status_code == 400
        error = graph_error(response)
        assert error["code"] == "AADB2C" and text in error["message"], error
    # Graph's own errors keep their codes
    assert graph_error(graph.get(token="not-a-token"))["code"] == "InvalidAuthenticationToken"


def test_95030_kty_missing(graph):
    keyset = graph.create("NoKty")
    response = graph.post(f"/{keyset}/generateKey", {"use": "sig"})
    assert response.status_code == 400
    assert graph_error(response)["code"] == "AADB2C95030"


def test_95031_kty_not_rsa_or_oct(graph):
    keyset = graph.create("BadKty")
    response = graph.post(f"/{keyset}/generateKey", {"use": "sig", "kty": "EC"})
    assert response.status_code == 400
    assert graph_error(response)["code"] == "AADB2C95031"


def test_95037_put_key_without_kty(graph):
    keyset = graph.create("PutNoKty")
    response = graph.put(f"/{keyset}", {"keys": [{"use": "sig", "k": "c2VjcmV0"}]})
    assert response.status_code == 400
    assert graph_error(response)["code"] == "AADB2C95037"


def test_95033_bad_use(graph):
    keyset = graph.create("BadUse")
    response = graph.post(f"/{keyset}/generateKey", {"use": "verify", "kty": "RSA"})
    assert response.status_code == 400
    assert graph_error(response)["code"] == "AADB2C95033"


def test_95032_rsa_and_oct_cannot_mix(graph):
    keyset = graph.create("MixKty")
    graph.generate(keyset, use="sig", kty="RSA")
    response = graph.post(f"/{keyset}/generateKey", {"use": "sig", "kty": "oct"})
    assert response.status_code == 400
    assert graph_error(response)["code"] == "AADB2C95032"
    assert len(graph.get(f"/{keyset}").json()["keys"]) == 1


def test_95042_sig_and_enc_cannot_mix_even_with_a_disabled_key(graph):
    keyset = graph.create("MixUse")
    key = graph.generate(keyset, use="sig", kty="RSA", exp=1)
    assert graph.patch(f"/{keyset}/keys_v2/{key['kid']}", {"status": "disabled"}).status_code == 204
    response = graph.post(f"/{keyset}/generateKey", {"use": "enc", "kty": "RSA"})
    assert response.status_code == 400
    assert graph_error(response)["code"] == "AADB2C95042"


def test_95025_pkcs12_wrong_password(graph):
    cert = make_certificate()
    pfx = pkcs12.serialize_key_and_certificates(b"test", cert.private_key, cert.certificate, None,
                                                serialization.BestAvailableEncryption(b"right"))
    keyset = graph.create("Pfx")
    response = graph.post(f"/{keyset}/uploadPkcs12", {"key": base64.b64encode(pfx).decode(), "password": "wrong"})
    assert response.status_code == 400
    assert graph_error(response)["code"] == "AADB2C95025"
    assert graph.get(f"/{keyset}").json()["keys"] == []


def test_95059_put_key_with_kid(graph):
    keyset = graph.create("PutKid")
    response = graph.put(f"/{keyset}", {"keys": [{"kid": "abc", "use": "sig", "kty": "oct", "k": "c2VjcmV0"}]})
    assert response.status_code == 400
    assert graph_error(response)["code"] == "AADB2C95059"


def test_401_without_token(graph):
    response = graph.get(token="")
    assert response.status_code == 401
    assert graph_error(response)["code"] == "InvalidAuthenticationToken"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_401_with_garbage_token(graph):
    response = graph.get(token="not-a-jwt")
    assert response.status_code == 401
    assert graph_error(response)["code"] == "InvalidAuthenticationToken"


def test_401_expired_token(graph, emulator):
    response = graph.get(token=emulator.control.access_token(expires_in=-60))
    assert response.status_code == 401
    error = graph_error(response)
    assert error["code"] == "InvalidAuthenticationToken"
    assert error["message"] == "Access token has expired or is not yet valid."


def test_401_token_for_another_audience(graph, emulator):
    response = graph.get(token=emulator.control.access_token(audience="https://management.azure.com"))
    assert response.status_code == 401
    assert graph_error(response)["code"] == "InvalidAuthenticationToken"


def test_401_tampered_token(graph, token):
    header, claims, signature = token.split(".")
    tampered = ".".join([header, claims, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")])
    response = graph.get(token=tampered)
    assert response.status_code == 401


def test_401_after_revocation(graph, emulator, token):
    assert graph.get().status_code == 200
    emulator.control.revoke_tokens()
    response = graph.get()
    assert response.status_code == 401
    assert graph_error(response)["code"] == "InvalidAuthenticationToken"
    fresh = emulator.control.access_token()
    assert graph.get(token=fresh).status_code == 200


def test_403_read_only_app_cannot_write(graph, emulator):
    app = emulator.control.register_app(permissions=[READ])
    read_only = emulator.control.access_token(client_id=app["client_id"])
    assert graph.get(token=read_only).status_code == 200
    for response in (graph.post("", {"id": "Nope"}, token=read_only),
                     graph.post("/B2C_1A_X/generateKey", {"use": "sig", "kty": "RSA"}, token=read_only)):
        assert response.status_code == 403
        error = graph_error(response)
        assert error["code"] == "Authorization_RequestDenied"
        assert error["message"] == "Insufficient privileges to complete the operation."
    assert graph.get().json()["value"] == []


def test_403_app_without_permission_cannot_read(graph, emulator):
    app = emulator.control.register_app(permissions=[])
    response = graph.get(token=emulator.control.access_token(client_id=app["client_id"]))
    assert response.status_code == 403
    assert graph_error(response)["code"] == "Authorization_RequestDenied"


def test_unknown_graph_route_is_bad_request(graph):
    response = graph.get(f"{graph.emulator.url}/beta/users")
    assert response.status_code == 400
    assert graph_error(response)["code"] == "BadRequest"


def test_unknown_path_outside_graph_is_unknown_error(graph):
    response = graph.get(f"{graph.emulator.url}/nothing/here")
    assert response.status_code == 404
    assert graph_error(response)["code"] == "UnknownError"


def test_invalid_json_body(graph):
    response = graph.request("POST", "", data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert graph_error(response)["code"] == "BadRequest"


def test_wrong_method_on_a_known_resource(graph):
    graph.create("Methods")
    response = graph.request("POST", "/B2C_1A_Methods/getActiveKey")
    assert response.status_code == 405
    assert graph_error(response)["code"] == "BadRequest"


def test_keys_v2_unknown_kid_is_404(graph):
    keyset = graph.create("Kids")
    response = graph.get(f"/{keyset}/keys_v2/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert response.status_code == 404
    assert graph_error(response)["code"] == "Request_ResourceNotFound"
