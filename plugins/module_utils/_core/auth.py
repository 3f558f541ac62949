# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Credentials, national clouds and token acquisition for Microsoft Graph.

Internal use only: this module may change without notice.

Exactly one credential kind is resolved from the module arguments (module_defaults included) or, when none is given
there, from the environment. ``msal`` is imported only when a token has to be acquired.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

from ansible_collections.entra.b2c.plugins.module_utils._core.errors import UserError
from ansible_collections.entra.b2c.plugins.module_utils._core.graph import (
    Endpoint,
    RetryingHttpClient,
    is_transport_error,
    transport_failure,
)
from ansible_collections.entra.b2c.plugins.module_utils._core.token_cache import TokenCache, TokenCacheError, cache_key


class AuthError(UserError):
    """A credential or token problem, with a message that says what to change."""


@dataclass(frozen=True)
class Cloud:
    name: str
    graph_root: str
    authority_host: str


CLOUDS = {
    "global": Cloud("global", "https://graph.microsoft.com", "https://login.microsoftonline.com"),
    "usgov": Cloud("usgov", "https://graph.microsoft.us", "https://login.microsoftonline.us"),
    "usgov_dod": Cloud("usgov_dod", "https://dod-graph.microsoft.us", "https://login.microsoftonline.us"),
    "china": Cloud("china", "https://microsoftgraph.chinacloudapi.cn", "https://login.partner.microsoftonline.cn"),
}

# Names used by azure.azcollection, the Azure CLI and the Azure SDKs for the same clouds.
CLOUD_ALIASES = {
    "azurecloud": "global",
    "azurepubliccloud": "global",
    "public": "global",
    "azureusgovernment": "usgov",
    "azureusgovernmentcloud": "usgov",
    "usgovernment": "usgov",
    "azureusgovernmentdod": "usgov_dod",
    "dod": "usgov_dod",
    "azurechinacloud": "china",
}

# Credential kinds, each with the module option that selects it and its environment variables (first found wins).
CREDENTIAL_KINDS = (
    ("client_secret", "client_secret", ("AZURE_CLIENT_SECRET", "AZURE_SECRET")),
    ("certificate", "client_certificate_path", ("AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_X509_CERTIFICATE_PATH")),
    ("federated_token", "federated_token_file", ("AZURE_FEDERATED_TOKEN_FILE",)),
    ("access_token", "access_token", ("AZURE_ACCESS_TOKEN",)),
)
TENANT_ENV = ("AZURE_TENANT_ID", "AZURE_TENANT")
CLIENT_ID_ENV = ("AZURE_CLIENT_ID",)
CERT_PASSWORD_ENV = ("AZURE_CLIENT_CERTIFICATE_PASSWORD",)
CA_BUNDLE_ENV = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
# A user name and password: AWX's Azure credential injects AZURE_AD_USER/AZURE_PASSWORD when those fields are filled in,
# azure-identity reads AZURE_USERNAME. Not supported (an app signs in to manage key sets), so only named in messages.
USER_PASSWORD_ENV = ("AZURE_AD_USER", "AZURE_USERNAME", "AZURE_PASSWORD")

CREDENTIAL_OPTIONS = ", ".join(option for _kind, option, _env in CREDENTIAL_KINDS)


def not_the_credential(what: str) -> str:
    """The end of a message about a throttled, failing or unreachable Entra ID; what is not in question (with "is" or
    "are")."""
    return f"Entra ID is throttled, failing or unreachable ({what} not in question): run again later"


_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----\s*(.+?)\s*-----END CERTIFICATE-----", re.DOTALL)


def _first_env_name(names, environ: Mapping[str, str]) -> str | None:
    return next((name for name in names if environ.get(name)), None)


def first_env(names, environ: Mapping[str, str]) -> str | None:
    name = _first_env_name(names, environ)
    return environ[name] if name else None


def resolve_cloud(value: str | None) -> Cloud:
    if not value:
        return CLOUDS["global"]
    key = str(value).strip().lower()
    key = CLOUD_ALIASES.get(key, key)
    if key not in CLOUDS:
        raise AuthError(
            f"cloud: unknown cloud {value!r}; use one of {', '.join(CLOUDS)} (azcollection names AzureCloud, "
            f"AzureUSGovernment and AzureChinaCloud are accepted too)")
    return CLOUDS[key]


def endpoint_root(value: str, option: str, allow_http: bool = False) -> str:
    """Validate a scheme://host[:port] override and return it without a trailing slash."""
    parts = urlsplit(str(value).strip())
    if parts.scheme == "http" and not allow_http:
        raise AuthError(f"{option}: {value!r} is plain http, which would send tokens in clear text; use https, or set "
                        f"allow_http: true for a local test endpoint")
    if parts.scheme not in ("https", "http"):
        raise AuthError(f"{option}: {value!r} must be an https:// URL such as https://graph.microsoft.com")
    if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise AuthError(f"{option}: {value!r} must be a scheme, host and optional port only, such as "
                        f"https://127.0.0.1:8443; the collection appends the API path itself")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise AuthError(f"{option}: {value!r} has an invalid port") from None
    return parts.scheme + "://" + parts.netloc


@dataclass
class Credential:
    """The one credential kind in use and the values it needs (secrets are never rendered by repr)."""

    kind: str
    origin: str  # the option or environment variable it came from: named in messages so users know where to look
    tenant_id: str | None = None
    client_id: str | None = None
    secret: str | None = field(default=None, repr=False)
    certificate_path: str | None = None
    certificate_password: str | None = field(default=None, repr=False)
    federated_token_file: str | None = None
    access_token: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        what = {
            "client_secret": "client secret",
            "certificate": f"client certificate {self.certificate_path}",
            "federated_token": f"federated token file {self.federated_token_file}",
            "access_token": "ready access token",
        }[self.kind]
        text = f"{what} ({self.origin})"
        if self.client_id and self.kind != "access_token":
            text += f" of client_id {self.client_id}"
        return text

    def fingerprint(self) -> str:
        """What distinguishes two credentials of one app, hashed so the cache never holds a secret."""
        material = self.secret or self.certificate_path or self.federated_token_file or ""
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    def secrets(self):
        return [value for value in (self.secret, self.certificate_password, self.access_token) if value]


def resolve_credential(params: Mapping, environ: Mapping[str, str]) -> Credential:
    """Pick exactly one credential kind: module arguments first, then the environment."""
    given = [(kind, option) for kind, option, _env in CREDENTIAL_KINDS if params.get(option)]
    source = "argument"
    if not given:
        given = [(kind, _first_env_name(env, environ)) for kind, _option, env in CREDENTIAL_KINDS
                 if _first_env_name(env, environ)]
        source = "environment"
    if not given:
        user_password = [name for name in USER_PASSWORD_ENV if environ.get(name)]
        if user_password:
            raise AuthError(
                f"no supported credentials: the environment holds {' and '.join(user_password)}, a user name and "
                f"password (as AWX's Azure credential injects them when its Username and Password are filled in), "
                f"which this collection does not sign in with; give an app registration's credential instead: one of "
                f"{CREDENTIAL_OPTIONS} (or their environment variables; in AWX, fill in the credential's Client ID, "
                f"Client Secret and Tenant ID instead, which it injects as AZURE_CLIENT_ID, AZURE_SECRET and "
                f"AZURE_TENANT)")
        raise AuthError(
            f"no credentials: set one of {CREDENTIAL_OPTIONS} (or their environment variables, e.g. AZURE_CLIENT_SECRET "
            f"as AWX's Azure credential injects it)")
    if len(given) > 1:
        how = "module arguments" if source == "argument" else "environment variables"
        names = ", ".join(name for _kind, name in given)
        raise AuthError(f"several credential kinds given as {how} ({names}); keep exactly one")

    kind, origin = given[0]
    option, env_names = next((option, env) for k, option, env in CREDENTIAL_KINDS if k == kind)
    value = params.get(option) if source == "argument" else first_env(env_names, environ)
    credential = Credential(
        kind=kind,
        origin=origin,
        tenant_id=params.get("tenant_id") or first_env(TENANT_ENV, environ),
        client_id=params.get("client_id") or first_env(CLIENT_ID_ENV, environ),
    )
    if kind == "client_secret":
        credential.secret = value
    elif kind == "certificate":
        credential.certificate_path = value
        credential.certificate_password = params.get("client_certificate_password") or first_env(
            CERT_PASSWORD_ENV, environ)
    elif kind == "federated_token":
        credential.federated_token_file = value
    else:
        credential.access_token = value

    validate_credential(credential)
    if kind != "access_token":
        missing = [name for name, present in (("tenant_id", credential.tenant_id), ("client_id", credential.client_id))
                   if not present]
        if missing:
            names = " and ".join(missing) + (" is" if len(missing) == 1 else " are")
            variables = " / ".join(TENANT_ENV if missing[0] == "tenant_id" else CLIENT_ID_ENV)
            raise AuthError(f"{names} required with a {credential.describe()}; set it or {variables}")
    return credential


_TENANT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?", re.ASCII)


def validate_credential(credential: Credential) -> None:
    """Refuse, before any request, what cannot work: the message names the option (never its value)."""
    if credential.tenant_id is not None and not _TENANT.fullmatch(credential.tenant_id):
        raise AuthError("tenant_id: must be the tenant's GUID or its domain name such as contoso.onmicrosoft.com "
                        "(ASCII letters, digits, '.' and '-')")
    if credential.access_token is not None and (
            any(char.isspace() or ord(char) < 32 for char in credential.access_token)
            or credential.access_token.lower().startswith("bearer")):
        raise AuthError("access_token: give the bare token, without 'Bearer', spaces or line breaks")
    for option, path in (("client_certificate_path", credential.certificate_path),
                         ("federated_token_file", credential.federated_token_file)):
        if path is not None and (os.path.isdir(path) or not os.access(path, os.R_OK)):
            raise AuthError(f"{option}: {path} is not a readable file (from {credential.origin})")


def load_certificate(path: str) -> tuple:
    """Return (PEM text, SHA-1 thumbprint hex) of a PEM holding a private key and a certificate, in either order."""
    try:
        with open(path, encoding="ascii") as handle:
            pem = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise AuthError(f"client_certificate_path: cannot read {path} ({exc.__class__.__name__})") from None
    match = _PEM_CERTIFICATE.search(pem)
    if not match:
        raise AuthError(f"client_certificate_path: {path} holds no '-----BEGIN CERTIFICATE-----' block; the PEM must "
                        f"hold the certificate and its private key")
    if "PRIVATE KEY-----" not in pem:
        raise AuthError(f"client_certificate_path: {path} holds no private key; the PEM must hold the private key "
                        f"and the certificate")
    try:
        der = base64.b64decode("".join(match.group(1).split()), validate=True)
    except ValueError:
        raise AuthError(f"client_certificate_path: the certificate in {path} is not valid base64") from None
    return pem, hashlib.sha1(der).hexdigest().upper()  # nosec - x5t is SHA-1 by definition


def federated_assertion_reader(path: str) -> Callable[[], str]:
    """The client assertion callable: the file is re-read on each token request, as projected tokens rotate."""

    def read_assertion() -> str:
        try:
            with open(path, encoding="utf-8") as handle:
                assertion = handle.read().strip()
        except OSError as exc:
            raise AuthError(f"federated_token_file: cannot read {path} ({exc.__class__.__name__})") from None
        if not assertion:
            raise AuthError(f"federated_token_file: {path} is empty; it must hold the JWT issued by your identity "
                            f"provider")
        return assertion

    return read_assertion


class TokenProvider:
    """Hands out a bearer token for Graph: the given one, a cached one, or one acquired through msal."""

    def __init__(self, credential: Credential, cloud: Cloud, authority_host: str, http_client, timeout: float,
                 cache: TokenCache | None = None, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep):
        self.credential = credential
        self.cloud = cloud
        self.authority_host = authority_host
        self.http_client = RetryingHttpClient(http_client, sleep=sleep, endpoint=Endpoint.of(
            authority_host, cloud.authority_host, "authority_host", cloud.name, "login host"))
        self.timeout = timeout
        self.cache = cache if credential.kind != "access_token" else None
        self.clock = clock
        self._token: str | None = credential.access_token
        self._app = None
        self._lock = threading.RLock()  # batch modules share one provider between threads: one token request
        self.acquired = 0  # token requests made by this provider (for tests and benchmarks)

    @property
    def scope(self) -> str:
        return self.cloud.graph_root + "/.default"

    def describe(self) -> str:
        """The credential in words, for messages (never a secret)."""
        return self.credential.describe()

    def _scrub(self, text: str) -> str:
        for secret in self.credential.secrets():
            text = text.replace(secret, "********")
        return text

    @property
    def can_refresh(self) -> bool:
        return self.credential.kind != "access_token"

    @property
    def cache_key(self) -> str:
        return cache_key(self.authority_host, self.credential.tenant_id, self.credential.client_id, self.scope,
                         self.credential.kind, self.credential.fingerprint())

    def token(self) -> str:
        if self._token:
            return self._token
        with self._lock:
            return self._token_locked()

    def _token_locked(self) -> str:
        if not self._token and self.cache is not None:
            self._token = self._cache_call(self.cache.get, self.cache_key, self.clock())
        if not self._token:
            token, expires_in = self._acquire()
            self._token = token
            if self.cache is not None and expires_in:
                now = self.clock()
                self._cache_call(self.cache.put, self.cache_key, token, now + expires_in, now)
        return self._token

    def refresh(self) -> str:
        """Drop the current token (rejected by Graph, or revoked) and acquire a new one from the authority."""
        if not self.can_refresh:
            raise AuthError(f"the {self.describe()} was rejected; give a fresh token")
        with self._lock:
            if self.cache is not None:
                self._cache_call(self.cache.drop, self.cache_key, self.clock())
            self._token = None
            self._app = None  # msal's in-memory cache would hand back the rejected token
            return self._token_locked()

    @staticmethod
    def _cache_call(method, *args):
        try:
            return method(*args)
        except TokenCacheError as exc:
            raise AuthError(str(exc)) from None

    def _client_credential(self):
        credential = self.credential
        if credential.kind == "client_secret":
            return credential.secret
        if credential.kind == "certificate":
            pem, thumbprint = load_certificate(credential.certificate_path)
            value = {"private_key": pem, "thumbprint": thumbprint}
            if credential.certificate_password:
                value["passphrase"] = credential.certificate_password
            return value
        return {"client_assertion": federated_assertion_reader(credential.federated_token_file)}

    def _application(self):
        if self._app is None:
            try:
                import msal  # pylint: disable=import-outside-toplevel  # only when a token must be acquired
            except ImportError:
                raise AuthError(f"the Python library msal is required to acquire a token with a "
                                f"{self.describe()}; install it (pip install msal) or give "
                                f"access_token") from None
            authority = f"{self.authority_host}/{self.credential.tenant_id}"
            self.http_client.trouble = None
            try:
                self._app = msal.ConfidentialClientApplication(
                    self.credential.client_id,
                    client_credential=self._client_credential(),
                    authority=authority,
                    http_client=self.http_client,
                    instance_discovery=False,  # the authority is one we configured: skip the extra round trip
                    timeout=self.timeout,
                )
            except AuthError:
                raise
            except Exception as exc:  # pylint: disable=broad-exception-caught  # msal and cryptography raise many types
                if self.http_client.trouble:
                    raise AuthError(f"the OpenID discovery of tenant {self.credential.tenant_id} failed: "
                                    f"{self.http_client.trouble}; "
                                    f"{self._not_the_credential('tenant_id and the credential are')}") from None
                if isinstance(exc, ValueError):
                    raise AuthError(self._discovery_failure(authority, exc)) from None
                raise AuthError(self._transport_or_generic(authority, exc)) from None
        return self._app

    def _discovery_failure(self, authority: str, exc: Exception) -> str:
        text = self._scrub(str(exc))
        # msal's wording changed across releases ("OIDC Discovery failed", "Unable to get authority configuration").
        if "Discovery failed" in text or "authority configuration" in text:
            code = re.search(r"AADSTS\d+[^\"\\]*", text)
            detail = f": {_one_line(code.group(0))}" if code else ""
            return f"tenant {self.credential.tenant_id} was not found at {authority}{detail}; check tenant_id and cloud"
        if "passphrase" in text.lower() or "password" in text.lower() or "decrypt" in text.lower():
            return f"client_certificate_password does not decrypt the private key in {self.credential.certificate_path}"
        return f"cannot use the {self.describe()}: {text}"

    def _transport_or_generic(self, where: str, exc: Exception) -> str:
        """A failure that reached msal without going through the http client's record (msal's own requests)."""
        if is_transport_error(exc):
            failure = transport_failure(exc)
            endpoint = self.http_client.endpoint
            what = endpoint.describe(failure, urlsplit(where).netloc)
            advice = endpoint.advice(failure)
            return f"{where}: {what}" + (f"; {advice}" if advice else "")
        return f"cannot use the {self.describe()} against {where}: {self._scrub(str(exc))}"

    def _not_the_credential(self, what: str) -> str:
        """The end of a message about Entra ID's trouble: what to check when the host was never reached, else that it
        is throttled, failing or unreachable; either way the credential is not in question."""
        advice = self.http_client.unreachable
        if advice:
            return f"{advice}; {what} not in question"
        return not_the_credential(what)

    def _acquire(self) -> tuple:
        app = self._application()
        try:
            result = app.acquire_token_for_client(scopes=[self.scope])
        except AuthError:
            raise
        except Exception as exc:  # pylint: disable=broad-exception-caught  # transport errors surface here from msal
            self._app = None  # msal would answer a later request from its cache of this failure
            raise AuthError(self._service_trouble("") or self._transport_or_generic(self.authority_host, exc)) from None
        if result and result.get("access_token"):
            self.acquired += 1
            try:
                expires_in = int(result.get("expires_in") or 0)
            except (TypeError, ValueError):
                expires_in = 0
            return result["access_token"], expires_in
        result = result or {}
        # Entra's description ends with Trace ID, Correlation ID and Timestamp: kept, Microsoft support asks for them.
        description = _one_line(result.get("error_description") or "")
        detail = result.get("error", "unknown_error") + (f" - {self._scrub(description)}" if description else "")
        trouble = self._service_trouble(detail)
        if trouble:
            self._app = None
            raise AuthError(trouble)
        raise AuthError(f"Entra ID refused the {self.describe()}: {detail}{self._cloud_hint(result)}")

    def _cloud_hint(self, result: dict) -> str:
        """Entra ID knows no such resource in this tenant (AADSTS500011): the scope comes from `cloud`, so a tenant of
        another national cloud (or an authority_host of another cloud) is the likely cause."""
        if result.get("error") != "invalid_resource" and 500011 not in (result.get("error_codes") or []):
            return ""
        return (f"; the token was requested for {self.scope} (cloud {self.cloud.name}): set cloud to the tenant's "
                "national cloud (graph_endpoint and authority_host must be that cloud's too)")

    def _service_trouble(self, detail: str) -> str | None:
        """The message for a token request that failed on Entra ID's side (throttled, 5xx, no answer), which must not
        blame the credential; None when that is not what happened."""
        if not self.http_client.trouble:
            return None
        detail = f": {detail}" if detail else ""
        what = f"the {self.describe()} is"
        return f"Entra ID could not issue a token: {self.http_client.trouble}{detail}; {self._not_the_credential(what)}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def default_ca_bundle(explicit: str | None, environ: Mapping[str, str]) -> str | None:
    return explicit or first_env(CA_BUNDLE_ENV, environ)
