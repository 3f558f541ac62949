# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Microsoft Graph calls for app registrations, service principals and delegated permission grants, over the
collection's one Graph client.

Internal use only: this module may change without notice.

Reads and PATCHes go through ``GraphClient.request`` (retried when throttled, unavailable or unanswered). Apps and
service principals are created through Graph's upsert by alternate key (``PATCH /applications(uniqueName='...')``,
``PATCH /servicePrincipals(appId='...')`` with ``Prefer: create-if-missing``): one request that creates the object when
none has that key and otherwise updates it, so two runs creating at once make one object, and a retried one never a
second. Grants through ``GraphClient.post_once``, which reads the tenant after a lost answer or a 409 instead of
creating a second one. A 403 names the application permission the call needs.
"""

from __future__ import annotations

from urllib.parse import quote

from ansible_collections.entra.b2c.plugins.module_utils._core.graph import GraphClient, GraphError

APPLICATIONS = "/applications"
SERVICE_PRINCIPALS = "/servicePrincipals"
GRANTS = "/oauth2PermissionGrants"
# Graph's upsert: without this preference a PATCH by alternate key only updates (404 when there is no such object)
CREATE_IF_MISSING = {"Prefer": "create-if-missing"}

APP_READ_HINT = ("the app registration needs the Microsoft Graph application permission Application.Read.All to read "
                 "app registrations (Application.ReadWrite.All, or Application.ReadWrite.OwnedBy, to create and update "
                 "them) with admin consent")
APP_WRITE_HINT = ("the app registration needs the Microsoft Graph application permission Application.ReadWrite.All (or "
                  "Application.ReadWrite.OwnedBy, which reaches only the apps it created) with admin consent, to create "
                  "and update app registrations and service principals")
GRANT_HINT = ("the app registration needs the Microsoft Graph application permission "
              "DelegatedPermissionGrant.ReadWrite.All with admin consent, to read and grant admin consent "
              "(oauth2PermissionGrants)")


def unique_name_hint(unique_name: str) -> str:
    return (f"another object holds uniqueName {unique_name}, which the module creates the app with, and it is not a "
            f"live application: most likely an app of that name deleted within the last 30 days, which Entra ID keeps "
            f"in Deleted applications with its uniqueName; restore it there (the next run finds it), or give the app "
            f"another display name")


def _key(path: str, name: str, value: str) -> str:
    # OData's alternate key form, collection(name='value'): a quote is doubled, the value percent-encoded.
    return f"{path}({name}='{quote(value.replace(chr(39), chr(39) * 2), safe='')}')"


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

    def application_by_unique_name(self, unique_name: str) -> dict | None:
        """The application of this uniqueName, or None (Graph: 404)."""
        try:
            return self.client.request_json("GET", _key(APPLICATIONS, "uniqueName", unique_name))
        except GraphError as exc:
            if exc.status == 404:
                return None
            raise exc.with_permission_hint(APP_READ_HINT) from None

    def upsert_application(self, unique_name: str, body: dict) -> dict | None:
        """Create the application of this uniqueName with `body` and return it (201), or, when one exists (another run
        made it a moment earlier), update it with `body` and return None (204): read it then."""
        try:
            made = self.client.request_json("PATCH", _key(APPLICATIONS, "uniqueName", unique_name), body,
                                            headers=CREATE_IF_MISSING)
        except GraphError as exc:
            if exc.status == 400 and "uniquename" in str(exc.graph_message or "").lower():
                exc.hint = unique_name_hint(unique_name)
            raise exc.with_permission_hint(APP_WRITE_HINT) from None
        return made or None

    def patch_application(self, object_id: str, body: dict) -> None:
        try:
            self.client.request_json("PATCH", f"{APPLICATIONS}/{quote(object_id, safe='')}", body)
        except GraphError as exc:
            raise exc.with_permission_hint(APP_WRITE_HINT) from None

    # -- service principals --
    def service_principal(self, app_id: str) -> dict | None:
        found = self._list(_filter(SERVICE_PRINCIPALS, "appId", app_id), APP_READ_HINT)
        return found[0] if found else None

    def upsert_service_principal(self, app_id: str, display_name: str) -> dict | None:
        """Create the service principal of application `app_id` and return it (201), or, when it has one (another run
        made it a moment earlier), return None (204): read it then. The display name is the app's, as the portal
        gives it."""
        try:
            made = self.client.request_json("PATCH", _key(SERVICE_PRINCIPALS, "appId", app_id),
                                            {"displayName": display_name}, headers=CREATE_IF_MISSING)
        except GraphError as exc:
            raise exc.with_permission_hint(APP_WRITE_HINT) from None
        return made or None

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
