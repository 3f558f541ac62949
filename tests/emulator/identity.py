# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Entra ID for one tenant: app registrations, the v2.0 token endpoint (client credentials) and Graph token checks.

Tokens are real RS256 JWTs signed by a key made at start; an "external OIDC issuer" with its own key signs the
assertions used for workload identity federation.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from . import errors
from .config import CLOUDS, Settings
from .errors import EntraError
from .jose import JwtError, UnverifiedJwt, b64url_encode, encode_jwt, rsa_public_jwk
from .pki import certificate_der, load_certificates, new_rsa_key, self_signed_certificate, sha1_hex, sha1_thumbprint, sha256_thumbprint

# Microsoft Graph's application id: "<it>/.default" names Graph like its root URL does
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
READ_ALL = "TrustFrameworkKeySet.Read.All"
READ_WRITE_ALL = "TrustFrameworkKeySet.ReadWrite.All"
FEDERATED_AUDIENCE = "api://AzureADTokenExchange"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_LIFETIME = 3599
# Entra back-dates iat/nbf of the tokens it issues by five minutes
ISSUE_BACKDATE = 300
ASSERTION_NBF_SKEW = 300
APP_FIELDS = ("client_id", "client_secret", "certificate_pem", "federated", "permissions", "display_name")


@dataclass(frozen=True)
class RegisteredCertificate:
    x5t: str
    x5t_s256: str
    sha1_hex: str
    public_key: Any


@dataclass
class App:
    client_id: str
    display_name: str
    object_id: str
    secrets: list[str] = field(default_factory=list)
    certificates: list[RegisteredCertificate] = field(default_factory=list)
    federated: list[dict[str, str]] = field(default_factory=list)
    permissions: list[str] = field(default_factory=list)
    builtin: bool = False

    def describe(self) -> dict[str, Any]:
        """What register_app answers: the app with its (first) secret, so a test can use it."""
        return {
            "client_id": self.client_id,
            "client_secret": self.secrets[0] if self.secrets else None,
            "display_name": self.display_name,
            "object_id": self.object_id,
            "permissions": list(self.permissions),
            "certificates": [{"x5t": cert.x5t, "x5t#S256": cert.x5t_s256, "thumbprint": cert.sha1_hex} for cert in self.certificates],
            "federated": [dict(record) for record in self.federated],
        }


def new_client_secret() -> str:
    return secrets.token_urlsafe(30)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


class IdentityProvider:
    """The tenant's identity side. Thread-safe."""

    def __init__(self, tenant_id: str, tenant_domain: str, settings: Settings | None = None) -> None:
        self.tenant_id = tenant_id
        self.tenant_domain = tenant_domain
        # the tenant's cloud is a setting: a test may move the tenant to another cloud
        self.settings = settings or Settings()
        self.base_url = ""
        self._lock = threading.RLock()
        self._apps: dict[str, App] = {}
        self._issued: set[str] = set()
        self._revoked: set[str] = set()
        self._signing_key = new_rsa_key()
        self._signing_cert = self_signed_certificate(self._signing_key, "entra.b2c emulator token signing")
        self.signing_kid = sha1_thumbprint(self._signing_cert)
        self._issuer_key = new_rsa_key()
        self.issuer_kid = b64url_encode(secrets.token_bytes(16))

    # ---- addresses -------------------------------------------------------------------------------------------------
    def bind(self, base_url: str) -> None:
        self.base_url = base_url

    def token_endpoint(self, tenant: str | None = None) -> str:
        return f"{self.base_url}/{tenant or self.tenant_id}/oauth2/v2.0/token"

    @property
    def external_issuer(self) -> str:
        """The external OIDC issuer whose tokens federated apps trust (think: a CI system or Kubernetes)."""
        return f"{self.base_url}/_emulator/issuer"

    @property
    def token_issuer(self) -> str:
        # Graph tokens are v1 tokens
        return f"https://sts.windows.net/{self.tenant_id}/"

    def knows_tenant(self, tenant: str) -> bool:
        return tenant.lower() in (self.tenant_id.lower(), self.tenant_domain.lower())

    @property
    def login_host(self) -> str:
        return CLOUDS[self.settings.cloud]["login_host"]

    @property
    def graph_root(self) -> str:
        """The Graph root of the tenant's cloud: the one audience tokens are issued for and Graph accepts."""
        return self.settings.graph_root

    def discovery_document(self) -> dict[str, Any]:
        root = f"{self.base_url}/{self.tenant_id}"
        cloud = CLOUDS[self.settings.cloud]
        graph_host = self.graph_root.split("://", 1)[1]
        return {
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{root}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{self.graph_root}/oidc/userinfo",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver", "oid", "roles"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": cloud["cloud_instance_name"],
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": graph_host,
        }

    def jwks(self) -> dict[str, Any]:
        jwk = {"kty": "RSA", "use": "sig", "kid": self.signing_kid, "x5t": self.signing_kid, **rsa_public_jwk(self._signing_key.public_key()),
               "x5c": [base64.b64encode(certificate_der(self._signing_cert)).decode("ascii")], "issuer": self.token_issuer}
        return {"keys": [jwk]}

    def external_issuer_document(self) -> dict[str, Any]:
        return {"issuer": self.external_issuer, "jwks_uri": f"{self.external_issuer}/keys",
                "id_token_signing_alg_values_supported": ["RS256"], "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"]}

    def external_jwks(self) -> dict[str, Any]:
        return {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.issuer_kid, **rsa_public_jwk(self._issuer_key.public_key())}]}

    # ---- apps ------------------------------------------------------------------------------------------------------
    def register_app(self, fields: dict[str, Any], builtin: bool = False) -> dict[str, Any]:
        """Register an app; raises ValueError on a malformed registration."""
        if not isinstance(fields, dict):
            raise ValueError("an app registration is a JSON object")
        unknown = sorted(set(fields) - set(APP_FIELDS))
        if unknown:
            raise ValueError(f"unknown app fields: {', '.join(unknown)}; known: {', '.join(APP_FIELDS)}")
        client_id = fields.get("client_id") or str(uuid.uuid4())
        if not isinstance(client_id, str):
            raise ValueError("client_id must be a string")
        try:
            loaded = load_certificates(_as_list(fields.get("certificate_pem")))
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError("certificate_pem must be PEM text (or a list of them) holding certificates") from exc
        certificates = [RegisteredCertificate(sha1_thumbprint(cert), sha256_thumbprint(cert), sha1_hex(cert), cert.public_key())
                        for cert in loaded]
        federated = []
        for record in _as_list(fields.get("federated")):
            if not isinstance(record, dict) or not isinstance(record.get("subject"), str):
                raise ValueError("each federated record needs a 'subject'")
            federated.append({"issuer": record.get("issuer") or self.external_issuer, "subject": record["subject"],
                              "audience": record.get("audience") or FEDERATED_AUDIENCE})
        app_secrets = [secret for secret in _as_list(fields.get("client_secret")) if secret]
        if not all(isinstance(secret, str) for secret in app_secrets):
            raise ValueError("client_secret must be a string or a list of strings")
        if "client_secret" not in fields and not certificates and not federated:
            app_secrets = [new_client_secret()]
        permissions = fields.get("permissions", [READ_WRITE_ALL])
        if not isinstance(permissions, list) or not all(isinstance(item, str) for item in permissions):
            raise ValueError("permissions must be a list of strings")
        app = App(client_id=client_id, display_name=fields.get("display_name") or f"emulator app {client_id[:8]}",
                  object_id=str(uuid.uuid4()), secrets=app_secrets, certificates=certificates, federated=federated,
                  permissions=list(permissions), builtin=builtin)
        with self._lock:
            if client_id.lower() in self._apps:
                raise ValueError(f"an app with client_id {client_id} is already registered")
            self._apps[client_id.lower()] = app
        return app.describe()

    def client_secrets(self) -> list[str]:
        with self._lock:
            return [secret for app in self._apps.values() for secret in app.secrets]

    def app_ids(self) -> list[str]:
        with self._lock:
            return [app.client_id for app in self._apps.values()]

    def _app(self, client_id: str) -> App | None:
        with self._lock:
            return self._apps.get(client_id.lower())

    def reset(self) -> None:
        """Forget apps registered after start, and revocations."""
        with self._lock:
            self._apps = {key: app for key, app in self._apps.items() if app.builtin}
            # tokens issued before the reset stay known, so a later revoke_all() reaches them too
            self._revoked.clear()

    def revoke_all(self) -> None:
        with self._lock:
            self._revoked |= self._issued

    # ---- tokens ----------------------------------------------------------------------------------------------------
    def mint_access_token(self, client_id: str | None = None, roles: list[str] | None = None, expires_in: int = TOKEN_LIFETIME,
                          audience: str | None = None, appidacr: str = "1") -> str:
        """A Graph access token for an app (default: the first built-in one); roles default to its permissions, the
        audience to the Graph root of the tenant's cloud."""
        audience = audience or self.graph_root
        with self._lock:
            if client_id is None:
                app = next(iter(self._apps.values()))
            else:
                found = self._apps.get(client_id.lower())
                if found is None:
                    raise ValueError(f"no app with client_id {client_id}")
                app = found
            uti = b64url_encode(secrets.token_bytes(16))
            self._issued.add(uti)
        now = int(time.time())
        expires_at = now + int(expires_in)
        issued_at = min(now - ISSUE_BACKDATE, expires_at - 60)
        claims = {
            "aud": audience, "iss": self.token_issuer, "iat": issued_at, "nbf": issued_at, "exp": expires_at,
            "app_displayname": app.display_name, "appid": app.client_id, "appidacr": appidacr, "idp": self.token_issuer,
            "idtyp": "app", "oid": app.object_id, "roles": list(app.permissions if roles is None else roles),
            "sub": app.object_id, "tid": self.tenant_id, "uti": uti, "ver": "1.0",
        }
        return encode_jwt(claims, self._signing_key, {"x5t": self.signing_kid, "kid": self.signing_kid})

    def federated_token(self, subject: str, audience: str = FEDERATED_AUDIENCE, lifetime: int = 600) -> str:
        """A token of the external issuer, as a CI system would hand to a workload (negative lifetime: expired)."""
        now = int(time.time())
        expires_at = now + int(lifetime)
        claims = {"iss": self.external_issuer, "sub": subject, "aud": audience, "iat": now, "nbf": min(now, expires_at) - 60,
                  "exp": expires_at, "jti": str(uuid.uuid4())}
        return encode_jwt(claims, self._issuer_key, {"kid": self.issuer_kid})

    def issue_token(self, tenant: str, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        """POST /{tenant}/oauth2/v2.0/token with grant_type=client_credentials; raises EntraError like Entra ID."""
        grant_type = form.get("grant_type")
        if not grant_type:
            raise _missing_parameter("grant_type")
        if grant_type != "client_credentials":
            raise EntraError(400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant_type}'.")
        client_id = form.get("client_id")
        basic_secret = None
        if authorization and authorization[:6].lower() == "basic ":
            try:
                basic_id, _sep, basic_secret = base64.b64decode(authorization[6:].strip()).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise EntraError(400, "invalid_request", 900144, "The Authorization header is not valid Basic credentials.") from exc
            client_id = client_id or unquote(basic_id)
            basic_secret = unquote(basic_secret)
        if not client_id:
            raise _missing_parameter("client_id")
        app = self._app(client_id)
        if app is None:
            raise EntraError(400, "unauthorized_client", 700016,
                             f"Application with identifier '{client_id}' was not found in the directory '{self.tenant_domain}'. "
                             "This can happen if the application has not been installed by the administrator of the tenant or "
                             "consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.")
        appidacr = self._authenticate(app, tenant, form, basic_secret)
        audience = self._audience_of(form.get("scope"))
        token = self.mint_access_token(app.client_id, expires_in=TOKEN_LIFETIME, audience=audience, appidacr=appidacr)
        return {"token_type": "Bearer", "expires_in": TOKEN_LIFETIME, "ext_expires_in": TOKEN_LIFETIME, "access_token": token}

    def _audience_of(self, scope: str | None) -> str:
        """The token audience of a client-credentials scope, refused the way Entra ID refuses it: no scope (900144), a
        scope without /.default (1002012), scopes of several resources (28000), a resource this tenant's cloud does
        not have, such as another cloud's Graph (500011)."""
        scopes = (scope or "").split()
        if not scopes:
            raise _missing_parameter("scope")
        resources = []
        for item in scopes:
            if not item.endswith("/.default") or item == "/.default":
                raise EntraError(400, "invalid_scope", 1002012,
                                 f"The provided value for scope {item} is not valid. Client credential flows must have a scope "
                                 "value with /.default suffixed to the resource identifier (application ID URI).")
            resources.append(item[:-len("/.default")].rstrip("/"))
        if len(set(resources)) > 1:
            raise EntraError(400, "invalid_scope", 28000,
                             "Provided value for the input parameter scope is not valid because it contains more than one "
                             f"resource. Scope {scope} is not valid.")
        resource = resources[0]
        if resource in (self.graph_root, GRAPH_APP_ID):
            return self.graph_root
        raise EntraError(400, "invalid_resource", 500011,
                         f"The resource principal named {resource} was not found in the tenant named {self.tenant_domain}. This "
                         "can happen if the application has not been installed by the administrator of the tenant or consented "
                         "to by any user in the tenant. You might have sent your authentication request to the wrong tenant.")

    def _authenticate(self, app: App, tenant: str, form: dict[str, str], basic_secret: str | None) -> str:
        """Check the client credential; answers Entra's appidacr ("1" secret, "2" certificate or assertion)."""
        assertion = form.get("client_assertion")
        if assertion:
            if form.get("client_assertion_type") != JWT_BEARER:
                raise _missing_parameter("client_assertion_type")
            self._check_assertion(app, tenant, assertion)
            return "2"
        secret = form.get("client_secret") or basic_secret
        if secret:
            if not any(hmac.compare_digest(secret.encode("utf-8"), known.encode("utf-8")) for known in app.secrets):
                raise EntraError(401, "invalid_client", 7000215,
                                 "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                                 f"value, not the client secret ID, for a secret added to app '{app.client_id}'.")
            return "1"
        raise EntraError(401, "invalid_client", 7000216,
                         "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.")

    def _check_assertion(self, app: App, tenant: str, assertion: str) -> None:
        try:
            jwt = UnverifiedJwt(assertion)
        except JwtError as exc:
            raise EntraError(400, "invalid_request", 50027, "JWT token is invalid or malformed.") from exc
        if "x5t" in jwt.header or "x5t#S256" in jwt.header:
            self._check_certificate_assertion(app, tenant, jwt)
        else:
            self._check_federated_assertion(app, jwt)

    def _check_certificate_assertion(self, app: App, tenant: str, jwt: UnverifiedJwt) -> None:
        by_sha256 = "x5t#S256" in jwt.header
        presented = str(jwt.header.get("x5t#S256") if by_sha256 else jwt.header.get("x5t"))
        # msal keeps the base64 padding ('='); Entra accepts the thumbprint either way
        wanted = presented.rstrip("=")
        cert = next((cert for cert in app.certificates if (cert.x5t_s256 if by_sha256 else cert.x5t) == wanted), None)
        if cert is None:
            raise EntraError(401, "invalid_client", 700027,
                             "The certificate with identifier used to sign the client assertion is not registered on application. "
                             f"[Reason - The key was not found., Thumbprint of key used by client: '{presented}', Please visit the "
                             f"Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{app.client_id}'.]")
        try:
            jwt.verify(cert.public_key)
        except JwtError as exc:
            raise EntraError(401, "invalid_client", 700027, "Client assertion failed signature validation.") from exc
        claims = jwt.claims
        if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
            raise EntraError(401, "invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
        audiences = _as_list(claims.get("aud"))
        accepted = {self.token_endpoint(), self.token_endpoint(self.tenant_domain), self.token_endpoint(tenant)}
        if not any(audience in accepted for audience in audiences):
            raise EntraError(401, "invalid_client", 700023, "Client assertion audience claim does not match Realm issuer.")
        self._check_assertion_times(claims)

    def _check_federated_assertion(self, app: App, jwt: UnverifiedJwt) -> None:
        claims = jwt.claims
        issuer, subject, audiences = claims.get("iss"), claims.get("sub"), _as_list(claims.get("aud"))
        matched = any(record["issuer"] == issuer and record["subject"] == subject and record["audience"] in audiences
                      for record in app.federated)
        if not matched:
            raise EntraError(400, "invalid_request", 70021,
                             f"No matching federated identity record found for presented assertion. Assertion Issuer: '{issuer}'. "
                             f"Assertion Subject: '{subject}'. Assertion Audience: '{','.join(str(item) for item in audiences)}'.")
        try:
            if issuer != self.external_issuer:
                raise JwtError("unknown issuer")
            jwt.verify(self._issuer_key.public_key())
        except JwtError as exc:
            raise EntraError(401, "invalid_client", 700027, "Client assertion failed signature validation.") from exc
        self._check_assertion_times(claims)

    @staticmethod
    def _check_assertion_times(claims: dict[str, Any]) -> None:
        now = time.time()
        expires_at, not_before = claims.get("exp"), claims.get("nbf")
        if isinstance(expires_at, bool) or not isinstance(expires_at, (int, float)):
            raise EntraError(400, "invalid_request", 50027, "JWT token is invalid or malformed: the 'exp' claim is missing.")
        valid_from = not_before if isinstance(not_before, (int, float)) and not isinstance(not_before, bool) else None
        if expires_at <= now or (valid_from is not None and valid_from > now + ASSERTION_NBF_SKEW):
            raise EntraError(401, "invalid_client", 700024,
                             f"Client assertion is not within its valid time range. Current time: {_iso(now)}, "
                             f"assertion valid from {_iso(valid_from) if valid_from is not None else 'unspecified'}, "
                             f"expiry time of assertion {_iso(expires_at)}.")

    def verify_access_token(self, authorization: str | None) -> dict[str, Any]:
        """The claims of a valid Graph bearer token; raises Graph's 401 InvalidAuthenticationToken otherwise."""
        if not authorization or not authorization.strip():
            raise errors.invalid_token("Access token is empty.", self.login_host)
        scheme, _sep, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.invalid_token("Access token is empty.", self.login_host)
        try:
            jwt = UnverifiedJwt(token.strip())
        except JwtError as exc:
            raise errors.invalid_token("CompactToken parsing failed with error code: 80049217", self.login_host) from exc
        try:
            if jwt.header.get("kid") != self.signing_kid or jwt.alg != "RS256":
                raise JwtError("not signed by this tenant's token key")
            jwt.verify(self._signing_key.public_key())
        except JwtError as exc:
            raise errors.invalid_token("Access token validation failure.", self.login_host) from exc
        claims = jwt.claims
        if claims.get("aud") != self.graph_root:
            # a token for another cloud's Graph (or any other resource) is not for this Graph
            raise errors.invalid_token("Access token validation failure. Invalid audience.", self.login_host)
        if claims.get("tid") != self.tenant_id or claims.get("iss") != self.token_issuer:
            raise errors.invalid_token("Access token validation failure. Invalid issuer.", self.login_host)
        now = time.time()
        expires_at, not_before = claims.get("exp"), claims.get("nbf")
        if not isinstance(expires_at, (int, float)) or expires_at <= now or (isinstance(not_before, (int, float)) and not_before > now):
            raise errors.invalid_token("Access token has expired or is not yet valid.", self.login_host)
        with self._lock:
            revoked = claims.get("uti") in self._revoked
        if revoked:
            raise errors.invalid_token("Continuous access evaluation resulted in challenge with result: InteractionRequired "
                                       "and code: TokenIssuedBeforeRevocationTimestamp", self.login_host)
        return claims


def _missing_parameter(name: str) -> EntraError:
    return EntraError(400, "invalid_request", 900144, f"The request body must contain the following parameter: '{name}'.")


def _iso(epoch: float) -> str:
    return time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(epoch))
