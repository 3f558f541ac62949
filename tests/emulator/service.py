# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Request handling, independent of sockets: Graph beta key sets, the identity provider and the test controls."""

from __future__ import annotations

import base64
import json
import logging
import math
import time
import uuid
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, Callable
from urllib.parse import parse_qs

from . import apps, errors, policies
from .config import Settings
from .errors import EntraError, GraphError
from .faults import FaultBook, RequestLog
from .identity import READ_ALL, READ_WRITE_ALL, IdentityProvider
from .routes import READ_ROUTES, Route, resolve
from .store import KeySetStore, normalize_keyset_id

LOG = logging.getLogger("emulator")
GRAPH_CONTENT_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
INVALID_JSON = "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: Message
    body: bytes = b""


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON_CONTENT_TYPE
    # close the connection without answering (a fault)
    drop: bool = False


class BadControlRequest(ValueError):
    """A malformed test-control request (answered 400 with {"error": message})."""


class Service:
    def __init__(self, store: KeySetStore, identity: IdentityProvider, settings: Settings, initial_settings: Settings) -> None:
        self.store = store
        self.identity = identity
        self.settings = settings
        self.initial_settings = initial_settings
        self.faults = FaultBook()
        self.log = RequestLog()
        self.issued_secrets: set[str] = set()  # every token and client secret handed out, for leak scans
        self.base_url = ""
        self._graph_handlers: dict[str, Callable[[Request, Route], Response]] = {
            "keysets.list": self._list_keysets,
            "keysets.create": self._create_keyset,
            "keysets.get": self._get_keyset,
            "keysets.replace": self._replace_keyset,
            "keysets.delete": self._delete_keyset,
            "keys.generate": self._generate_key,
            "keys.active": self._get_active_key,
            "keys.uploadSecret": self._upload_secret,
            "keys.uploadCertificate": self._upload_certificate,
            "keys.uploadPkcs12": self._upload_pkcs12,
            "keys_v2.get": self._get_key,
            "keys_v2.patch": self._patch_key,
        }
        self.policies = policies.PolicyStore(store.tenant_name, identity.tenant_id, store.replicated_ids)
        self.policy_api = policies.PolicyApi(self.policies, Response, self._context, lambda: self.base_url)
        self._graph_handlers.update(self.policy_api.handlers)
        self.directory = apps.Directory()
        self.directory_api = apps.DirectoryApi(self.directory, Response, self._context, lambda: self.base_url,
                                               lambda: self.settings.page_size, _json)
        self._graph_handlers.update(self.directory_api.handlers)

    def bind(self, base_url: str) -> None:
        self.base_url = base_url
        self.identity.bind(base_url)

    # ---- entry point ---------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        route = resolve(request.method, request.path)
        if route.family == "control":
            return self._control(request, route)
        started, started_wall = time.monotonic(), time.time()
        keyset = route.keyset or self._created_keyset_id(route, request)
        # policy routes: a fault's "keyset" filter names the policy
        target = keyset or route.policy or (policies.posted_policy_id(request.body) if route.name == "policies.create" else None)
        target = target or apps.fault_target(route, request.body, lambda body: json.loads(body.decode("utf-8")))
        fault = self.faults.take(route.name, request.method, target)
        if self.settings.latency_ms:
            time.sleep(self.settings.latency_ms / 1000.0)
        if fault and fault.get("delay"):
            time.sleep(fault["delay"])
        ids = _ids(request)
        if fault and not fault.get("commit") and (fault.get("drop") or fault.get("status")):
            response = self._fault_response(route, fault, ids)
        else:
            response = self._dispatch(request, route, ids)
            if fault and fault.get("commit"):
                response = self._fault_response(route, fault, ids)
        self._decorate(route, response, ids)
        self.log.add(method=request.method, path=request.path, query=request.query, route=route.name,
                     status=None if response.drop else response.status, started=started, started_wall=started_wall,
                     keyset=keyset, fault=fault, extra=_token_request_facts(route, request)
                     or policies.log_facts(route, target, request) or apps.log_facts(route, target))
        return response

    @staticmethod
    def _created_keyset_id(route: Route, request: Request) -> str | None:
        """For a create, the id the new key set gets (so faults and the log can name it)."""
        if route.name != "keysets.create":
            return None
        try:
            name = json.loads(request.body).get("id")
        except (ValueError, AttributeError):
            return None
        return normalize_keyset_id(name) if isinstance(name, str) and name else None

    def _dispatch(self, request: Request, route: Route, ids: dict[str, str]) -> Response:
        try:
            return self._dispatch_family(request, route, ids)
        except Exception:
            # A bug of the emulator: answer like a Graph 500 (a dropped connection would hide it) and log it
            LOG.exception("unexpected error serving %s %s", request.method, request.path)
            error = GraphError(500, "generalException", "Emulator internal error: see its log.")
            return Response(500, error.body(ids["request_id"], ids["client_request_id"]))

    def _dispatch_family(self, request: Request, route: Route, ids: dict[str, str]) -> Response:
        if route.family == "graph":
            try:
                return self._graph(request, route)
            except GraphError as exc:
                if self.settings.generic_error_code:
                    exc = errors.generic(exc)
                return Response(exc.status, exc.body(ids["request_id"], ids["client_request_id"]), exc.headers)
        if route.family == "identity":
            try:
                return self._identity(request, route)
            except EntraError as exc:
                return Response(exc.status, exc.body(ids["request_id"], ids["client_request_id"], self.base_url), exc.headers)
        error = route.error or GraphError(404, "UnknownError", "No endpoint matches the request.")
        return Response(error.status, error.body(ids["request_id"], ids["client_request_id"]))

    def _decorate(self, route: Route, response: Response, ids: dict[str, str]) -> None:
        if route.family == "identity":
            response.headers.setdefault("x-ms-request-id", ids["request_id"])
            response.headers.setdefault("client-request-id", ids["client_request_id"])
            response.headers.setdefault("Cache-Control", "no-store, no-cache")
            response.headers.setdefault("Pragma", "no-cache")
            return
        response.headers.setdefault("request-id", ids["request_id"])
        response.headers.setdefault("client-request-id", ids["client_request_id"])
        if route.family == "graph" and not isinstance(response.body, bytes):  # bytes: a policy's XML keeps its type
            response.content_type = GRAPH_CONTENT_TYPE

    def _fault_response(self, route: Route, fault: dict[str, Any], ids: dict[str, str]) -> Response:
        if fault.get("drop"):
            return Response(0, drop=True)
        status = fault["status"]
        headers = {}
        if fault.get("retry_after") is not None:
            headers["Retry-After"] = str(int(math.ceil(fault["retry_after"])))
        if route.family == "identity":
            error, aadsts, description = errors.ENTRA_FAULT_DEFAULTS.get(status, ("invalid_request", 90000, "Injected fault."))
            entra = EntraError(status, fault.get("code") or error, aadsts, fault.get("message") or description, headers)
            return Response(status, entra.body(ids["request_id"], ids["client_request_id"], self.base_url), entra.headers)
        code, message = errors.GRAPH_FAULT_DEFAULTS.get(status, ("UnknownError", "Injected fault."))
        graph = GraphError(status, fault.get("code") or code, fault.get("message") or message, headers)
        return Response(status, graph.body(ids["request_id"], ids["client_request_id"]), graph.headers)

    # ---- Microsoft Graph beta ------------------------------------------------------------------------------------
    def _graph(self, request: Request, route: Route) -> Response:
        claims = self.identity.verify_access_token(request.headers.get("Authorization"))
        if route.error is not None:
            raise route.error
        roles = set(claims.get("roles") or [])
        needed = policies.NEEDED_ROLES.get(route.name) or apps.NEEDED_ROLES.get(route.name) or (
            {READ_ALL, READ_WRITE_ALL} if route.name in READ_ROUTES else {READ_WRITE_ALL})
        route.caller, route.roles = claims.get("appid"), tuple(sorted(roles))
        if not roles & needed:
            raise errors.insufficient_privileges()
        return self._graph_handlers[route.name](request, route)

    def _context(self, fragment: str) -> str:
        return f"{self.base_url}/beta/$metadata#{fragment}"

    def _list_keysets(self, request: Request, route: Route) -> Response:
        keysets = self.store.list()
        query = parse_qs(request.query)
        start = 0
        if "$skiptoken" in query:
            try:
                start = int(base64.urlsafe_b64decode(query["$skiptoken"][0].encode("ascii")).decode("ascii"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise errors.bad_request("Invalid $skiptoken.") from exc
        end = start + self.settings.page_size if self.settings.page_size else len(keysets)
        body: dict[str, Any] = {"@odata.context": self._context("trustFramework/keySets"), "value": keysets[start:end]}
        if end < len(keysets):
            token = base64.urlsafe_b64encode(str(end).encode("ascii")).decode("ascii")
            body["@odata.nextLink"] = f"{self.base_url}/beta/trustFramework/keySets?$skiptoken={token}"
        return Response(200, body)

    def _create_keyset(self, request: Request, route: Route) -> Response:
        keyset = self.store.create(_json(request))
        # the service's Location uses OData's key-in-parentheses form (Microsoft's create example shows it)
        headers = {"Location": f"{self.base_url}/beta/trustFramework/keySets('{keyset['id']}')"}
        return Response(201, {"@odata.context": self._context("trustFramework/keySets/$entity"), **keyset}, headers)

    def _get_keyset(self, request: Request, route: Route) -> Response:
        return Response(200, {"@odata.context": self._context("trustFramework/keySets/$entity"), **self.store.get(route.keyset)})

    def _replace_keyset(self, request: Request, route: Route) -> Response:
        keyset = self.store.replace(route.keyset, _json(request))
        return Response(200, {"@odata.context": self._context("trustFramework/keySets/$entity"), **keyset})

    def _delete_keyset(self, request: Request, route: Route) -> Response:
        self.store.delete(route.keyset)
        return Response(204)

    def _key_response(self, key: dict[str, Any]) -> Response:
        return Response(200, {"@odata.context": self._context("microsoft.graph.trustFrameworkKey"), **key})

    def _generate_key(self, request: Request, route: Route) -> Response:
        return self._key_response(self.store.generate_key(route.keyset, _json(request)))

    def _get_active_key(self, request: Request, route: Route) -> Response:
        return self._key_response(self.store.active_key(route.keyset, time.time()))

    def _upload_secret(self, request: Request, route: Route) -> Response:
        return self._key_response(self.store.upload_secret(route.keyset, _json(request)))

    def _upload_certificate(self, request: Request, route: Route) -> Response:
        return self._key_response(self.store.upload_certificate(route.keyset, _json(request)))

    def _upload_pkcs12(self, request: Request, route: Route) -> Response:
        return self._key_response(self.store.upload_pkcs12(route.keyset, _json(request)))

    def _get_key(self, request: Request, route: Route) -> Response:
        key = self.store.get_key(route.keyset, route.kid)
        return Response(200, {"@odata.context": self._context(f"trustFramework/keySets('{route.keyset}')/keys_v2/$entity"), **key})

    def _patch_key(self, request: Request, route: Route) -> Response:
        self.store.patch_key(route.keyset, route.kid, _json(request))
        return Response(204)

    # ---- Entra ID ------------------------------------------------------------------------------------------------
    def _identity(self, request: Request, route: Route) -> Response:
        tenant = route.tenant or ""
        if not self.identity.knows_tenant(tenant):
            raise EntraError(400, "invalid_tenant" if route.name != "token" else "invalid_request", 90002,
                             f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into "
                             "the correct cloud. Check with your subscription administrator, this may happen if there are no active "
                             "subscriptions for the tenant.")
        if route.name == "discovery":
            return Response(200, self.identity.discovery_document())
        if route.name == "jwks":
            return Response(200, self.identity.jwks())
        content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise EntraError(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
        try:
            parsed = parse_qs(request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError as exc:
            raise EntraError(400, "invalid_request", 900144, "The request body is not valid form data.") from exc
        form = {name: values[0] for name, values in parsed.items()}
        issued = self.identity.issue_token(tenant, form, request.headers.get("Authorization"))
        self.issued_secrets.add(issued["access_token"])
        return Response(200, issued)

    # ---- test controls -------------------------------------------------------------------------------------------
    def _control(self, request: Request, route: Route) -> Response:
        try:
            return self._control_dispatch(request, route.control)
        except ValueError as exc:  # BadControlRequest, and the validation errors of the store, faults, apps and settings
            return Response(400, {"error": str(exc)})
        except Exception as exc:
            LOG.exception("unexpected error serving %s %s", request.method, request.path)
            return Response(500, {"error": f"emulator internal error: {type(exc).__name__}"})

    def _control_dispatch(self, request: Request, path: tuple[str, ...]) -> Response:
        method = request.method
        key = (method, "/".join(path))
        if key == ("POST", "reset"):
            self.reset()
            return Response(200, {"reset": True})
        if key == ("POST", "seed"):
            body = _control_json(request)
            return Response(200, {"keysets": self.store.seed(body.get("keysets"))})
        if key == ("GET", "state"):
            return Response(200, {"keysets": self.store.list(), "apps": self.identity.app_ids(), "settings": self.settings.as_dict(),
                                  "faults": self.faults.describe(), "policies": self.policies.ids(),
                                  "directory": self.directory.describe()})
        if path[:1] == ("policies",) and len(path) == 1:
            return self.policy_api.control(method, request)
        if key == ("GET", "requests"):
            return Response(200, self.log.entries())
        if key == ("DELETE", "requests"):
            self.log.clear()
            return Response(200, {"cleared": True})
        if key == ("GET", "faults"):
            return Response(200, self.faults.describe())
        if key == ("POST", "faults"):
            return Response(200, self.faults.add(_control_json(request)))
        if key == ("DELETE", "faults"):
            self.faults.clear()
            return Response(200, {"cleared": True})
        if key == ("GET", "apps"):
            return Response(200, self.identity.app_ids())
        if key == ("POST", "apps"):
            app = self.identity.register_app(_control_json(request))
            self.issued_secrets.update(secret for secret in [app.get("client_secret")] if secret)
            return Response(200, app)
        if key == ("POST", "federated-token"):
            token = self._federated_token(_control_json(request))
            self.issued_secrets.add(token)
            return Response(200, {"token": token})
        if key == ("POST", "access-token"):
            token = self._access_token(_control_json(request))
            self.issued_secrets.add(token)
            return Response(200, {"access_token": token})
        if key == ("GET", "secrets"):
            return Response(200, {"secrets": sorted(self.issued_secrets | set(self.identity.client_secrets())
                                                    | set(self.store.private_values()))})
        if key == ("POST", "revoke-tokens"):
            self.identity.revoke_all()
            return Response(200, {"revoked": True})
        if key == ("GET", "replication"):
            return Response(200, {"replicating": self.store.replication_left()})
        if key == ("GET", "config"):
            return Response(200, self.settings.as_dict())
        if key == ("POST", "config"):
            self.settings.update(_control_json(request))
            return Response(200, self.settings.as_dict())
        if key == ("GET", "issuer/.well-known/openid-configuration"):
            return Response(200, self.identity.external_issuer_document())
        if key == ("GET", "issuer/keys"):
            return Response(200, self.identity.external_jwks())
        return Response(404, {"error": f"no control endpoint {method} /_emulator/{'/'.join(path)}"})

    def reset(self) -> None:
        self.store.reset()
        self.policies.reset()
        self.directory.reset()
        self.identity.reset()
        self.faults.clear()
        self.log.clear()
        self.settings.update(self.initial_settings.as_dict())

    def _federated_token(self, body: dict[str, Any]) -> str:
        subject = body.get("subject")
        if not isinstance(subject, str) or not subject:
            raise BadControlRequest("subject is required")
        audience = body.get("audience") or "api://AzureADTokenExchange"
        lifetime = body.get("lifetime", 600)
        if isinstance(lifetime, bool) or not isinstance(lifetime, int):
            raise BadControlRequest("lifetime must be an integer number of seconds")
        return self.identity.federated_token(subject, audience, lifetime)

    def _access_token(self, body: dict[str, Any]) -> str:
        roles = body.get("roles")
        if roles is not None and (not isinstance(roles, list) or not all(isinstance(role, str) for role in roles)):
            raise BadControlRequest("roles must be null or a list of strings")
        expires_in = body.get("expires_in", 3600)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int):
            raise BadControlRequest("expires_in must be an integer number of seconds")
        audience = body.get("audience") or None  # the Graph root of the tenant's cloud
        return self.identity.mint_access_token(body.get("client_id"), roles=roles, expires_in=expires_in, audience=audience)


def _ids(request: Request) -> dict[str, str]:
    """request-id (new) and client-request-id (the caller's when sent, else new), like Graph and Entra answer them."""
    request_id = str(uuid.uuid4())
    client_request_id = request.headers.get("client-request-id") or str(uuid.uuid4())
    return {"request_id": request_id, "client_request_id": client_request_id}


def _json(request: Request) -> Any:
    try:
        return json.loads(request.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.bad_request(INVALID_JSON) from exc


def _control_json(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadControlRequest(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise BadControlRequest("the body must be a JSON object")
    return body


def _token_request_facts(route: Route, request: Request) -> dict[str, Any] | None:
    """The public parts of a token request (scope, client_id, how the client authenticated) for the request log."""
    if route.name != "token":
        return None
    try:
        form = {name: values[0] for name, values in parse_qs(request.body.decode("utf-8")).items()}
    except (UnicodeDecodeError, ValueError):
        return None
    if "client_assertion" in form:
        auth = "client_assertion"
    elif "client_secret" in form:
        auth = "client_secret"
    else:
        auth = None
    return {"scope": form.get("scope"), "client_id": form.get("client_id"), "client_auth": auth}
