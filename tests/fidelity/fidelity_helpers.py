# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Helpers of the fidelity tests: a small Graph client on `requests`, msal applications, test certificates."""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from typing import Any

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
READ_WRITE = "TrustFrameworkKeySet.ReadWrite.All"
READ = "TrustFrameworkKeySet.Read.All"
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi")


def msal_app(emulator: Any, client_id: str, credential: Any, tenant: str | None = None) -> msal.ConfidentialClientApplication:
    """A fresh msal application against the emulator (msal caches tokens and errors per application)."""
    return msal.ConfidentialClientApplication(client_id, client_credential=credential,
                                              authority=f"{emulator.url}/{tenant or emulator.tenant_id}",
                                              instance_discovery=False, verify=emulator.ca_path)


class Graph:
    """requests against /beta/trustFramework/keySets, with a bearer token and the emulator's CA."""

    def __init__(self, emulator: Any, token: str | None) -> None:
        self.emulator = emulator
        self.token = token
        self.session = requests.Session()
        self.root = f"{emulator.url}/beta/trustFramework/keySets"

    def request(self, method: str, path: str = "", token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        bearer = token if token is not None else self.token
        if bearer:
            headers.setdefault("Authorization", f"Bearer {bearer}")
        url = path if path.startswith("https://") else self.root + path
        return self.session.request(method, url, headers=headers, verify=self.emulator.ca_path, timeout=30, **kwargs)

    def get(self, path: str = "", **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str = "", body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, json=body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, json=body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def create(self, name: str) -> str:
        response = self.post("", {"id": name})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def generate(self, keyset: str, **body: Any) -> dict[str, Any]:
        response = self.post(f"/{keyset}/generateKey", body)
        assert response.status_code == 200, response.text
        return response.json()


def wait_until_replicated(control: Any, *keysets: str, limit: float = 60) -> None:
    """Wait until the emulator's own clock says the key sets replicated: a loaded machine may spend longer between
    the test's requests than the window lasts, so the test's own clock cannot tell."""
    deadline = time.monotonic() + limit
    while left := {keyset: seconds for keyset, seconds in control.replicating().items() if keyset in keysets}:
        assert time.monotonic() < deadline, f"still replicating after {limit} s: {left}"
        time.sleep(max(left.values()) + 0.05)


def graph_error(response: requests.Response) -> dict[str, Any]:
    """The `error` object of a Graph error envelope, after checking the envelope's shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "message", "innerError"} <= set(error), error
    assert {"date", "request-id", "client-request-id"} <= set(error["innerError"]), error
    return error


@dataclass
class Certificate:
    private_key_pem: str
    certificate_pem: str
    sha1_hex: str
    der: bytes
    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate


def make_certificate(common_name: str = "entra.b2c test", days: int = 30, not_before: datetime.datetime | None = None) -> Certificate:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    start = not_before or datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(minutes=5)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(start + datetime.timedelta(days=days))
            .sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    return Certificate(
        private_key_pem=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode("ascii"),
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        sha1_hex=cert.fingerprint(hashes.SHA1()).hex().upper(),
        der=der, private_key=key, certificate=cert)
