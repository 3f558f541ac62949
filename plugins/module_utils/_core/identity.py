# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Who a run acts as, checked before its first write: the tenant its token is for, the application permissions the
token holds, and which tenant a domain name belongs to.

Internal use only: this module may change without notice.

The claims are read from the access token without verifying its signature: Graph verifies it; the run only reads what
the token says about itself to refuse early what Graph would refuse late. An app-only token lists the application
permissions granted to the app in its `roles` claim; a delegated token carries `scp` instead, and then the permission
check cannot be made here (the signed-in user's directory roles count too). A domain resolves to its tenant id through
the tenant's OpenID discovery document, which needs no permission: its `issuer` is `{authority}/{tenant id}/v2.0`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_ISSUER_TENANT = re.compile(r"/(" + GUID.pattern + r")/v2\.0/?$")


def token_claims(token: str | None) -> dict:
    """The claims of a JWT access token, unverified; {} for anything that is not a JWT (an opaque token)."""
    parts = (token or "").split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def is_guid(value: str | None) -> bool:
    return bool(value) and GUID.fullmatch(str(value).strip()) is not None


@dataclass(frozen=True)
class Permission:
    """An application permission a write needs, and the broader ones that also grant it."""

    name: str
    also: tuple = ()

    def held_by(self, roles: Iterable[str]) -> bool:
        held = {str(role).lower() for role in roles}
        return any(name.lower() in held for name in (self.name, *self.also))


def permission_check(claims: Mapping, needed: Sequence[Permission], what: str) -> tuple:
    """(problem, skipped): `problem` names each permission the token lacks for `what` (None when it holds them all);
    `skipped` says why nothing could be checked (a delegated token, or a token without claims), else None."""
    roles = claims.get("roles")
    if not isinstance(roles, list):
        kind = "a delegated token (scp)" if claims.get("scp") else "a token without a roles claim"
        return None, f"the permissions for {what} were not checked before the first write: the run has {kind}"
    missing = [permission for permission in needed if not permission.held_by(roles)]
    if not missing:
        return None, None
    names = " and ".join(permission.name + (f" (or {', '.join(permission.also)})" if permission.also else "")
                         for permission in missing)
    app = claims.get("app_displayname") or claims.get("appid") or "the app registration"
    return (f"{app} lacks the Microsoft Graph application permission {names} for {what}, so nothing was written; "
            f"grant it with admin consent in the B2C tenant, then run again (its token holds: "
            f"{', '.join(sorted(str(role) for role in roles)) or 'none'})"), None


def tenant_of_issuer(issuer: str | None) -> str | None:
    """The tenant id in an OpenID discovery document's issuer (`.../{tenant id}/v2.0`), else None."""
    match = _ISSUER_TENANT.search(str(issuer or ""))
    return match.group(1).lower() if match else None


def discovery_path(tenant: str) -> str:
    return f"/{tenant}/v2.0/.well-known/openid-configuration"


def same_tenant_problem(named: str, named_id: str | None, credential_tenant: str, where: str) -> str | None:
    """The refusal when the tenant a run's files name (`named`, a domain, resolved to `named_id`; None when the
    authority knows no such tenant) is not the credential's tenant id; None when they are one tenant."""
    if named_id is None:
        return (f"{where} names the tenant {named}, which the authority does not know; nothing was written: give the "
                f"domain name of the credential's tenant, such as contoso.onmicrosoft.com")
    if named_id.lower() != credential_tenant.lower():
        return (f"{where} names the tenant {named} ({named_id}), but the credential signs in to tenant "
                f"{credential_tenant}; nothing was written: run against the tenant the files name, or change them")
    return None
