# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which endpoint a request is for. Path segments are split on '/' first and percent-decoded exactly once after, so an
encoded '/' or '..' inside a key set id stays inside that one segment (and is then refused as an invalid name)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from . import apps, errors, policies
from .errors import GraphError
from .store import is_valid_keyset_id, is_valid_kid

ROUTE_NAMES = (
    "discovery", "jwks", "token",
    "keysets.list", "keysets.create", "keysets.get", "keysets.replace", "keysets.delete",
    "keys.generate", "keys.active", "keys.uploadSecret", "keys.uploadCertificate", "keys.uploadPkcs12",
    "keys_v2.get", "keys_v2.patch",
    *policies.ROUTE_NAMES,
    *apps.ROUTE_NAMES,
    "unknown",
)
# Graph routes that only read (need Read.All or ReadWrite.All); every other Graph route writes
READ_ROUTES = frozenset({"keysets.list", "keysets.get", "keys.active", "keys_v2.get"})

_KEYSET_ACTIONS = {
    "generatekey": ("POST", "keys.generate"),
    "getactivekey": ("GET", "keys.active"),
    "uploadsecret": ("POST", "keys.uploadSecret"),
    "uploadcertificate": ("POST", "keys.uploadCertificate"),
    "uploadpkcs12": ("POST", "keys.uploadPkcs12"),
}
# OData's key-in-parentheses form of an entity address, keySets('B2C_1A_x') (quotes inside a key are doubled)
_PAREN_KEY = re.compile(r"^(keySets)\('((?:[^']|'')*)'\)$", re.IGNORECASE)
# Actions and functions may be namespace-qualified (microsoft.graph.generateKey); a function call may end with ()
_NAMESPACE = "microsoft.graph."


@dataclass
class Route:
    name: str
    # "graph" (/beta), "identity" (/{tenant}/...), "control" (/_emulator/...) or "other"
    family: str
    tenant: str | None = None
    keyset: str | None = None
    kid: str | None = None
    policy: str | None = None
    # for "unknown" Graph routes and invalid ids: the error to answer once the caller is authenticated
    error: GraphError | None = None
    control: tuple[str, ...] = ()
    # directory routes (apps.py): the addressed object's id; the caller's app id and roles, set once authenticated
    entity: str | None = None
    caller: str | None = None
    roles: tuple[str, ...] = ()


def split_path(path: str) -> list[str]:
    segments = [unquote(segment) for segment in path.split("/")[1:]]
    if segments and segments[-1] == "":
        segments.pop()
    return segments


def resolve(method: str, path: str) -> Route:
    segments = split_path(path)
    if segments and segments[0] == "_emulator":
        return Route("control", "control", control=tuple(segments[1:]))
    if segments and segments[0].lower() == "beta":
        return _resolve_graph(method, segments[1:])
    return _resolve_identity(method, segments)


def _not_allowed(method: str) -> Route:
    return Route("unknown", "graph", error=GraphError(405, "BadRequest", f"The HTTP method '{method}' is not allowed on this resource."))


def _split_paren_key(segments: list[str]) -> list[str]:
    """keySets('id') -> keySets, id: the SDKs and the service's own Location header use this form too."""
    if len(segments) >= 2:
        match = _PAREN_KEY.match(segments[1])
        if match:
            return [segments[0], match.group(1), match.group(2).replace("''", "'"), *segments[2:]]
    return segments


def _action_name(segment: str) -> str:
    """generateKey, microsoft.graph.generateKey, getActiveKey() -> the bare lower-case name."""
    name = segment.lower()
    if name.startswith(_NAMESPACE):
        name = name[len(_NAMESPACE):]
    if name == "getactivekey()":  # a function: the call form with empty parentheses
        name = name[:-2]
    return name


def _resolve_graph(method: str, segments: list[str]) -> Route:
    segments = _split_paren_key(segments)
    expected = ["trustframework", "keysets"]
    lowered = [segment.lower() for segment in segments]
    if lowered[:2] == ["trustframework", "policies"]:
        name, policy_id, error = policies.route(method, segments[2:])
        return Route(name, "graph", policy=policy_id, error=error)
    if segments and apps.is_collection(segments[0]):
        name, entity, error = apps.route(method, segments)
        return Route(name, "graph", entity=entity, error=error)
    if lowered[:2] != expected:
        index = next(i for i, want in enumerate(expected) if i >= len(lowered) or lowered[i] != want)
        bad = segments[index] if index < len(segments) else ""
        return Route("unknown", "graph", error=errors.bad_request(f"Resource not found for the segment '{bad}'."))
    rest = segments[2:]
    if not rest:
        names = {"GET": "keysets.list", "POST": "keysets.create"}
        return Route(names[method], "graph") if method in names else _not_allowed(method)
    keyset_id = rest[0]
    if not is_valid_keyset_id(keyset_id) or not keyset_id.strip("."):
        return Route("unknown", "graph", error=errors.bad_request(
            f"Invalid key set id '{keyset_id}': use only letters, digits, '_', '-' and '.'."))
    if len(rest) == 1:
        names = {"GET": "keysets.get", "PUT": "keysets.replace", "DELETE": "keysets.delete"}
        return Route(names[method], "graph", keyset=keyset_id) if method in names else _not_allowed(method)
    action = _action_name(rest[1])
    if len(rest) == 2 and action in _KEYSET_ACTIONS:
        wanted, name = _KEYSET_ACTIONS[action]
        return Route(name, "graph", keyset=keyset_id) if method == wanted else _not_allowed(method)
    if len(rest) == 3 and action == "keys_v2":
        kid = rest[2]
        if not is_valid_kid(kid):
            return Route("unknown", "graph", keyset=keyset_id, error=errors.bad_request(f"Invalid key id '{kid}'."))
        names = {"GET": "keys_v2.get", "PATCH": "keys_v2.patch"}
        return Route(names[method], "graph", keyset=keyset_id, kid=kid) if method in names else _not_allowed(method)
    return Route("unknown", "graph", keyset=keyset_id, error=errors.bad_request(f"Resource not found for the segment '{rest[1]}'."))


def _resolve_identity(method: str, segments: list[str]) -> Route:
    if len(segments) >= 2:
        tenant, tail = segments[0], [segment.lower() for segment in segments[1:]]
        shapes = {
            ("v2.0", ".well-known", "openid-configuration"): ("GET", "discovery"),
            ("discovery", "v2.0", "keys"): ("GET", "jwks"),
            ("discovery", "keys"): ("GET", "jwks"),
            ("oauth2", "v2.0", "token"): ("POST", "token"),
        }
        wanted = shapes.get(tuple(tail))
        if wanted and wanted[0] == method:
            return Route(wanted[1], "identity", tenant=tenant)
    return Route("unknown", "other", error=GraphError(404, "UnknownError", f"No endpoint matches {method} {'/' + '/'.join(segments)}."))
