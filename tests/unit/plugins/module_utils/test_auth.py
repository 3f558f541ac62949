# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
import requests
import urllib3

from ansible_collections.entra.b2c.plugins.module_utils._core import graph as _graph
from ansible_collections.entra.b2c.plugins.module_utils._core.auth import (
    CLOUDS,
    AuthError,
    Credential,
    TokenProvider,
    default_ca_bundle,
    endpoint_root,
    federated_assertion_reader,
    load_certificate,
    resolve_cloud,
    resolve_credential,
)

TENANT = {"tenant_id": "contoso.onmicrosoft.com", "client_id": "11111111-2222-3333-4444-555555555555"}


def params(**values):
    base = {"tenant_id": None, "client_id": None, "client_secret": None, "client_certificate_path": None,
            "client_certificate_password": None, "federated_token_file": None, "access_token": None}
    base.update(values)
    return base


@pytest.mark.parametrize("option, kind", [
    ("client_secret", "client_secret"),
    ("client_certificate_path", "certificate"),
    ("federated_token_file", "federated_token"),
    ("access_token", "access_token"),
])
def test_each_kind_from_arguments(option, kind, tmp_path):
    value = tmp_path / "file"
    value.write_text("x")
    credential = resolve_credential(params(**TENANT, **{option: str(value)}), {})
    assert credential.kind == kind
    assert credential.origin == option


def test_argument_kind_wins_over_environment_kind(tmp_path):
    token = tmp_path / "token"
    token.write_text("jwt")
    environ = {"AZURE_CLIENT_CERTIFICATE_PATH": "/env.pem", "AZURE_CLIENT_SECRET": "env-secret"}
    credential = resolve_credential(params(**TENANT, federated_token_file=str(token)), environ)
    assert credential.kind == "federated_token"
    assert credential.federated_token_file == str(token)


def test_two_argument_kinds_are_refused_naming_both():
    with pytest.raises(AuthError) as err:
        resolve_credential(params(**TENANT, client_secret="s", access_token="t"), {})
    assert "client_secret" in str(err.value) and "access_token" in str(err.value)
    assert "module arguments" in str(err.value)


def test_two_environment_kinds_are_refused_naming_the_variables_not_the_values():
    with pytest.raises(AuthError) as err:
        resolve_credential(params(**TENANT), {"AZURE_SECRET": "env-secret-value", "AZURE_ACCESS_TOKEN": "env-token"})
    assert "AZURE_SECRET" in str(err.value) and "AZURE_ACCESS_TOKEN" in str(err.value)
    assert "env-secret-value" not in str(err.value) and "env-token" not in str(err.value)


def test_no_credential_is_refused():
    with pytest.raises(AuthError, match="no credentials"):
        resolve_credential(params(**TENANT), {})


USER_PASSWORD_MESSAGE = (
    "no supported credentials: the environment holds AZURE_AD_USER and AZURE_PASSWORD, a user name and password (as "
    "AWX's Azure credential injects them when its Username and Password are filled in), which this collection does not "
    "sign in with; give an app registration's credential instead: one of client_secret, client_certificate_path, "
    "federated_token_file, access_token (or their environment variables; in AWX, fill in the credential's Client ID, "
    "Client Secret and Tenant ID instead, which it injects as AZURE_CLIENT_ID, AZURE_SECRET and AZURE_TENANT)")


def test_awx_username_and_password_are_named_as_unsupported():
    """AWX's Azure credential with Username and Password (and no Client ID) injects AZURE_AD_USER / AZURE_PASSWORD."""
    environ = {"AZURE_AD_USER": "admin@contoso.onmicrosoft.com", "AZURE_PASSWORD": "hunter2-password",
               "AZURE_SUBSCRIPTION_ID": ""}
    with pytest.raises(AuthError) as err:
        resolve_credential(params(), environ)
    assert str(err.value) == USER_PASSWORD_MESSAGE
    assert "hunter2-password" not in str(err.value) and "admin@contoso" not in str(err.value)


def test_a_supported_kind_wins_over_a_user_name_and_password():
    environ = {"AZURE_AD_USER": "admin", "AZURE_PASSWORD": "pw", "AZURE_CLIENT_ID": "cid", "AZURE_TENANT": "tid",
               "AZURE_SECRET": "sec"}
    assert resolve_credential(params(), environ).kind == "client_secret"


def test_awx_azure_resource_manager_environment():
    environ = {"AZURE_CLIENT_ID": "cid", "AZURE_TENANT": "tid", "AZURE_SECRET": "sec", "AZURE_SUBSCRIPTION_ID": ""}
    credential = resolve_credential(params(), environ)
    assert (credential.kind, credential.origin, credential.tenant_id, credential.client_id, credential.secret) == (
        "client_secret", "AZURE_SECRET", "tid", "cid", "sec")
    assert "AZURE_SECRET" in credential.describe()


def test_env_fallback_order_prefers_the_first_name():
    environ = {"AZURE_CLIENT_SECRET": "first", "AZURE_SECRET": "second", "AZURE_TENANT_ID": "t1", "AZURE_TENANT": "t2",
               "AZURE_CLIENT_ID": "c"}
    credential = resolve_credential(params(), environ)
    assert credential.secret == "first" and credential.tenant_id == "t1"


def test_certificate_password_from_environment(tmp_path):
    pem = tmp_path / "c.pem"
    pem.write_text("pem")
    environ = {"AZURE_CLIENT_CERTIFICATE_PASSWORD": "pw"}
    credential = resolve_credential(params(**TENANT, client_certificate_path=str(pem)), environ)
    assert credential.certificate_password == "pw"


def test_access_token_needs_neither_tenant_nor_client():
    credential = resolve_credential(params(access_token="tok"), {})
    assert credential.kind == "access_token" and credential.tenant_id is None


@pytest.mark.parametrize("missing", ["tenant_id", "client_id"])
def test_secret_needs_tenant_and_client(missing):
    values = dict(TENANT)
    values[missing] = None
    with pytest.raises(AuthError, match=missing):
        resolve_credential(params(client_secret="s", **values), {})


@pytest.mark.parametrize("tenant", ["con toso", "a/b", "x?y", "t#", "contosö.onmicrosoft.com", "t" * 300, "-lead"])
def test_tenant_ids_that_cannot_be_a_tenant_are_refused_before_any_request(tenant):
    with pytest.raises(AuthError, match="tenant_id"):
        resolve_credential(params(tenant_id=tenant, client_id="c", client_secret="s"), {})


@pytest.mark.parametrize("token", ["Bearer abc", "abc\ndef", "abc def"])
def test_malformed_access_tokens_are_refused_without_showing_them(token):
    with pytest.raises(AuthError) as err:
        resolve_credential(params(access_token=token), {})
    assert "access_token" in str(err.value) and token not in str(err.value)


@pytest.mark.parametrize("option", ["client_certificate_path", "federated_token_file"])
def test_credential_files_must_be_readable(option, tmp_path):
    with pytest.raises(AuthError, match=option):
        resolve_credential(params(**TENANT, **{option: str(tmp_path / "missing")}), {})
    with pytest.raises(AuthError, match=option):
        resolve_credential(params(**TENANT, **{option: str(tmp_path)}), {})


def test_repr_and_describe_never_show_secrets():
    credential = resolve_credential(params(**TENANT, client_secret="very-secret-value"), {})
    assert "very-secret-value" not in repr(credential)
    assert "very-secret-value" not in credential.describe()
    assert credential.secrets() == ["very-secret-value"]


@pytest.mark.parametrize("value, expected", [
    (None, "global"), ("global", "global"), ("AzureCloud", "global"), ("usgov", "usgov"),
    ("AzureUSGovernment", "usgov"), ("usgov_dod", "usgov_dod"), ("china", "china"), ("AzureChinaCloud", "china"),
    ("  CHINA ", "china"),
])
def test_cloud_names(value, expected):
    assert resolve_cloud(value) is CLOUDS[expected]


def test_cloud_table_matches_the_api_notes():
    assert CLOUDS["usgov_dod"].graph_root == "https://dod-graph.microsoft.us"
    assert CLOUDS["usgov_dod"].authority_host == "https://login.microsoftonline.us"
    assert CLOUDS["china"].graph_root == "https://microsoftgraph.chinacloudapi.cn"
    assert CLOUDS["china"].authority_host == "https://login.partner.microsoftonline.cn"


def test_unknown_cloud_lists_the_choices():
    with pytest.raises(AuthError) as err:
        resolve_cloud("AzureGermanCloud")
    assert "usgov_dod" in str(err.value)


@pytest.mark.parametrize("value, expected", [
    ("https://127.0.0.1:8443", "https://127.0.0.1:8443"),
    ("https://graph.microsoft.com/", "https://graph.microsoft.com"),
])
def test_endpoint_root_accepts_scheme_host_port(value, expected):
    assert endpoint_root(value, "graph_endpoint") == expected


@pytest.mark.parametrize("value", [
    "http://127.0.0.1:8443", "https://host/beta", "graph.microsoft.com", "https://host?x=1", "https://u:p@host",
    "https://host:99999",
])
def test_endpoint_root_refuses_anything_else(value):
    with pytest.raises(AuthError, match="graph_endpoint"):
        endpoint_root(value, "graph_endpoint")


def test_http_needs_an_explicit_allowance():
    with pytest.raises(AuthError, match="allow_http"):
        endpoint_root("http://127.0.0.1:8080", "graph_endpoint")
    assert endpoint_root("http://127.0.0.1:8080", "graph_endpoint", allow_http=True) == "http://127.0.0.1:8080"
    with pytest.raises(AuthError, match="https"):
        endpoint_root("ftp://127.0.0.1", "graph_endpoint", allow_http=True)


def test_explicit_ca_path_wins_over_environment():
    environ = {"REQUESTS_CA_BUNDLE": "/env-ca.pem"}
    assert default_ca_bundle("/mine.pem", environ) == "/mine.pem"
    assert default_ca_bundle(None, environ) == "/env-ca.pem"
    assert default_ca_bundle(None, {"CURL_CA_BUNDLE": "/curl.pem"}) == "/curl.pem"


CERT_BODY = base64.b64encode(b"not really DER but bytes all the same").decode()


@pytest.mark.parametrize("key_first", [True, False])
def test_certificate_thumbprint_in_either_order(tmp_path, key_first):
    key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    cert = "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % CERT_BODY
    path = tmp_path / "c.pem"
    path.write_text(key + cert if key_first else cert + key)
    pem, thumbprint = load_certificate(str(path))
    assert thumbprint == hashlib.sha1(base64.b64decode(CERT_BODY)).hexdigest().upper()
    assert "PRIVATE KEY" in pem


def test_certificate_without_key_or_certificate_is_refused(tmp_path):
    path = tmp_path / "c.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n" % CERT_BODY)
    with pytest.raises(AuthError, match="no private key"):
        load_certificate(str(path))
    path.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(AuthError, match="BEGIN CERTIFICATE"):
        load_certificate(str(path))
    with pytest.raises(AuthError, match="cannot read"):
        load_certificate(str(tmp_path / "missing.pem"))


def test_federated_assertion_is_read_at_call_time(tmp_path):
    path = tmp_path / "token"
    path.write_text("first.jwt.value\n")
    read = federated_assertion_reader(str(path))
    assert read() == "first.jwt.value"
    path.write_text("rotated.jwt.value")
    assert read() == "rotated.jwt.value"
    path.write_text("")
    with pytest.raises(AuthError, match="empty"):
        read()


# -- token acquisition against a scripted Entra ID (real msal, scripted HTTP) ----------------------------------------

AUTHORITY = "https://login.example"
SECRET = "s3cret-value-never-shown"
DISCOVERY = {"authorization_endpoint": AUTHORITY + "/t/oauth2/v2.0/authorize",
             "token_endpoint": AUTHORITY + "/t/oauth2/v2.0/token", "issuer": AUTHORITY + "/t/v2.0"}
TOKEN = {"token_type": "Bearer", "expires_in": 3599, "access_token": "the-token"}


class EntraResponse:
    def __init__(self, status, body=None, headers=None):
        self.status_code = status
        self.headers = dict(headers or {})
        self.text = json.dumps(body if body is not None else {"error": "temporarily_unavailable"})
        self.reason = "Reason"

    def raise_for_status(self):
        if self.status_code >= 400:
            raise requests.exceptions.HTTPError("%d Server Error" % self.status_code)


class EntraSession:
    """Answers msal's requests from a script per route (discovery, token); an exception item is raised."""

    def __init__(self, discovery, token=()):
        self.script = {"discovery": list(discovery), "token": list(token)}
        self.calls = []

    def request(self, method, url, **_kwargs):
        route = "discovery" if url.endswith("openid-configuration") else "token"
        self.calls.append(route)
        item = self.script[route].pop(0)
        if isinstance(item, Exception):
            raise item
        return item


def entra(discovery, token=()):
    pytest.importorskip("msal")
    sleeps = []
    session = EntraSession(discovery, token)
    credential = Credential(kind="client_secret", origin="client_secret", tenant_id="t", client_id="c", secret=SECRET)
    provider = TokenProvider(credential, CLOUDS["global"], AUTHORITY, session, 30, sleep=sleeps.append)
    return provider, session, sleeps


def test_throttled_unavailable_and_dropped_token_requests_are_sent_again():
    provider, session, sleeps = entra(
        [requests.exceptions.ReadTimeout("slow"), EntraResponse(503), EntraResponse(200, DISCOVERY)],
        [EntraResponse(429, headers={"Retry-After": "3"}), requests.exceptions.ConnectionError("reset"),
         EntraResponse(504), EntraResponse(200, TOKEN)])
    assert provider.token() == "the-token"
    assert session.calls == ["discovery"] * 3 + ["token"] * 4
    assert len(sleeps) == 5 and sleeps[2] == 3.0


@pytest.mark.parametrize("status", [400, 401])
def test_a_refused_credential_is_not_retried(status):
    refusal = {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}
    provider, session, sleeps = entra([EntraResponse(200, DISCOVERY)], [EntraResponse(status, refusal)])
    with pytest.raises(AuthError, match="Entra ID refused the client secret.*AADSTS7000215"):
        provider.token()
    assert session.calls == ["discovery", "token"] and sleeps == []


def test_an_unknown_resource_points_at_cloud():
    refusal = {"error": "invalid_resource", "error_codes": [500011],
               "error_description": "AADSTS500011: The resource principal named https://graph.microsoft.com was not found."}
    provider, _session, _sleeps = entra([EntraResponse(200, DISCOVERY)], [EntraResponse(400, refusal)])
    with pytest.raises(AuthError) as err:
        provider.token()
    message = str(err.value)
    assert "AADSTS500011" in message
    assert "requested for https://graph.microsoft.com/.default (cloud global): set cloud to the tenant's national cloud" in message


def test_other_refusals_do_not_mention_cloud():
    refusal = {"error": "invalid_client", "error_codes": [7000215], "error_description": "AADSTS7000215: Invalid client secret."}
    provider, _session, _sleeps = entra([EntraResponse(200, DISCOVERY)], [EntraResponse(401, refusal)])
    with pytest.raises(AuthError) as err:
        provider.token()
    assert "cloud" not in str(err.value)


def test_a_throttled_discovery_says_so():
    provider, session, _sleeps = entra([EntraResponse(429, headers={"Retry-After": "1"})] * _graph.MAX_ATTEMPTS)
    with pytest.raises(AuthError) as err:
        provider.token()
    message = str(err.value)
    assert session.calls == ["discovery"] * _graph.MAX_ATTEMPTS
    assert "HTTP 429 (throttled)" in message and "gave up after 8 attempts" in message
    assert AUTHORITY + "/t/v2.0/.well-known/openid-configuration" in message and "not found" not in message


def test_a_missing_tenant_is_still_named():
    provider, _session, sleeps = entra([EntraResponse(400, {"error": "invalid_tenant"})])
    with pytest.raises(AuthError, match="tenant t was not found"):
        provider.token()
    assert sleeps == []


@pytest.mark.parametrize("failure", [EntraResponse(500), EntraResponse(503)], ids=["500", "503"])
def test_an_entra_failure_does_not_blame_the_credential(failure):
    attempts = 1 if failure.status_code == 500 else _graph.MAX_ATTEMPTS
    provider, session, _sleeps = entra([EntraResponse(200, DISCOVERY)], [failure] * attempts)
    with pytest.raises(AuthError) as err:
        provider.token()
    message = str(err.value)
    assert session.calls.count("token") == attempts
    assert "Entra ID could not issue a token" in message and "HTTP %d" % failure.status_code in message
    assert "refused" not in message and "not in question" in message and SECRET not in message


def test_a_token_endpoint_that_never_answers_says_so():
    timeouts = [requests.exceptions.ReadTimeout("slow") for _attempt in range(_graph.MAX_TRANSPORT_ATTEMPTS)]
    provider, _session, _sleeps = entra([EntraResponse(200, DISCOVERY)], timeouts)
    with pytest.raises(AuthError, match="no answer within the timeout; gave up after 3 attempts"):
        provider.token()


def test_a_failed_discovery_is_not_cached_by_msal():
    provider, session, _sleeps = entra([EntraResponse(429)] * _graph.MAX_ATTEMPTS + [EntraResponse(200, DISCOVERY)],
                                       [EntraResponse(200, TOKEN)])
    with pytest.raises(AuthError):
        provider.token()
    assert provider.token() == "the-token" and session.calls[-2:] == ["discovery", "token"]


def refused_connection():
    reason = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection")
    reason.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return requests.exceptions.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/x", reason))


def test_an_authority_host_that_cannot_be_reached_is_named_not_called_throttled():
    provider, session, _sleeps = entra([refused_connection() for _attempt in range(_graph.MAX_TRANSPORT_ATTEMPTS)])
    with pytest.raises(AuthError) as err:
        provider.token()
    assert session.calls == ["discovery"] * _graph.MAX_TRANSPORT_ATTEMPTS
    waited = re.search(r"and (\d+) s of waiting", str(err.value)).group(1)  # jittered backoff
    assert str(err.value) == (
        "the OpenID discovery of tenant t failed: GET https://login.example/t/v2.0/.well-known/openid-configuration "
        "failed: cannot reach login.example (authority_host): connection refused (nothing listens on that port); gave up "
        "after 3 attempts and %s s of waiting; check authority_host and the network path from the host that runs the "
        "module (DNS, firewall, HTTPS_PROXY); tenant_id and the credential are not in question" % waited)


def test_the_default_login_host_is_named_by_its_cloud():
    pytest.importorskip("msal")
    session = EntraSession([refused_connection() for _attempt in range(_graph.MAX_TRANSPORT_ATTEMPTS)])
    credential = Credential(kind="client_secret", origin="client_secret", tenant_id="t", client_id="c", secret=SECRET)
    provider = TokenProvider(credential, CLOUDS["usgov"], CLOUDS["usgov"].authority_host, session, 30,
                             sleep=lambda _s: None)
    with pytest.raises(AuthError) as err:
        provider.token()
    assert "cannot reach login.microsoftonline.us (the login host of cloud usgov): connection refused" in str(err.value)
    assert "check cloud and the network path" in str(err.value) and "throttled" not in str(err.value)


def test_a_token_endpoint_that_cannot_be_reached_is_named():
    provider, _session, _sleeps = entra([EntraResponse(200, DISCOVERY)],
                                        [refused_connection() for _attempt in range(_graph.MAX_TRANSPORT_ATTEMPTS)])
    with pytest.raises(AuthError) as err:
        provider.token()
    message = str(err.value)
    assert message.startswith("Entra ID could not issue a token: POST https://login.example/t/oauth2/v2.0/token failed: "
                              "cannot reach login.example (authority_host): connection refused")
    assert "throttled" not in message and SECRET not in message
    assert message.endswith("; check authority_host and the network path from the host that runs the module (DNS, "
                            "firewall, HTTPS_PROXY); the client secret (client_secret) of client_id c is not in question")
