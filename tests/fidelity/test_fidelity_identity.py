# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Entra ID as msal sees it: discovery, JWKS, client credentials (secret, certificate, federated) and AADSTS errors."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt as pyjwt
import msal
import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from fidelity_helpers import GRAPH_SCOPE, READ, READ_WRITE, graph_error, make_certificate, msal_app


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def aadsts(result: dict) -> int:
    """The AADSTS number of an msal error result, checked against Entra's error shape."""
    assert {"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id"} <= set(result), result
    code = result["error_codes"][0]
    assert result["error_description"].startswith(f"AADSTS{code}: ")
    assert "Trace ID: " in result["error_description"] and "Correlation ID: " in result["error_description"]
    return code


def post_token(emulator, **form) -> requests.Response:
    return requests.post(f"{emulator.url}/{emulator.tenant_id}/oauth2/v2.0/token", data=form, verify=emulator.ca_path, timeout=30)


@pytest.mark.parametrize("tenant", ["id", "domain"])
def test_discovery_by_tenant_id_or_domain(emulator, tenant):
    name = emulator.tenant_id if tenant == "id" else emulator.tenant_domain
    response = requests.get(f"{emulator.url}/{name}/v2.0/.well-known/openid-configuration", verify=emulator.ca_path, timeout=30)
    assert response.status_code == 200
    document = response.json()
    assert document["token_endpoint"] == f"{emulator.url}/{emulator.tenant_id}/oauth2/v2.0/token"
    assert document["authorization_endpoint"].startswith(f"{emulator.url}/{emulator.tenant_id}/")
    assert document["issuer"] == f"{emulator.url}/{emulator.tenant_id}/v2.0"
    assert document["jwks_uri"] == f"{emulator.url}/{emulator.tenant_id}/discovery/v2.0/keys"


def test_90002_unknown_tenant(emulator):
    response = requests.get(f"{emulator.url}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration",
                            verify=emulator.ca_path, timeout=30)
    assert response.status_code == 400
    assert aadsts(response.json()) == 90002
    with pytest.raises(ValueError):
        msal_app(emulator, emulator.client_id, emulator.client_secret, tenant="contoso.onmicrosoft.com")


def test_secret_token_claims_verify_against_jwks(emulator):
    result = msal_app(emulator, emulator.client_id, emulator.client_secret).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert result["token_type"] == "Bearer" and result["expires_in"] == 3599
    jwks = requests.get(f"{emulator.url}/{emulator.tenant_id}/discovery/v2.0/keys", verify=emulator.ca_path, timeout=30).json()
    header = pyjwt.get_unverified_header(result["access_token"])
    assert header["alg"] == "RS256"
    signing_key = next(key for key in jwks["keys"] if key["kid"] == header["kid"])
    claims = pyjwt.decode(result["access_token"], pyjwt.PyJWK(signing_key).key, algorithms=["RS256"], audience="https://graph.microsoft.com")
    assert claims["tid"] == emulator.tenant_id
    assert claims["appid"] == emulator.client_id
    assert claims["roles"] == [READ_WRITE]
    assert claims["iss"] == f"https://sts.windows.net/{emulator.tenant_id}/"
    assert claims["appidacr"] == "1"
    assert claims["exp"] > time.time() + 3000
    assert claims["uti"] and claims["oid"]


CLOUDS = {"global": "https://graph.microsoft.com", "usgov": "https://graph.microsoft.us",
          "usgov_dod": "https://dod-graph.microsoft.us", "china": "https://microsoftgraph.chinacloudapi.cn"}


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_tenant_issues_tokens_for_its_own_clouds_graph_only(emulator, graph, cloud):
    emulator.control.configure(cloud=cloud)
    app = msal_app(emulator, emulator.client_id, emulator.client_secret)
    token = app.acquire_token_for_client(scopes=[f"{CLOUDS[cloud]}/.default"])["access_token"]
    assert claims_of(token)["aud"] == CLOUDS[cloud]
    assert graph.get(token=token).status_code == 200
    for other in set(CLOUDS.values()) - {CLOUDS[cloud]}:
        result = msal_app(emulator, emulator.client_id, emulator.client_secret).acquire_token_for_client(scopes=[f"{other}/.default"])
        assert result["error"] == "invalid_resource" and aadsts(result) == 500011, result
        assert f"The resource principal named {other} was not found in the tenant" in result["error_description"]


def test_500011_is_http_400(emulator):
    response = post_token(emulator, grant_type="client_credentials", client_id=emulator.client_id,
                          client_secret=emulator.client_secret, scope="https://management.azure.com/.default")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_resource" and aadsts(response.json()) == 500011


def test_graph_refuses_a_token_minted_for_another_clouds_graph(emulator, graph):
    for cloud, root in CLOUDS.items():
        emulator.control.configure(cloud=cloud)
        foreign = next(other for other in CLOUDS.values() if other != root)
        response = graph.get(token=emulator.control.access_token(audience=foreign))
        assert response.status_code == 401
        error = graph_error(response)
        assert (error["code"], error["message"]) == ("InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
        assert graph.get(token=emulator.control.access_token()).status_code == 200


def test_discovery_names_the_tenants_cloud(emulator):
    emulator.control.configure(cloud="china")
    document = requests.get(f"{emulator.url}/{emulator.tenant_id}/v2.0/.well-known/openid-configuration",
                            verify=emulator.ca_path, timeout=30).json()
    assert document["cloud_instance_name"] == "partner.microsoftonline.cn"
    assert document["msgraph_host"] == "microsoftgraph.chinacloudapi.cn"


def test_graph_app_id_names_graph_too(emulator):
    result = msal_app(emulator, emulator.client_id, emulator.client_secret).acquire_token_for_client(
        scopes=["00000003-0000-0000-c000-000000000000/.default"])
    assert claims_of(result["access_token"])["aud"] == "https://graph.microsoft.com"


def test_each_token_is_unique(emulator):
    first = post_token(emulator, grant_type="client_credentials", client_id=emulator.client_id,
                       client_secret=emulator.client_secret, scope=GRAPH_SCOPE).json()["access_token"]
    second = post_token(emulator, grant_type="client_credentials", client_id=emulator.client_id,
                        client_secret=emulator.client_secret, scope=GRAPH_SCOPE).json()["access_token"]
    assert claims_of(first)["uti"] != claims_of(second)["uti"]


def test_roles_follow_the_app_permissions(emulator):
    for permissions in ([READ], []):
        app = emulator.control.register_app(permissions=permissions)
        result = msal_app(emulator, app["client_id"], app["client_secret"]).acquire_token_for_client(scopes=[GRAPH_SCOPE])
        assert claims_of(result["access_token"])["roles"] == permissions


def test_7000215_wrong_secret(emulator):
    result = msal_app(emulator, emulator.client_id, "not-the-secret").acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert result["error"] == "invalid_client"
    assert aadsts(result) == 7000215
    assert "Invalid client secret provided" in result["error_description"]
    assert "not-the-secret" not in json.dumps(result)


def test_7000215_is_http_401(emulator):
    response = post_token(emulator, grant_type="client_credentials", client_id=emulator.client_id, client_secret="wrong", scope=GRAPH_SCOPE)
    assert response.status_code == 401


def test_700016_unknown_client(emulator):
    result = msal_app(emulator, str(uuid.uuid4()), "whatever").acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert result["error"] == "unauthorized_client"
    assert aadsts(result) == 700016


def test_7000216_no_credential(emulator):
    response = post_token(emulator, grant_type="client_credentials", client_id=emulator.client_id, scope=GRAPH_SCOPE)
    assert response.status_code == 401
    assert aadsts(response.json()) == 7000216


def test_1002012_client_credentials_scope_needs_dot_default(emulator):
    result = msal_app(emulator, emulator.client_id, emulator.client_secret).acquire_token_for_client(
        scopes=["https://graph.microsoft.com/User.Read"])
    assert result["error"] == "invalid_scope" and aadsts(result) == 1002012
    assert ("The provided value for scope https://graph.microsoft.com/User.Read is not valid. Client credential flows must "
            "have a scope value with /.default suffixed") in result["error_description"]


def test_28000_scopes_of_two_resources(emulator):
    result = msal_app(emulator, emulator.client_id, emulator.client_secret).acquire_token_for_client(
        scopes=[GRAPH_SCOPE, "https://management.azure.com/.default"])
    assert result["error"] == "invalid_scope" and aadsts(result) == 28000


def test_900144_no_scope(emulator):
    response = post_token(emulator, grant_type="client_credentials", client_id=emulator.client_id,
                          client_secret=emulator.client_secret)
    assert response.status_code == 400 and aadsts(response.json()) == 900144
    assert "'scope'" in response.json()["error_description"]


def test_certificate_rs256_with_sha1_thumbprint(emulator, certificate):
    app = emulator.control.register_app(certificate_pem=certificate.certificate_pem)
    assert app["client_secret"] is None
    credential = {"private_key": certificate.private_key_pem, "thumbprint": certificate.sha1_hex}
    result = msal_app(emulator, app["client_id"], credential).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert "access_token" in result, result
    assert claims_of(result["access_token"])["appidacr"] == "2"


def test_certificate_ps256_with_sha256_thumbprint_through_msal(emulator, certificate):
    if not hasattr(msal.application, "_extract_cert_and_thumbprints"):
        pytest.skip("this msal signs certificate assertions with RS256 only")
    app = emulator.control.register_app(certificate_pem=certificate.certificate_pem)
    credential = {"private_key": certificate.private_key_pem, "public_certificate": certificate.certificate_pem}
    result = msal_app(emulator, app["client_id"], credential).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert "access_token" in result, result


def test_certificate_ps256_assertion(emulator, certificate):
    app = emulator.control.register_app(certificate_pem=certificate.certificate_pem)
    now = int(time.time())
    claims = {"aud": f"{emulator.url}/{emulator.tenant_id}/oauth2/v2.0/token", "iss": app["client_id"], "sub": app["client_id"],
              "iat": now, "exp": now + 600, "jti": str(uuid.uuid4())}
    x5t_s256 = base64.urlsafe_b64encode(certificate.certificate.fingerprint(hashes.SHA256())).rstrip(b"=").decode()
    assertion = pyjwt.encode(claims, certificate.private_key_pem, algorithm="PS256", headers={"x5t#S256": x5t_s256})
    response = _post_assertion(emulator, app["client_id"], assertion)
    assert response.status_code == 200, response.text
    assert claims_of(response.json()["access_token"])["appidacr"] == "2"


def _assertion(emulator, certificate, client_id, **overrides):
    now = int(time.time())
    claims = {"aud": f"{emulator.url}/{emulator.tenant_id}/oauth2/v2.0/token", "iss": client_id, "sub": client_id,
              "iat": now, "nbf": now, "exp": now + 600, "jti": str(uuid.uuid4())}
    claims.update(overrides)
    x5t = base64.urlsafe_b64encode(bytes.fromhex(certificate.sha1_hex)).rstrip(b"=").decode()
    return pyjwt.encode(claims, certificate.private_key_pem, algorithm="RS256", headers={"x5t": x5t})


def _post_assertion(emulator, client_id, assertion):
    return post_token(emulator, grant_type="client_credentials", client_id=client_id, scope=GRAPH_SCOPE,
                      client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer", client_assertion=assertion)


def test_700027_certificate_not_registered(emulator, certificate):
    app = emulator.control.register_app(certificate_pem=make_certificate().certificate_pem)
    credential = {"private_key": certificate.private_key_pem, "thumbprint": certificate.sha1_hex}
    result = msal_app(emulator, app["client_id"], credential).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert result["error"] == "invalid_client"
    assert aadsts(result) == 700027


def test_700027_signature_by_another_key(emulator, certificate):
    app = emulator.control.register_app(certificate_pem=certificate.certificate_pem)
    impostor = make_certificate()
    assertion = _assertion(emulator, impostor, app["client_id"])
    header, claims, _signature = assertion.split(".")
    forged_signature = impostor.private_key.sign(f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    # keep the registered certificate's thumbprint in the header, signed by another key
    registered_x5t = base64.urlsafe_b64encode(bytes.fromhex(certificate.sha1_hex)).rstrip(b"=").decode()
    forged_header = base64.urlsafe_b64encode(json.dumps({"alg": "RS256", "typ": "JWT", "x5t": registered_x5t}).encode()).rstrip(b"=").decode()
    forged = f"{forged_header}.{claims}.{base64.urlsafe_b64encode(forged_signature).rstrip(b'=').decode()}"
    response = _post_assertion(emulator, app["client_id"], forged)
    assert response.status_code == 401
    assert aadsts(response.json()) == 700027


def test_700024_expired_certificate_assertion(emulator, certificate):
    app = emulator.control.register_app(certificate_pem=certificate.certificate_pem)
    now = int(time.time())
    expired = _assertion(emulator, certificate, app["client_id"], iat=now - 3600, nbf=now - 3600, exp=now - 60)
    response = _post_assertion(emulator, app["client_id"], expired)
    assert response.status_code == 401
    assert aadsts(response.json()) == 700024


def test_700023_assertion_for_another_audience(emulator, certificate):
    app = emulator.control.register_app(certificate_pem=certificate.certificate_pem)
    assertion = _assertion(emulator, certificate, app["client_id"], aud="https://login.microsoftonline.com/other/oauth2/v2.0/token")
    response = _post_assertion(emulator, app["client_id"], assertion)
    assert aadsts(response.json()) == 700023


def test_700021_assertion_issued_for_another_client(emulator, certificate):
    app = emulator.control.register_app(certificate_pem=certificate.certificate_pem)
    response = _post_assertion(emulator, app["client_id"], _assertion(emulator, certificate, str(uuid.uuid4())))
    assert aadsts(response.json()) == 700021


def test_50027_malformed_assertion(emulator):
    response = _post_assertion(emulator, emulator.client_id, "not.a.jwt")
    assert response.status_code == 400
    assert aadsts(response.json()) == 50027


def test_federated_assertion(emulator):
    app = emulator.control.register_app(federated={"subject": "system:serviceaccount:b2c:keys"})
    assertion = emulator.control.federated_token("system:serviceaccount:b2c:keys")
    result = msal_app(emulator, app["client_id"], {"client_assertion": lambda: assertion}).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert "access_token" in result, result
    assert claims_of(result["access_token"])["appid"] == app["client_id"]


def test_70021_federated_subject_mismatch(emulator):
    app = emulator.control.register_app(federated={"subject": "repo:entra-b2c/entra.b2c:ref:refs/heads/main"})
    assertion = emulator.control.federated_token("repo:someone/else:ref:refs/heads/main")
    result = msal_app(emulator, app["client_id"], {"client_assertion": lambda: assertion}).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert aadsts(result) == 70021


def test_70021_federated_audience_mismatch(emulator):
    app = emulator.control.register_app(federated={"subject": "workload"})
    assertion = emulator.control.federated_token("workload", audience="api://SomethingElse")
    result = msal_app(emulator, app["client_id"], {"client_assertion": lambda: assertion}).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert aadsts(result) == 70021


def test_700024_expired_federated_assertion(emulator):
    app = emulator.control.register_app(federated={"subject": "workload"})
    assertion = emulator.control.federated_token("workload", lifetime=-600)
    result = msal_app(emulator, app["client_id"], {"client_assertion": lambda: assertion}).acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert aadsts(result) == 700024


def test_ready_access_token_from_control_works_without_msal(emulator, graph):
    app = emulator.control.register_app(permissions=[READ])
    token = emulator.control.access_token(client_id=app["client_id"])
    claims = claims_of(token)
    assert claims["roles"] == [READ] and claims["aud"] == "https://graph.microsoft.com"
    assert graph.get(token=token).status_code == 200
    custom = claims_of(emulator.control.access_token(roles=["Custom.Role"]))
    assert custom["roles"] == ["Custom.Role"] and custom["appid"] == emulator.client_id


def test_client_secret_in_http_basic_auth(emulator):
    response = requests.post(f"{emulator.url}/{emulator.tenant_domain}/oauth2/v2.0/token", verify=emulator.ca_path, timeout=30,
                             auth=(emulator.client_id, emulator.client_secret),
                             data={"grant_type": "client_credentials", "scope": GRAPH_SCOPE})
    assert response.status_code == 200, response.text
    assert claims_of(response.json()["access_token"])["appid"] == emulator.client_id
