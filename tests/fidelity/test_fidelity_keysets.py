# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Graph beta key set endpoints: the behaviour of a successful call, as Microsoft documents it."""

from __future__ import annotations

import base64
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from fidelity_helpers import PRIVATE_MEMBERS, graph_error, make_certificate

B64URL_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_generate_key_answers_microsofts_documented_example(graph):
    keyset = graph.create("TokenSigningKeyContainer")
    response = graph.post(f"/{keyset}/generateKey", {"use": "sig", "kty": "RSA", "nbf": 1508969811, "exp": 1508969811})

    assert response.status_code == 200
    key = response.json()
    assert key["kty"] == "RSA" and key["use"] == "sig"
    assert key["nbf"] == 1508969811 and key["exp"] == 1508969811
    assert key["x5c"] == []
    assert "k" in key and key["k"] is None
    assert key["e"] == "AQAB"
    modulus = base64.urlsafe_b64decode(key["n"] + "=" * (-len(key["n"]) % 4))
    assert len(modulus) * 8 == 2048
    assert len(key["kid"]) == 43 and set(key["kid"]) <= B64URL_ALPHABET
    assert not set(PRIVATE_MEMBERS) & set(key)
    assert key["@odata.context"].endswith("$metadata#microsoft.graph.trustFrameworkKey")


def test_generated_keys_are_distinct_real_rsa_keys(graph):
    keyset = graph.create("Distinct")
    first, second = graph.generate(keyset, use="sig", kty="RSA"), graph.generate(keyset, use="sig", kty="RSA")
    assert first["kid"] != second["kid"]
    assert first["n"] != second["n"]


def test_generate_without_times_leaves_nbf_and_exp_absent(graph):
    keyset = graph.create("NoTimes")
    key = graph.generate(keyset, use="enc", kty="RSA")
    assert "nbf" not in key and "exp" not in key
    stored = graph.get(f"/{keyset}").json()["keys"][0]
    assert "nbf" not in stored and "exp" not in stored
    assert stored["status"] == "enabled"


def test_generate_oct_key_returns_no_secret(graph):
    keyset = graph.create("Secret")
    key = graph.generate(keyset, use="sig", kty="oct", nbf=int(time.time()))
    assert key["kty"] == "oct" and key["k"] is None
    assert "n" not in key and "e" not in key


def test_generate_accepts_times_as_digit_strings(graph):
    keyset = graph.create("StringTimes")
    key = graph.generate(keyset, use="sig", kty="RSA", nbf="1700000000", exp="1900000000")
    assert (key["nbf"], key["exp"]) == (1700000000, 1900000000)


def test_create_prepends_prefix_once(graph):
    response = graph.post("", {"id": "MyContainer"})
    assert response.status_code == 201
    assert response.json()["id"] == "B2C_1A_MyContainer"
    assert response.json()["keys"] == []
    # the service names the new set in OData's key-in-parentheses form (Microsoft's create example), a working address
    assert response.headers["Location"] == f"{graph.root}('B2C_1A_MyContainer')"
    assert graph.get(response.headers["Location"]).json()["id"] == "B2C_1A_MyContainer"

    prefixed = graph.post("", {"id": "B2C_1A_Other"})
    assert prefixed.status_code == 201
    assert prefixed.json()["id"] == "B2C_1A_Other"
    assert graph.get("/B2C_1A_Other").status_code == 200
    assert graph_error(graph.get("/B2C_1A_B2C_1A_Other"))["code"] == "AADB2C90073"


def test_create_refuses_invalid_names(graph):
    for name in ("has space", "slash/inside", "semi;colon", ""):
        response = graph.post("", {"id": name})
        assert response.status_code == 400, name
        assert graph_error(response)["code"] == "BadRequest"
    assert graph.get().json()["value"] == []


def test_create_with_inline_keys_fails_like_the_service(graph):
    response = graph.post("", {"id": "Inline", "keys": [{"use": "sig", "kty": "oct", "k": "c2VjcmV0"}]})
    assert response.status_code == 400
    assert "The 'keySet' field is invalid" in graph_error(response)["message"]
    assert graph_error(graph.get("/B2C_1A_Inline"))["code"] == "AADB2C90073"


def test_list_carries_odata_context_and_all_sets(graph):
    for name in ("One", "Two", "Three"):
        graph.create(name)
    body = graph.get().json()
    assert body["@odata.context"].endswith("/beta/$metadata#trustFramework/keySets")
    assert [keyset["id"] for keyset in body["value"]] == ["B2C_1A_One", "B2C_1A_Two", "B2C_1A_Three"]
    assert "@odata.nextLink" not in body


def test_list_pages_with_next_link_when_configured(graph, emulator):
    for index in range(5):
        graph.create(f"Paged{index}")
    emulator.control.configure(page_size=2)
    seen, url, pages = [], "", 0
    while True:
        body = graph.get(url).json()
        pages += 1
        seen += [keyset["id"] for keyset in body["value"]]
        if "@odata.nextLink" not in body:
            break
        url = body["@odata.nextLink"]
        assert url.startswith(graph.root + "?")
    assert pages == 3
    assert seen == [f"B2C_1A_Paged{index}" for index in range(5)]


def test_replace_puts_keys_with_new_kids_and_hides_private_parts(graph):
    keyset = graph.create("Replaced")
    graph.generate(keyset, use="sig", kty="oct")
    response = graph.put(f"/{keyset}", {"keys": [{"use": "sig", "kty": "oct", "k": "c2VjcmV0LXZhbHVl", "nbf": 1700000000}]})
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert len(keys) == 1
    assert keys[0]["k"] is None and keys[0]["nbf"] == 1700000000 and len(keys[0]["kid"]) == 43


def test_private_parts_of_put_rsa_key_are_never_returned(graph):
    cert = make_certificate()
    numbers = cert.private_key.private_numbers()

    def b64(value):
        return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

    jwk = {"use": "enc", "kty": "RSA", "e": b64(numbers.public_numbers.e), "n": b64(numbers.public_numbers.n), "d": b64(numbers.d),
           "p": b64(numbers.p), "q": b64(numbers.q), "dp": b64(numbers.dmp1), "dq": b64(numbers.dmq1), "qi": b64(numbers.iqmp)}
    keyset = graph.create("Jwk")
    assert graph.put(f"/{keyset}", {"keys": [jwk]}).status_code == 200
    for body in (graph.get(f"/{keyset}").json()["keys"][0], graph.get(f"/{keyset}/getActiveKey").json(), graph.get().json()["value"][0]["keys"][0]):
        assert not set(PRIVATE_MEMBERS) & set(body)
        assert body["n"] == jwk["n"]


def test_delete_keeps_a_backup_set_holding_the_keys(graph):
    keyset = graph.create("Deleted")
    key = graph.generate(keyset, use="sig", kty="RSA")
    response = graph.delete(f"/{keyset}")
    assert response.status_code == 204
    assert response.content == b""
    assert graph_error(graph.get(f"/{keyset}"))["code"] == "AADB2C90073"
    backup = graph.get(f"/{keyset}.bak")
    assert backup.status_code == 200
    assert [stored["kid"] for stored in backup.json()["keys"]] == [key["kid"]]


def test_deleting_a_backup_keeps_no_backup(graph):
    keyset = graph.create("Twice")
    graph.delete(f"/{keyset}")
    assert graph.delete(f"/{keyset}.bak").status_code == 204
    assert [item["id"] for item in graph.get().json()["value"]] == []


def test_get_active_key_prefers_latest_nbf_then_latest_exp(graph, emulator):
    now = int(time.time())
    emulator.control.seed([{"id": "B2C_1A_Active", "keys": [
        {"kid": "no-nbf", "use": "sig", "kty": "RSA"},
        {"kid": "older", "use": "sig", "kty": "RSA", "nbf": now - 7200, "exp": now + 86400},
        {"kid": "newer-short", "use": "sig", "kty": "RSA", "nbf": now - 3600, "exp": now + 600},
        {"kid": "newer-long", "use": "sig", "kty": "RSA", "nbf": str(now - 3600), "exp": str(now + 7200)},
        {"kid": "disabled", "use": "sig", "kty": "RSA", "nbf": now - 60, "status": "disabled"},
        {"kid": "future", "use": "sig", "kty": "RSA", "nbf": now + 3600},
        {"kid": "expired", "use": "sig", "kty": "RSA", "nbf": now - 60, "exp": now - 30},
    ]}])
    response = graph.get("/B2C_1A_Active/getActiveKey")
    assert response.status_code == 200
    assert response.json()["kid"] == "newer-long"
    assert response.json()["k"] is None


def test_get_active_key_without_nbf_prefers_no_exp(graph, emulator):
    emulator.control.seed([{"id": "B2C_1A_Open", "keys": [
        {"kid": "bounded", "use": "sig", "kty": "RSA", "exp": int(time.time()) + 60},
        {"kid": "open", "use": "sig", "kty": "RSA"},
    ]}])
    assert graph.get("/B2C_1A_Open/getActiveKey").json()["kid"] == "open"


def test_get_active_key_with_no_valid_key_is_404(graph, emulator):
    emulator.control.seed([{"id": "B2C_1A_Stale", "keys": [{"use": "sig", "kty": "RSA", "exp": int(time.time()) - 1}]}])
    response = graph.get("/B2C_1A_Stale/getActiveKey")
    assert response.status_code == 404
    assert graph_error(response)["code"]


def test_keys_v2_get_and_patch_disable(graph):
    keyset = graph.create("Status")
    first = graph.generate(keyset, use="sig", kty="RSA", nbf=int(time.time()) - 100)
    second = graph.generate(keyset, use="sig", kty="RSA", nbf=int(time.time()) - 50)
    assert graph.get(f"/{keyset}/getActiveKey").json()["kid"] == second["kid"]

    response = graph.patch(f"/{keyset}/keys_v2/{second['kid']}", {"status": "disabled"})
    assert response.status_code == 204 and response.content == b""
    fetched = graph.get(f"/{keyset}/keys_v2/{second['kid']}")
    assert fetched.status_code == 200 and fetched.json()["status"] == "disabled"
    assert graph.get(f"/{keyset}/getActiveKey").json()["kid"] == first["kid"]


def test_keys_v2_patch_takes_only_status(graph):
    keyset = graph.create("PatchOnly")
    key = graph.generate(keyset, use="sig", kty="RSA")
    response = graph.patch(f"/{keyset}/keys_v2/{key['kid']}", {"status": "disabled", "exp": 1})
    assert response.status_code == 400
    assert graph.get(f"/{keyset}/keys_v2/{key['kid']}").json()["status"] == "enabled"


def test_upload_secret_stores_an_oct_key_without_returning_it(graph, emulator):
    keyset = graph.create("Uploaded")
    response = graph.post(f"/{keyset}/uploadSecret", {"use": "sig", "k": "a-shared-secret-value", "exp": 1900000000})
    assert response.status_code == 200
    key = response.json()
    assert key["kty"] == "oct" and key["k"] is None and key["exp"] == 1900000000
    assert "a-shared-secret-value" not in str(emulator.control.state())


def test_upload_certificate_reports_thumbprint_and_validity(graph):
    cert = make_certificate(days=90)
    keyset = graph.create("Cert")
    response = graph.post(f"/{keyset}/uploadCertificate", {"key": base64.b64encode(cert.der).decode()})
    assert response.status_code == 200
    key = response.json()
    assert key["use"] == "sig" and key["kty"] == "RSA"
    assert key["x5t"] == base64.urlsafe_b64encode(bytes.fromhex(cert.sha1_hex)).rstrip(b"=").decode()
    assert key["x5c"] == [base64.b64encode(cert.der).decode()]
    assert key["nbf"] == int(cert.certificate.not_valid_before_utc.timestamp())
    assert key["exp"] == int(cert.certificate.not_valid_after_utc.timestamp())


def test_upload_pkcs12_with_password(graph):
    cert = make_certificate()
    pfx = pkcs12.serialize_key_and_certificates(b"test", cert.private_key, cert.certificate, None,
                                                serialization.BestAvailableEncryption(b"s3cret"))
    keyset = graph.create("Pfx")
    response = graph.post(f"/{keyset}/uploadPkcs12", {"key": base64.b64encode(pfx).decode(), "password": "s3cret"})
    assert response.status_code == 200
    key = response.json()
    assert key["kty"] == "RSA" and key["k"] is None and not set(PRIVATE_MEMBERS) & set(key)
    assert key["x5c"] == [base64.b64encode(cert.der).decode()]


def test_kty_is_compared_without_case(graph, emulator):
    emulator.control.seed([{"id": "B2C_1A_Case", "keys": [{"use": "sig", "kty": "rsa"}]}])
    response = graph.post("/B2C_1A_Case/generateKey", {"use": "sig", "kty": "RSA"})
    assert response.status_code == 200


def test_segment_names_and_encoded_ids(graph):
    graph.create("Encoded")
    assert graph.get("/B2C_1A_%45ncoded").status_code == 200
    assert graph.get("/B2C_1A_%2545ncoded").status_code == 400
    response = graph.get("/..%2F..%2Fetc")
    assert response.status_code == 400
    assert graph_error(response)["code"] == "BadRequest"


def test_odata_key_in_parentheses_and_function_call_forms(graph):
    """The forms the Graph SDKs send: keySets('id'), getActiveKey(), microsoft.graph.-qualified actions."""
    keyset = graph.create("OData")
    assert graph.get(f"('{keyset}')").json()["id"] == keyset
    key = graph.post(f"('{keyset}')/microsoft.graph.generateKey", {"use": "sig", "kty": "RSA"}).json()
    for path in (f"/{keyset}/getActiveKey()", f"('{keyset}')/getActiveKey()", f"/{keyset}/microsoft.graph.getActiveKey()",
                 f"/{keyset}/getActiveKey"):
        response = graph.get(path)
        assert response.status_code == 200, path
        assert response.json()["kid"] == key["kid"]
    assert graph.post(f"/{keyset}/microsoft.graph.uploadCertificate", {"key": ""}).status_code == 400  # routed, then validated
    assert graph_error(graph.get(f"('{keyset}')/generateKey()"))["code"] == "BadRequest"  # an action is not a call


def test_keyset_ids_are_matched_exactly(graph):
    """Guess (nothing public says either way): the strict choice; the collection always uses the id B2C returned."""
    graph.create("CaseSet")
    assert graph.get("/B2C_1A_CaseSet").status_code == 200
    for other in ("/B2C_1A_caseset", "/b2c_1a_CaseSet"):
        assert graph_error(graph.get(other))["code"] == "AADB2C90073"


def test_prefix_in_any_case_is_not_doubled(graph):
    """Guess: a create whose id starts with b2c_1a_ keeps one prefix, in the service's upper case."""
    assert graph.post("", {"id": "b2c_1a_Lower"}).json()["id"] == "B2C_1A_Lower"
    assert graph_error(graph.post("", {"id": "B2C_1A_Lower"}))["code"] == "AADB2C95028"


def test_added_keys_carry_status_enabled(graph):
    """trustFrameworkKey documents `status`; every way of adding a key answers it enabled."""
    cert = make_certificate()
    secret_set, cert_set, generated_set = graph.create("StSecret"), graph.create("StCert"), graph.create("StGen")
    answers = [graph.post(f"/{secret_set}/uploadSecret", {"use": "sig", "k": "c2VjcmV0LXZhbHVl"}).json(),
               graph.post(f"/{cert_set}/uploadCertificate", {"key": base64.b64encode(cert.der).decode("ascii")}).json(),
               graph.generate(generated_set, use="enc", kty="RSA")]
    assert [answer["status"] for answer in answers] == ["enabled"] * 3
    stored = [graph.get(f"/{name}").json()["keys"][0]["status"] for name in (secret_set, cert_set, generated_set)]
    assert stored == ["enabled"] * 3
