# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Microsoft Graph calls for app registrations, service principals and delegated permission grants, over the
collection's one Graph client.

Internal use only: this module may change without notice.

Reads and PATCHes go through ``GraphClient.request`` (retried when throttled, unavailable or unanswered); creates
through ``GraphClient.post_once``, which reads the tenant after a lost answer instead of creating a second object.
A 403 names the application permission the call needs.
"""

from __future__ import annotations

from typing import Callable
from urllib.parse import quote

from ansible_collections.entra.b2c.plugins.module_utils._core.graph import GraphClient, GraphError

APPLICATIONS = "/applications"
SERVICE_PRINCIPALS = "/servicePrincipals"
GRANTS = "/oauth2PermissionGrants"

APP_READ_HINT = ("the app registration needs the Microsoft Graph application permission Application.Read.All to read "
                 "app registrations (Application.ReadWrite.All, or Application.ReadWrite.OwnedBy, to create and update "
                 "them) with admin consent")
APP_WRITE_HINT = ("the app registration needs the Microsoft Graph application permission Application.ReadWrite.All (or "
                  "Application.ReadWrite.OwnedBy, which reaches only the apps it created) with admin consent, to create "
                  "and update app registrations and service principals")
GRANT_HINT = ("the app registration needs the Microsoft Graph application permission "
              "DelegatedPermissionGrant.ReadWrite.All with admin consent, to read and grant admin consent "
              "(oauth2PermissionGrants)")


def _filter(path: str, name: str, value: str) -> str:
    # OData string literal: a quote is doubled; the whole clause is percent-encoded into the query.
    clause = f"{name} eq '{value.replace(chr(39), chr(39) * 2)}'"
    return f"{path}?$filter={quote(clause, safe='')}"


class AppGraph:
    """The directory requests of one tenant that the IEF app module makes."""

    def __init__(self, client: GraphClient):
        self.client = client

    def _list(self, path: str, hint: str) -> list[dict]:
        try:
            return self.client.list_items(path)
        except GraphError as exc:
            raise exc.with_permission_hint(hint) from None

    # -- applications --
    def applications_named(self, display_name: str) -> list[dict]:
        return self._list(_filter(APPLICATIONS, "displayName", display_name), APP_READ_HINT)

    def applications_with_app_id(self, app_id: str) -> list[dict]:
        return self._list(_filter(APPLICATIONS, "appId", app_id), APP_READ_HINT)

    def create_application(self, body: dict, landed: Callable[[], dict | None]) -> dict:
        try:
            return self.client.post_once(APPLICATIONS, body, landed, read_conflict=True)
        except GraphError as exc:
            raise exc.with_permission_hint(APP_WRITE_HINT) from None

    def patch_application(self, object_id: str, body: dict) -> None:
        try:
            self.client.request_json("PATCH", f"{APPLICATIONS}/{quote(object_id, safe='')}", body)
        except GraphError as exc:
            raise exc.with_permission_hint(APP_WRITE_HINT) from None

    # -- service principals --
    def service_principal(self, app_id: str) -> dict | None:
        found = self._list(_filter(SERVICE_PRINCIPALS, "appId", app_id), APP_READ_HINT)
        return found[0] if found else None

    def create_service_principal(self, app_id: str) -> dict:
        try:
            return self.client.post_once(SERVICE_PRINCIPALS, {"appId": app_id}, lambda: self.service_principal(app_id),
                                         read_conflict=True)
        except GraphError as exc:
            raise exc.with_permission_hint(APP_WRITE_HINT) from None

    # -- delegated permission grants --
    def grants_of(self, client_sp_id: str) -> list[dict]:
        return self._list(_filter(GRANTS, "clientId", client_sp_id), GRANT_HINT)

    def create_grant(self, body: dict) -> dict:
        def landed() -> dict | None:
            return next((grant for grant in self.grants_of(body["clientId"])
                         if grant.get("consentType") == body["consentType"]
                         and str(grant.get("resourceId", "")).lower() == body["resourceId"].lower()), None)

        try:
            return self.client.post_once(GRANTS, body, landed, read_conflict=True)
        except GraphError as exc:
            raise exc.with_permission_hint(GRANT_HINT) from None

    def patch_grant(self, grant_id: str, scope: str) -> None:
        try:
            self.client.request_json("PATCH", f"{GRANTS}/{quote(grant_id, safe='')}", {"scope": scope})
        except GraphError as exc:
            raise exc.with_permission_hint(GRANT_HINT) from None
