# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""App registrations, service principals and delegated permission grants (Graph /applications, /servicePrincipals,
/oauth2PermissionGrants): the directory objects the two IEF apps are made of.

What is modelled and its evidence is in the "Applications" section of tests/emulator/README.md. Like policies.py, this
module imports neither `routes` nor `service`: handlers get the `Response` class from the service that registers them.
Written independently of plugins/module_utils/_apps/ief_apps.py: the emulator must not share the client's bugs.
"""

from __future__ import annotations

import base64
import copy
import datetime
import re
import secrets
import threading
import uuid
from typing import Any, Callable
from urllib.parse import parse_qs, quote, urlencode

from . import errors
from .errors import GraphError

# Microsoft Graph's application id, and its two delegated scopes of the IEF tutorial (the same ids in every tenant)
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_SCOPES = {"openid": "37f7f235-527c-4136-accd-4a02d197296e", "offline_access": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182"}

# Application permissions (Graph permission tables of each API page)
APPLICATION_READ_ALL = "Application.Read.All"
APPLICATION_READ_WRITE_ALL = "Application.ReadWrite.All"
APPLICATION_READ_WRITE_OWNED_BY = "Application.ReadWrite.OwnedBy"
DIRECTORY_READ_ALL = "Directory.Read.All"
DIRECTORY_READ_WRITE_ALL = "Directory.ReadWrite.All"
GRANT_READ_WRITE_ALL = "DelegatedPermissionGrant.ReadWrite.All"

ROUTE_NAMES = ("applications.list", "applications.create", "applications.get", "applications.patch",
               "applications.byUniqueName.get", "applications.upsert",
               "servicePrincipals.list", "servicePrincipals.create", "servicePrincipals.get", "servicePrincipals.upsert",
               "grants.list", "grants.create", "grants.get", "grants.patch")
_APP_READ = frozenset({APPLICATION_READ_ALL, APPLICATION_READ_WRITE_OWNED_BY, APPLICATION_READ_WRITE_ALL, DIRECTORY_READ_ALL,
                       DIRECTORY_READ_WRITE_ALL})
_APP_WRITE = frozenset({APPLICATION_READ_WRITE_OWNED_BY, APPLICATION_READ_WRITE_ALL, DIRECTORY_READ_WRITE_ALL})
_GRANT_READ = frozenset({DIRECTORY_READ_ALL, GRANT_READ_WRITE_ALL, DIRECTORY_READ_WRITE_ALL})
_GRANT_WRITE = frozenset({GRANT_READ_WRITE_ALL, DIRECTORY_READ_WRITE_ALL})
NEEDED_ROLES = {
    "applications.list": _APP_READ, "applications.get": _APP_READ, "applications.byUniqueName.get": _APP_READ,
    "applications.create": _APP_WRITE, "applications.patch": _APP_WRITE, "applications.upsert": _APP_WRITE,
    "servicePrincipals.list": _APP_READ, "servicePrincipals.get": _APP_READ,
    "servicePrincipals.create": _APP_WRITE, "servicePrincipals.upsert": _APP_WRITE,
    "grants.list": _GRANT_READ, "grants.get": _GRANT_READ,
    "grants.create": _GRANT_WRITE, "grants.patch": _GRANT_WRITE,
}
# Everything the IEF app module needs, for the apps the e2e suite and `make emulator` register
IEF_APP_PERMISSIONS = (APPLICATION_READ_WRITE_ALL, GRANT_READ_WRITE_ALL)

_COLLECTIONS = {"applications": "applications", "serviceprincipals": "servicePrincipals", "oauth2permissiongrants": "grants"}
_FILTER_CLAUSE = re.compile(r"^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$", re.IGNORECASE)
_COMPLEX = ("web", "publicClient", "api", "spa")
# OData's alternate-key address of one object, collection(key='value') (a quote inside doubled), and the keys modelled:
# the route name of each method on it
_KEYED = re.compile(r"^(\w+)\((\w+)='((?:[^']|'')*)'\)$")
_KEYED_ROUTES = {
    ("applications", "uniquename"): {"GET": "applications.byUniqueName.get", "PATCH": "applications.upsert"},
    ("servicePrincipals", "appid"): {"PATCH": "servicePrincipals.upsert"},
}
# Not documented as filterable: refused rather than answered (the client reads an app by its uniqueName as a key)
_UNFILTERABLE = {"applications": frozenset({"uniquename"})}
# What a service principal upsert may set (the rest of servicePrincipal is not modelled: refused)
_SP_WRITABLE = frozenset({"appId", "displayName", "tags", "appRoleAssignmentRequired", "accountEnabled"})


def _collection_key(segment: str) -> str:
    """applications, or applications(uniqueName='x') -> "applications" (lower case, as _COLLECTIONS is keyed)."""
    return segment.split("(", 1)[0].lower()


def route(method: str, segments: list[str]) -> tuple[str, str | None, GraphError | None]:
    """(route name, entity id or alternate key value, error) for
    /beta/{applications|servicePrincipals|oauth2PermissionGrants}/... and /beta/collection(key='value');
    `segments` start with the collection."""
    prefix = _COLLECTIONS[_collection_key(segments[0])]
    if "(" in segments[0]:
        keyed = _KEYED.match(segments[0])
        names = _KEYED_ROUTES.get((prefix, keyed.group(2).lower())) if keyed else None
        if names is None or len(segments) > 1:
            return "unknown", None, errors.bad_request(f"Resource not found for the segment '{segments[-1]}'.")
        name = names.get(method)
        if name is None:
            return "unknown", None, _not_allowed(method)
        return name, keyed.group(3).replace("''", "'"), None
    rest = segments[1:]
    if not rest:
        names = {"GET": f"{prefix}.list", "POST": f"{prefix}.create"}
        return (names[method], None, None) if method in names else ("unknown", None, _not_allowed(method))
    entity = rest[0]
    if len(rest) == 1 and re.fullmatch(r"[A-Za-z0-9_\-]+", entity):
        names = {"GET": f"{prefix}.get", "PATCH": f"{prefix}.patch"}
        name = names.get(method)
        if name in NEEDED_ROLES:
            return name, entity, None
        return "unknown", entity, _not_allowed(method)
    return "unknown", None, errors.bad_request(f"Resource not found for the segment '{rest[-1]}'.")


def is_collection(segment: str) -> bool:
    return _collection_key(segment) in _COLLECTIONS


def _not_allowed(method: str) -> GraphError:
    return GraphError(405, "Request_BadRequest", f"The HTTP method '{method}' is not allowed on this resource.")


# ---- errors in the service's words --------------------------------------------------------------------------------
def _not_found(entity: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound", f"Resource '{entity}' does not exist or one of its queried reference-property "
                                                       "objects are not present.")


def _bad(message: str) -> GraphError:
    return GraphError(400, "Request_BadRequest", message)


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_filter(query: str) -> dict[str, str]:
    """$filter=name eq 'value' [and ...] -> {name lower-cased: value}; anything else is Graph's 400."""
    values = parse_qs(query).get("$filter")
    if not values:
        return {}
    clauses: dict[str, str] = {}
    for clause in re.split(r"\s+and\s+", values[0], flags=re.IGNORECASE):
        match = _FILTER_CLAUSE.match(clause)
        if not match:
            raise _bad(f"Invalid filter clause: '{values[0]}'.")
        clauses[match.group(1).lower()] = match.group(2).replace("''", "'")
    return clauses


def _matches(item: dict[str, Any], clauses: dict[str, str]) -> bool:
    by_name = {key.lower(): value for key, value in item.items()}
    for name, value in clauses.items():
        if name not in by_name:
            raise _bad(f"Property '{name}' does not exist or cannot be filtered.")
        if str(by_name[name]).lower() != value.lower():  # Graph's eq on strings ignores case
            return False
    return True


# ---- the directory ------------------------------------------------------------------------------------------------
def _new_application(body: dict[str, Any]) -> dict[str, Any]:
    app = {
        "id": str(uuid.uuid4()), "appId": str(uuid.uuid4()), "createdDateTime": _now(), "displayName": None,
        "signInAudience": "AzureADandPersonalMicrosoftAccount", "isFallbackPublicClient": None, "identifierUris": [],
        "web": _default("web"), "publicClient": _default("publicClient"), "spa": _default("spa"), "api": _default("api"),
        "requiredResourceAccess": [], "tags": [], "notes": None, "uniqueName": None,
    }
    return app


def _default(name: str) -> dict[str, Any]:
    if name == "web":
        return {"homePageUrl": None, "logoutUrl": None, "redirectUris": [], "redirectUriSettings": [],
                "implicitGrantSettings": {"enableAccessTokenIssuance": False, "enableIdTokenIssuance": False}}
    if name == "api":
        return {"acceptMappedClaims": None, "knownClientApplications": [], "requestedAccessTokenVersion": None,
                "oauth2PermissionScopes": [], "preAuthorizedApplications": []}
    return {"redirectUris": []}


class Directory:
    """The tenant's applications, service principals and oauth2PermissionGrants; the Microsoft Graph service principal
    is in every tenant (and comes back after a reset). In memory only. Thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.applications: dict[str, dict[str, Any]] = {}
        self.service_principals: dict[str, dict[str, Any]] = {}
        self.grants: dict[str, dict[str, Any]] = {}
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.applications.clear()
            self.service_principals.clear()
            self.grants.clear()
            graph = {"id": str(uuid.uuid4()), "appId": GRAPH_APP_ID, "displayName": "Microsoft Graph",
                     "servicePrincipalType": "Application", "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
                     "servicePrincipalNames": [GRAPH_APP_ID, "https://graph.microsoft.com"], "accountEnabled": True,
                     "oauth2PermissionScopes": [_graph_scope(value, scope_id) for value, scope_id in GRAPH_SCOPES.items()]}
            self.service_principals[graph["id"]] = graph

    def describe(self) -> dict[str, Any]:
        """The state dump: every object as GET answers it (the Graph service principal included)."""
        with self.lock:
            return {"applications": [self._public_app(app) for app in self.applications.values()],
                    "servicePrincipals": [self._public_sp(sp) for sp in self.service_principals.values()],
                    "oauth2PermissionGrants": [dict(grant) for grant in self.grants.values()]}

    @staticmethod
    def _public_app(app: dict[str, Any]) -> dict[str, Any]:
        return {key: copy.deepcopy(value) for key, value in app.items() if not key.startswith("_")}

    def _public_sp(self, sp: dict[str, Any]) -> dict[str, Any]:
        shown = {key: copy.deepcopy(value) for key, value in sp.items() if not key.startswith("_")}
        app = self._app_by_app_id(sp["appId"])
        if app is not None:  # a service principal publishes its application's scopes
            shown["oauth2PermissionScopes"] = copy.deepcopy(app["api"].get("oauth2PermissionScopes") or [])
            shown["servicePrincipalNames"] = [app["appId"], *(app.get("identifierUris") or [])]
        return shown

    def _app_by_app_id(self, app_id: str) -> dict[str, Any] | None:
        return next((app for app in self.applications.values() if app["appId"].lower() == app_id.lower()), None)

    # -- applications --
    def list_applications(self, clauses: dict[str, str]) -> list[dict[str, Any]]:
        refused = sorted(set(clauses) & _UNFILTERABLE["applications"])
        if refused:  # whether or not any app would be compared
            raise _bad(f"Property '{refused[0]}' does not exist or cannot be filtered.")
        with self.lock:
            return [self._public_app(app) for app in self.applications.values() if _matches(self._public_app(app), clauses)]

    def _app_by_unique_name(self, unique_name: str) -> dict[str, Any] | None:
        return next((app for app in self.applications.values()
                     if (app.get("uniqueName") or "").lower() == unique_name.lower()), None)

    def get_application_by_unique_name(self, unique_name: str) -> dict[str, Any]:
        with self.lock:
            app = self._app_by_unique_name(unique_name)
            if app is None:
                raise _not_found(unique_name)
            return self._public_app(app)

    def get_application(self, entity: str) -> dict[str, Any]:
        with self.lock:
            return self._public_app(self._application(entity))

    def _application(self, entity: str) -> dict[str, Any]:
        app = self.applications.get(entity.lower())
        if app is None:
            raise _not_found(entity)
        return app

    def create_application(self, body: Any, caller: str | None, owned_only: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _bad("A JSON object is required.")
        name = body.get("displayName")
        if not isinstance(name, str) or not name.strip():
            raise _bad("Property 'displayName' is required.")
        app = _new_application(body)
        self._apply(app, body, creating=True)
        app["_owners"] = [caller] if caller and owned_only else []
        with self.lock:
            self._store_new(app)
            return self._public_app(app)

    def _store_new(self, app: dict[str, Any]) -> None:
        """Under the lock: the tenant-wide unique values checked, then the app stored."""
        self._check_identifier_uris(app)
        if app.get("uniqueName") and self._app_by_unique_name(app["uniqueName"]) is not None:
            raise _bad("Another object with the same value for property uniqueName already exists.")
        self.applications[app["id"]] = app

    def upsert_application(self, unique_name: str, body: Any, create_if_missing: bool, caller: str | None,
                           owned_only: bool) -> dict[str, Any] | None:
        """PATCH /applications(uniqueName=...): the new app (201) when none has that uniqueName and the caller asked
        for create-if-missing, else 404; an existing one is updated like a PATCH by id (204: None). One lock over the
        look-up and the create: concurrent upserts of one uniqueName make one app."""
        if not isinstance(body, dict):
            raise _bad("A JSON object is required.")
        name = body.get("displayName")
        if not isinstance(name, str) or not name.strip():  # "The request body must contain displayName"
            raise _bad("Property 'displayName' is required.")
        if not unique_name:
            raise _bad("The uniqueName key must not be empty.")
        given = body.get("uniqueName", unique_name)
        if not isinstance(given, str) or given.lower() != unique_name.lower():
            raise _bad("Property 'uniqueName' is read-only and cannot be changed.")
        fields = {key: value for key, value in body.items() if key != "uniqueName"}
        with self.lock:
            app = self._app_by_unique_name(unique_name)
            if app is not None:
                self._update(app, fields, caller, owned_only)
                return None
            if not create_if_missing:
                raise _not_found(unique_name)
            app = _new_application(fields)
            self._apply(app, fields, creating=True)
            app["uniqueName"] = unique_name
            app["_owners"] = [caller] if caller and owned_only else []
            self._store_new(app)
            return self._public_app(app)

    def patch_application(self, entity: str, body: Any, caller: str | None, owned_only: bool) -> None:
        if not isinstance(body, dict):
            raise _bad("A JSON object is required.")
        with self.lock:
            self._update(self._application(entity), body, caller, owned_only)

    def _update(self, app: dict[str, Any], body: dict[str, Any], caller: str | None, owned_only: bool) -> None:
        """Under the lock: a PATCH of `app`, all or nothing."""
        if owned_only and caller not in app.get("_owners", []):
            raise errors.insufficient_privileges()
        updated = copy.deepcopy(app)
        self._apply(updated, body, creating=False)
        self._check_scope_changes(app, updated)
        self._check_identifier_uris(updated)
        app.clear()
        app.update(updated)

    def _apply(self, app: dict[str, Any], body: dict[str, Any], creating: bool) -> None:
        for key, value in body.items():
            if key in ("id", "appId", "createdDateTime"):
                if creating:
                    continue
                raise _bad(f"Property '{key}' is read-only and cannot be set.")
            if key == "uniqueName":  # immutable: given at creation only (POST, or the upsert's key)
                if not creating:
                    raise _bad("Property 'uniqueName' is read-only and cannot be changed.")
                if not isinstance(value, str) or not value:
                    raise _bad("Property 'uniqueName' must be a non-empty string.")
            if key not in app or key.startswith("_"):
                raise _bad(f"Property '{key}' does not exist on type 'microsoft.graph.application'.")
            if key in _COMPLEX:
                if not isinstance(value, dict):
                    raise _bad(f"Property '{key}' must be an object.")
                # a complex value replaces the stored one whole: sub-properties not sent are reset
                merged = _default(key)
                unknown = sorted(set(value) - set(merged))
                if unknown:
                    raise _bad(f"Property '{unknown[0]}' does not exist on type of '{key}'.")
                merged.update(copy.deepcopy(value))
                app[key] = merged
            else:
                app[key] = copy.deepcopy(value)
        scopes = app["api"].get("oauth2PermissionScopes") or []
        ids = [scope.get("id") for scope in scopes if isinstance(scope, dict)]
        if len(ids) != len(scopes) or not all(isinstance(scope_id, str) and scope_id for scope_id in ids):
            raise _bad("Each oauth2PermissionScope needs an id.")
        if len(set(ids)) != len(ids):
            raise _bad("Permission (scope or role) ids must be unique.")
        values = [str(scope.get("value", "")).lower() for scope in scopes]
        if len(set(values)) != len(values):
            raise _bad("Permission (scope or role) values must be unique.")

    @staticmethod
    def _check_scope_changes(before: dict[str, Any], after: dict[str, Any]) -> None:
        """An enabled scope can be neither removed nor changed: it must be disabled first (Graph's rule)."""
        kept = {scope["id"]: scope for scope in after["api"].get("oauth2PermissionScopes") or []}
        for scope in before["api"].get("oauth2PermissionScopes") or []:
            if scope.get("isEnabled") and kept.get(scope["id"]) != scope:
                changed = kept.get(scope["id"])
                if changed is None or any(changed.get(key) != scope.get(key) for key in ("value", "type")):
                    raise _bad("Permission (scope or role) cannot be deleted or updated unless disabled first.")

    def _check_identifier_uris(self, app: dict[str, Any]) -> None:
        uris = app.get("identifierUris") or []
        for uri in uris:
            if not isinstance(uri, str):
                raise _bad("identifierUris must be strings.")
            for other in self.applications.values():
                if other["id"] != app["id"] and uri.lower() in (known.lower() for known in other.get("identifierUris") or []):
                    raise _bad("Another object with the same value for property identifierUris already exists.")

    # -- service principals --
    def list_service_principals(self, clauses: dict[str, str]) -> list[dict[str, Any]]:
        with self.lock:
            shown = [self._public_sp(sp) for sp in self.service_principals.values()]
            return [sp for sp in shown if _matches(sp, clauses)]

    def get_service_principal(self, entity: str) -> dict[str, Any]:
        with self.lock:
            sp = self.service_principals.get(entity.lower())
            if sp is None:
                raise _not_found(entity)
            return self._public_sp(sp)

    def create_service_principal(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("appId"), str):
            raise _bad("Property 'appId' is required.")
        with self.lock:
            app = self._app_for_service_principal(body["appId"])
            if self._sp_by_app_id(app["appId"]) is not None:
                raise GraphError(409, "Request_MultipleObjectsWithSameKeyValue",
                                 "The service principal cannot be created, updated, or restored because the service principal "
                                 f"name {app['appId']} is already in use.")
            return self._new_service_principal(app, dict(body, displayName=app["displayName"]))

    def upsert_service_principal(self, app_id: str, body: Any, create_if_missing: bool) -> dict[str, Any] | None:
        """PATCH /servicePrincipals(appId=...): the new service principal (201) when the app has none and the caller
        asked for create-if-missing, else 404; an existing one is updated (204: None). Atomic, like the app upsert."""
        if not isinstance(body, dict):
            raise _bad("A JSON object is required.")
        unknown = sorted(set(body) - _SP_WRITABLE)
        if unknown:
            raise _bad(f"Property '{unknown[0]}' does not exist on type 'microsoft.graph.servicePrincipal'.")
        if str(body.get("appId", app_id)).lower() != app_id.lower():
            raise _bad("Property 'appId' is read-only and cannot be changed.")
        with self.lock:
            sp = self._sp_by_app_id(app_id)
            if sp is not None:
                sp.update({key: copy.deepcopy(value) for key, value in body.items() if key != "appId"})
                return None
            if not create_if_missing:
                raise _not_found(app_id)
            name = body.get("displayName")
            if not isinstance(name, str) or not name.strip():
                raise _bad("Property 'displayName' is required.")
            return self._new_service_principal(self._app_for_service_principal(app_id), body)

    def _sp_by_app_id(self, app_id: str) -> dict[str, Any] | None:
        return next((sp for sp in self.service_principals.values() if sp["appId"].lower() == app_id.lower()), None)

    def _app_for_service_principal(self, app_id: str) -> dict[str, Any]:
        app = self._app_by_app_id(app_id)
        if app is None:
            raise _bad(f"The appId '{app_id}' of the service principal does not reference a valid application object.")
        return app

    def _new_service_principal(self, app: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """Under the lock: a service principal of `app` stored, with the body's display name."""
        sp = {"id": str(uuid.uuid4()), "appId": app["appId"], "displayName": body["displayName"],
              "accountEnabled": body.get("accountEnabled", True), "servicePrincipalType": "Application",
              "appRoleAssignmentRequired": bool(body.get("appRoleAssignmentRequired")), "tags": list(body.get("tags") or [])}
        self.service_principals[sp["id"]] = sp
        return self._public_sp(sp)

    # -- oauth2PermissionGrants --
    def list_grants(self, clauses: dict[str, str]) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(grant) for grant in self.grants.values() if _matches(grant, clauses)]

    def get_grant(self, entity: str) -> dict[str, Any]:
        with self.lock:
            grant = self.grants.get(entity)
            if grant is None:
                raise _not_found(entity)
            return dict(grant)

    def create_grant(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _bad("A JSON object is required.")
        for name in ("clientId", "consentType", "resourceId"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise _bad(f"Property '{name}' is required.")
        consent = body["consentType"]
        principal = body.get("principalId")
        if consent not in ("AllPrincipals", "Principal"):
            raise _bad(f"Invalid value '{consent}' for property 'consentType'.")
        if (consent == "AllPrincipals") == bool(principal):
            raise _bad("principalId must be given with consentType Principal, and only then.")
        scope = body.get("scope")
        if scope is not None and not isinstance(scope, str):
            raise _bad("Property 'scope' must be a string.")
        with self.lock:
            for name in ("clientId", "resourceId"):
                if body[name].lower() not in self.service_principals:
                    raise _bad(f"Invalid value specified for property '{name}' of resource 'OAuth2PermissionGrant'.")
            for grant in self.grants.values():
                if (grant["clientId"], grant["resourceId"], grant["consentType"], grant.get("principalId")) == (
                        body["clientId"].lower(), body["resourceId"].lower(), consent, principal):
                    raise GraphError(409, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.")
            grant_id = base64.urlsafe_b64encode(secrets.token_bytes(33)).decode("ascii")
            grant = {"id": grant_id, "clientId": body["clientId"].lower(), "consentType": consent, "principalId": principal,
                     "resourceId": body["resourceId"].lower(), "scope": scope or ""}
            self.grants[grant_id] = grant
            return dict(grant)

    def patch_grant(self, entity: str, body: Any) -> None:
        if not isinstance(body, dict) or set(body) - {"scope"}:
            raise _bad("Only 'scope' can be updated on an oAuth2PermissionGrant.")
        if not isinstance(body.get("scope"), str):
            raise _bad("Property 'scope' must be a string.")
        with self.lock:
            grant = self.grants.get(entity)
            if grant is None:
                raise _not_found(entity)
            grant["scope"] = body["scope"]


def _graph_scope(value: str, scope_id: str) -> dict[str, Any]:
    return {"id": scope_id, "value": value, "type": "User", "isEnabled": True,
            "adminConsentDisplayName": value, "adminConsentDescription": value}


class DirectoryApi:
    """The Graph handlers of the three collections, for `service.Service` to register."""

    def __init__(self, directory: Directory, response: Callable[..., Any], context: Callable[[str], str],
                 base_url: Callable[[], str], page_size: Callable[[], int | None], parse_json: Callable[[Any], Any]) -> None:
        self.directory = directory
        self._response = response
        self._context = context
        self._base_url = base_url
        self._page_size = page_size
        self._json = parse_json
        self.handlers = {
            "applications.list": self._list_applications, "applications.get": self._get_application,
            "applications.create": self._create_application, "applications.patch": self._patch_application,
            "applications.byUniqueName.get": self._get_application_by_unique_name,
            "applications.upsert": self._upsert_application,
            "servicePrincipals.list": self._list_sps, "servicePrincipals.get": self._get_sp,
            "servicePrincipals.create": self._create_sp, "servicePrincipals.upsert": self._upsert_sp,
            "grants.list": self._list_grants, "grants.get": self._get_grant,
            "grants.create": self._create_grant, "grants.patch": self._patch_grant,
        }

    def _page(self, request: Any, collection: str, items: list[dict[str, Any]]) -> Any:
        query = parse_qs(request.query)
        start = 0
        if "$skiptoken" in query:
            try:
                start = int(base64.urlsafe_b64decode(query["$skiptoken"][0].encode("ascii")).decode("ascii"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise _bad("Invalid $skiptoken.") from exc
        size = self._page_size()
        end = start + size if size else len(items)
        body: dict[str, Any] = {"@odata.context": self._context(collection), "value": items[start:end]}
        if end < len(items):
            token = base64.urlsafe_b64encode(str(end).encode("ascii")).decode("ascii")
            kept = [(key, value) for key, values in query.items() if key != "$skiptoken" for value in values]
            body["@odata.nextLink"] = (f"{self._base_url()}/beta/{collection}?"
                                       + urlencode(kept + [("$skiptoken", token)], quote_via=quote, safe="$"))
        return self._response(200, body)

    @staticmethod
    def _caller(route: Any) -> tuple[str | None, bool]:
        roles = set(route.roles or ())
        owned_only = not roles & {APPLICATION_READ_WRITE_ALL, DIRECTORY_READ_WRITE_ALL}
        return route.caller, owned_only

    def _list_applications(self, request: Any, route: Any) -> Any:
        return self._page(request, "applications", self.directory.list_applications(parse_filter(request.query)))

    def _get_application(self, request: Any, route: Any) -> Any:
        return self._response(200, {"@odata.context": self._context("applications/$entity"),
                                    **self.directory.get_application(route.entity)})

    def _create_application(self, request: Any, route: Any) -> Any:
        app = self.directory.create_application(self._json(request), *self._caller(route))
        headers = {"Location": f"{self._base_url()}/beta/directoryObjects/{app['id']}/Microsoft.DirectoryServices.Application"}
        return self._response(201, {"@odata.context": self._context("applications/$entity"), **app}, headers)

    def _patch_application(self, request: Any, route: Any) -> Any:
        self.directory.patch_application(route.entity, self._json(request), *self._caller(route))
        return self._response(204)

    def _get_application_by_unique_name(self, request: Any, route: Any) -> Any:
        return self._response(200, {"@odata.context": self._context("applications/$entity"),
                                    **self.directory.get_application_by_unique_name(route.entity)})

    def _upsert_application(self, request: Any, route: Any) -> Any:
        app = self.directory.upsert_application(route.entity, self._json(request), _creates_if_missing(request),
                                                *self._caller(route))
        if app is None:
            return self._response(204)
        return self._response(201, {"@odata.context": self._context("applications/$entity"), **app})

    def _upsert_sp(self, request: Any, route: Any) -> Any:
        sp = self.directory.upsert_service_principal(route.entity, self._json(request), _creates_if_missing(request))
        if sp is None:
            return self._response(204)
        return self._response(201, {"@odata.context": self._context("servicePrincipals/$entity"), **sp})

    def _list_sps(self, request: Any, route: Any) -> Any:
        return self._page(request, "servicePrincipals", self.directory.list_service_principals(parse_filter(request.query)))

    def _get_sp(self, request: Any, route: Any) -> Any:
        return self._response(200, {"@odata.context": self._context("servicePrincipals/$entity"),
                                    **self.directory.get_service_principal(route.entity)})

    def _create_sp(self, request: Any, route: Any) -> Any:
        sp = self.directory.create_service_principal(self._json(request))
        return self._response(201, {"@odata.context": self._context("servicePrincipals/$entity"), **sp})

    def _list_grants(self, request: Any, route: Any) -> Any:
        return self._page(request, "oauth2PermissionGrants", self.directory.list_grants(parse_filter(request.query)))

    def _get_grant(self, request: Any, route: Any) -> Any:
        return self._response(200, {"@odata.context": self._context("oauth2PermissionGrants/$entity"),
                                    **self.directory.get_grant(route.entity)})

    def _create_grant(self, request: Any, route: Any) -> Any:
        grant = self.directory.create_grant(self._json(request))
        return self._response(201, {"@odata.context": self._context("oauth2PermissionGrants/$entity"), **grant})

    def _patch_grant(self, request: Any, route: Any) -> Any:
        self.directory.patch_grant(route.entity, self._json(request))
        return self._response(204)


def _creates_if_missing(request: Any) -> bool:
    """Whether the request carries `Prefer: create-if-missing` (among other preferences, in one header or several)."""
    values = request.headers.get_all("Prefer") or []
    return "create-if-missing" in {token.strip().lower() for value in values for token in value.split(",")}


def fault_target(route: Any, body: bytes, parse: Callable[[bytes], Any]) -> str | None:
    """What a fault's `keyset` filter names on these routes: the displayName a create makes, the appId a service
    principal create is for, the clientId of a grant, else the addressed object's id or alternate key (the uniqueName
    of an application upsert, the appId of a service principal upsert)."""
    if route.name not in ROUTE_NAMES:
        return None
    if route.name.endswith(".create"):
        try:
            posted = parse(body)
        except ValueError:
            return None
        key = {"applications.create": "displayName", "servicePrincipals.create": "appId", "grants.create": "clientId"}[route.name]
        value = posted.get(key) if isinstance(posted, dict) else None
        return value if isinstance(value, str) else None
    return route.entity


def log_facts(route: Any, target: str | None) -> dict[str, Any] | None:
    """What the request log adds for these routes: the object the request was about."""
    return {"object": target} if route.name in ROUTE_NAMES else None
