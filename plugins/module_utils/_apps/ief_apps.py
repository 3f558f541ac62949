# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The two IEF app registrations, decided without I/O: their desired shape, what differs, the PATCH bodies.

Internal use only: this module may change without notice.

Microsoft's "Create user flows and custom policies" tutorial registers:
- IdentityExperienceFramework: accounts of this directory only, a Web redirect URI
  ``https://<tenant>.b2clogin.com/<tenant>.onmicrosoft.com``, the default application ID URI ``api://<appId>``, a scope
  ``user_impersonation`` ("Access IdentityExperienceFramework"), Microsoft Graph ``openid`` and ``offline_access`` with
  admin consent;
- ProxyIdentityExperienceFramework: accounts of this directory only, a public client (mobile and desktop) redirect URI
  ``myapp://auth``, public client flows allowed (``isFallbackPublicClient``), delegated access to the first app's
  ``user_impersonation`` and to Graph's ``openid`` and ``offline_access``, admin consent granted.
Admin consent is an oauth2PermissionGrant of consentType AllPrincipals from the client's service principal to the
resource's. Only what is missing is added: redirect URIs, scopes, permissions and grants the apps hold beyond these are
kept, and nothing is removed.

An app this module creates gets a uniqueName (Graph's client-provided alternate key) computed from its display name
alone (unique_name): two runs that start together create it through one upsert by that key, and converge on one app.
"""

from __future__ import annotations

import copy
import hashlib
import re
from typing import Any

from ansible_collections.entra.b2c.plugins.module_utils._core.errors import UserError
from ansible_collections.entra.b2c.plugins.module_utils._core.identity import is_guid

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# Microsoft Graph's delegated permission ids are the same in every tenant; the tenant's Graph service principal lists them
# (oauth2PermissionScopes) and wins when it does.
GRAPH_SCOPE_IDS = {"openid": "37f7f235-527c-4136-accd-4a02d197296e", "offline_access": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182"}
GRAPH_SCOPES = ("openid", "offline_access")
IEF_NAME = "IdentityExperienceFramework"
PROXY_NAME = "ProxyIdentityExperienceFramework"
PROXY_REDIRECT_URI = "myapp://auth"
SCOPE_VALUE = "user_impersonation"
SIGN_IN_AUDIENCE = "AzureADMyOrg"
ALL_PRINCIPALS = "AllPrincipals"

IEF_KEY = "identity_experience_framework"
PROXY_KEY = "proxy_identity_experience_framework"

UNIQUE_NAME_PREFIX = "entra-b2c-"
UNIQUE_NAME_SLUG_MAX = 40

_TENANT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class AppsError(UserError):
    """A refusal of the IEF app module: bad input (before any request) or a tenant it cannot settle."""


# ---- input ----------------------------------------------------------------------------------------------------------
def tenant_name(tenant_domain: str | None, tenant_id: str | None) -> str:
    """The tenant's name (``contoso`` of contoso.onmicrosoft.com), which the b2clogin.com redirect URI is made of: from
    `tenant_domain`, else from `tenant_id` when that is a domain name; lower case, as the tutorial asks."""
    given, option = (tenant_domain, "tenant_domain") if tenant_domain else (tenant_id, "tenant_id")
    if not given:
        raise AppsError("tenant_domain: required when tenant_id is not given (an access_token alone does not name the "
                        "tenant); give the tenant's domain, such as contoso.onmicrosoft.com")
    value = given.strip().lower()
    if is_guid(value):
        raise AppsError(f"tenant_domain: required when tenant_id is a GUID ({given}): the redirect URI of "
                        f"{IEF_NAME} is made of the tenant's name; give the domain, such as contoso.onmicrosoft.com")
    name = value[:-len(".onmicrosoft.com")] if value.endswith(".onmicrosoft.com") else value
    if not _TENANT_NAME.match(name):
        raise AppsError(f"{option}: '{given}' is not a B2C tenant domain; give the <name>.onmicrosoft.com domain of the "
                        f"tenant (a custom domain cannot name its b2clogin.com address)")
    return name


def redirect_uri(name: str) -> str:
    return f"https://{name}.b2clogin.com/{name}.onmicrosoft.com"


def check_options(ief_name: str, proxy_name: str, ief_app_id: str | None, proxy_app_id: str | None) -> None:
    """The display names and given app ids, checked before any request."""
    for option, value in (("identity_experience_framework_name", ief_name), ("proxy_identity_experience_framework_name",
                                                                             proxy_name)):
        if not value or not value.strip():
            raise AppsError(f"{option}: must not be empty")
    if ief_name.strip().lower() == proxy_name.strip().lower():
        raise AppsError(f"identity_experience_framework_name and proxy_identity_experience_framework_name are both "
                        f"'{ief_name}': the two apps need two names")
    for option, value in ((f"{IEF_KEY}_app_id", ief_app_id), (f"{PROXY_KEY}_app_id", proxy_app_id)):
        if value is not None and not is_guid(value):
            raise AppsError(f"{option}: '{value}' is not an application (client) id; give a GUID such as "
                            f"00000000-0000-0000-0000-000000000000, or leave it out to find the app by display name")
    if ief_app_id and proxy_app_id and ief_app_id.lower() == proxy_app_id.lower():
        raise AppsError(f"{IEF_KEY}_app_id and {PROXY_KEY}_app_id are the same id: the two apps are two registrations")


# ---- finding ----------------------------------------------------------------------------------------------------------
def pick_app(found: list[dict], name: str, given_app_id: str | None, option: str) -> dict | None:
    """The one app among those a lookup found: by `given_app_id` when given (it must exist), else by display name (none:
    None, several: refused, naming each)."""
    if given_app_id:
        matches = [app for app in found if str(app.get("appId", "")).lower() == given_app_id.lower()]
        if not matches:
            raise AppsError(f"{option}: no application with appId {given_app_id} in the tenant; give the Application "
                            f"(client) id of an existing app, or leave it out to find or create '{name}' by name")
        return matches[0]
    matches = [app for app in found if str(app.get("displayName", "")).lower() == name.lower()]
    if len(matches) > 1:
        listed = ", ".join(f"appId {app.get('appId')} (object id {app.get('id')})" for app in matches)
        raise AppsError(f"{len(matches)} applications are named '{name}': {listed}; delete the extra one, or give the "
                        f"one to use with {option}")
    return matches[0] if matches else None


# ---- the alternate key of the apps this module creates ------------------------------------------------------------
def unique_name(display_name: str) -> str:
    """The uniqueName an app of this display name is created with: ``entra-b2c-<slug>-<8 hex>``, the slug the
    lower-cased name with each run of other characters than a-z and 0-9 made one '-' (at most 40 characters), the hex
    the start of the SHA-256 of the lower-cased name. The same for every run given the same name (display names are
    matched ignoring case); two names a slug would confuse ('IEF App', 'ief-app') differ by their hash. Only lower-case
    letters, digits and '-': nothing to escape in a URL or an OData key, whatever Graph's undocumented rules are."""
    folded = display_name.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:UNIQUE_NAME_SLUG_MAX].strip("-") or "app"
    return f"{UNIQUE_NAME_PREFIX}{slug}-{hashlib.sha256(folded.encode('utf-8')).hexdigest()[:8]}"


# ---- desired shapes -------------------------------------------------------------------------------------------------
def graph_scope_ids(graph_sp: dict | None) -> dict[str, str]:
    """openid and offline_access ids: the tenant's Graph service principal's when it lists them, else the well-known."""
    ids = dict(GRAPH_SCOPE_IDS)
    for scope in (graph_sp or {}).get("oauth2PermissionScopes") or []:
        if isinstance(scope, dict) and scope.get("value") in ids and scope.get("id"):
            ids[scope["value"]] = scope["id"]
    return ids


def scope_definition(scope_id: str, app_name: str) -> dict:
    """The user_impersonation scope as the tutorial defines it (admins consent: the portal's default)."""
    return {
        "id": scope_id,
        "value": SCOPE_VALUE,
        "type": "Admin",
        "isEnabled": True,
        "adminConsentDisplayName": f"Access {app_name}",
        "adminConsentDescription": f"Allow the application to access {app_name} on behalf of the signed-in user.",
        "userConsentDisplayName": None,
        "userConsentDescription": None,
    }


def _access(resource_app_id: str, scope_ids: list[str]) -> dict:
    return {"resourceAppId": resource_app_id, "resourceAccess": [{"id": scope_id, "type": "Scope"} for scope_id in scope_ids]}


def ief_create_body(name: str, tenant: str, scope_id: str, graph_ids: dict[str, str]) -> dict:
    """POST /applications for IdentityExperienceFramework (its application ID URI needs the appId: set afterwards)."""
    return {
        "displayName": name,
        "signInAudience": SIGN_IN_AUDIENCE,
        "web": {"redirectUris": [redirect_uri(tenant)]},
        "api": {"oauth2PermissionScopes": [scope_definition(scope_id, name)]},
        "requiredResourceAccess": [_access(GRAPH_APP_ID, [graph_ids[scope] for scope in GRAPH_SCOPES])],
    }


def proxy_create_body(name: str, ief_app_id: str, scope_id: str, graph_ids: dict[str, str]) -> dict:
    return {
        "displayName": name,
        "signInAudience": SIGN_IN_AUDIENCE,
        "isFallbackPublicClient": True,
        "publicClient": {"redirectUris": [PROXY_REDIRECT_URI]},
        "requiredResourceAccess": [_access(ief_app_id, [scope_id]),
                                   _access(GRAPH_APP_ID, [graph_ids[scope] for scope in GRAPH_SCOPES])],
    }


def user_impersonation(app: dict) -> dict | None:
    """The app's user_impersonation scope, if it has one."""
    for scope in ((app.get("api") or {}).get("oauth2PermissionScopes") or []):
        if isinstance(scope, dict) and str(scope.get("value", "")).lower() == SCOPE_VALUE:
            return scope
    return None


def _with_redirect(complex_value: dict | None, uri: str) -> dict | None:
    """The whole web/publicClient value with `uri` added, or None when it is there already (a complex value is sent
    whole: Graph may reset the sub-properties a PATCH leaves out)."""
    value = copy.deepcopy(complex_value or {})
    uris = list(value.get("redirectUris") or [])
    if uri in uris:
        return None
    value["redirectUris"] = uris + [uri]
    # beta's redirectUriSettings repeats redirectUris (with an index each): left out, so the two cannot disagree
    value.pop("redirectUriSettings", None)
    return value


def _with_access(required: list | None, resource_app_id: str, scope_ids: list[str]) -> tuple[list | None, list[str]]:
    """requiredResourceAccess with each of `scope_ids` (delegated) of `resource_app_id` added; None when all are there."""
    entries = copy.deepcopy(required or [])
    entry = next((item for item in entries if str(item.get("resourceAppId", "")).lower() == resource_app_id.lower()), None)
    if entry is None:
        entry = {"resourceAppId": resource_app_id, "resourceAccess": []}
        entries.append(entry)
    have = {str(access.get("id", "")).lower() for access in entry.get("resourceAccess") or []
            if access.get("type") == "Scope"}
    missing = [scope_id for scope_id in scope_ids if scope_id.lower() not in have]
    if not missing:
        return None, []
    added = [{"id": scope_id, "type": "Scope"} for scope_id in missing]
    entry["resourceAccess"] = list(entry.get("resourceAccess") or []) + added
    return entries, missing


def plan_ief(app: dict, name: str, tenant: str, new_scope_id: str, graph_ids: dict[str, str]) -> tuple[dict, list[str]]:
    """(PATCH body, changes) that make an existing IdentityExperienceFramework app what the tutorial describes; an
    empty body when it already is. `new_scope_id` is used only when the app has no user_impersonation scope."""
    body: dict[str, Any] = {}
    changes: list[str] = []
    if app.get("signInAudience") != SIGN_IN_AUDIENCE:
        body["signInAudience"] = SIGN_IN_AUDIENCE
        changes.append(f"signInAudience: {app.get('signInAudience')} -> {SIGN_IN_AUDIENCE}")
    web = _with_redirect(app.get("web"), redirect_uri(tenant))
    if web is not None:
        body["web"] = web
        changes.append(f"web redirect URI {redirect_uri(tenant)} added")
    if not app.get("identifierUris") and app.get("appId"):
        body["identifierUris"] = [f"api://{app['appId']}"]
        changes.append(f"application ID URI api://{app['appId']} set")
    scope = user_impersonation(app)
    if scope is None or not scope.get("isEnabled", False):
        api = copy.deepcopy(app.get("api") or {})
        scopes = [item for item in api.get("oauth2PermissionScopes") or []
                  if scope is None or not isinstance(item, dict) or item.get("id") != scope.get("id")]
        if scope is None:
            scopes.append(scope_definition(new_scope_id, name))
            changes.append(f"scope {SCOPE_VALUE} added")
        else:
            scopes.append(dict(scope, isEnabled=True))
            changes.append(f"scope {SCOPE_VALUE} enabled")
        api["oauth2PermissionScopes"] = scopes
        body["api"] = api
    required, missing = _with_access(app.get("requiredResourceAccess"), GRAPH_APP_ID,
                                     [graph_ids[scope_name] for scope_name in GRAPH_SCOPES])
    if required is not None:
        body["requiredResourceAccess"] = required
        names = [scope_name for scope_name in GRAPH_SCOPES if graph_ids[scope_name] in missing]
        changes.append(f"Microsoft Graph permission(s) {' '.join(names)} added")
    return body, changes


def plan_proxy(app: dict, ief_app_id: str, scope_id: str, graph_ids: dict[str, str]) -> tuple[dict, list[str]]:
    """(PATCH body, changes) for an existing ProxyIdentityExperienceFramework app."""
    body: dict[str, Any] = {}
    changes: list[str] = []
    if app.get("signInAudience") != SIGN_IN_AUDIENCE:
        body["signInAudience"] = SIGN_IN_AUDIENCE
        changes.append(f"signInAudience: {app.get('signInAudience')} -> {SIGN_IN_AUDIENCE}")
    if app.get("isFallbackPublicClient") is not True:
        body["isFallbackPublicClient"] = True
        changes.append("public client flows allowed (isFallbackPublicClient)")
    public = _with_redirect(app.get("publicClient"), PROXY_REDIRECT_URI)
    if public is not None:
        body["publicClient"] = public
        changes.append(f"public client redirect URI {PROXY_REDIRECT_URI} added")
    required, missing = _with_access(app.get("requiredResourceAccess"), ief_app_id, [scope_id])
    if missing:
        changes.append(f"{IEF_NAME} permission {SCOPE_VALUE} added")
    required_graph, missing_graph = _with_access(required if required is not None else app.get("requiredResourceAccess"),
                                                 GRAPH_APP_ID, [graph_ids[scope_name] for scope_name in GRAPH_SCOPES])
    if missing_graph:
        names = [scope_name for scope_name in GRAPH_SCOPES if graph_ids[scope_name] in missing_graph]
        changes.append(f"Microsoft Graph permission(s) {' '.join(names)} added")
    final = required_graph if required_graph is not None else required
    if final is not None:
        body["requiredResourceAccess"] = final
    return body, changes


def apply_patch(app: dict, body: dict) -> dict:
    """The app as it reads after `body` (what check mode and the diff show)."""
    after = copy.deepcopy(app)
    after.update(copy.deepcopy(body))
    return after


# ---- admin consent --------------------------------------------------------------------------------------------------
def plan_grant(grants: list[dict], client_id: str, resource_id: str, scopes: list[str]) -> tuple[str | None, Any]:
    """What admin consent of `scopes` (values) from service principal `client_id` to `resource_id` needs:
    (None, None) when an AllPrincipals grant holds them all, ("patch", (grant id, scope text)) to add the missing ones to
    it, ("create", body) when there is none."""
    for grant in grants:
        if (grant.get("consentType") == ALL_PRINCIPALS and str(grant.get("clientId", "")).lower() == client_id.lower()
                and str(grant.get("resourceId", "")).lower() == resource_id.lower()):
            held = str(grant.get("scope") or "").split()
            missing = [scope for scope in scopes if scope not in held]
            if not missing:
                return None, None
            return "patch", (grant["id"], " ".join(held + missing))
    return "create", {"clientId": client_id, "consentType": ALL_PRINCIPALS, "resourceId": resource_id,
                      "scope": " ".join(scopes)}


# ---- what the module reports ----------------------------------------------------------------------------------------
def app_facts(app: dict | None) -> dict | None:
    """The public shape of an app registration that the module returns and diffs (no credentials: the apps hold none
    the module sets, and passwordCredentials / keyCredentials are left out whatever the service sent)."""
    if app is None:
        return None
    scope = user_impersonation(app)
    return {
        "app_id": app.get("appId"),
        "object_id": app.get("id"),
        "display_name": app.get("displayName"),
        "sign_in_audience": app.get("signInAudience"),
        "identifier_uris": list(app.get("identifierUris") or []),
        "web_redirect_uris": list((app.get("web") or {}).get("redirectUris") or []),
        "public_client_redirect_uris": list((app.get("publicClient") or {}).get("redirectUris") or []),
        "is_fallback_public_client": app.get("isFallbackPublicClient"),
        "scopes": [item.get("value") for item in (app.get("api") or {}).get("oauth2PermissionScopes") or []
                   if isinstance(item, dict)],
        "user_impersonation_scope_id": scope.get("id") if scope else None,
        "required_resource_access": copy.deepcopy(app.get("requiredResourceAccess") or []),
    }
