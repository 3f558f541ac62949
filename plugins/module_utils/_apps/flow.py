# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The flow of b2c_ief_apps: the two IEF app registrations, their service principals and admin consent.

Internal use only: this module may change without notice.

Data flows one way: options checked (no request yet) -> token -> the tenant read (the Microsoft Graph service
principal, each app by id, else by display name, else by the uniqueName the module creates it with) -> the pure plan
of _apps/ief_apps.py -> creates and PATCHes, unless check mode -> service principals -> admin consent grants -> the
report. Decisions live in _apps/ief_apps.py; Graph calls in _apps/api.py.

Two runs may start together (AWX runs two jobs of one template at once): an app or service principal is created through
Graph's upsert by alternate key, so the second run's create updates what the first made (204) and that run reads it and
carries on as if it had found it; both send the same values (the scope id included, see _scope_id), so their PATCHes
agree, and a second grant is refused (409) and read instead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.entra.b2c.plugins.module_utils._apps.api import AppGraph
from ansible_collections.entra.b2c.plugins.module_utils._core.context import RunContext, in_parallel
from ansible_collections.entra.b2c.plugins.module_utils._core.errors import TaskFailed, UserError
from ansible_collections.entra.b2c.plugins.module_utils._core.graph import GraphError
from ansible_collections.entra.b2c.plugins.module_utils._core.identity import Permission
from ansible_collections.entra.b2c.plugins.module_utils._apps.ief_apps import (
    GRAPH_APP_ID,
    GRAPH_SCOPES,
    IEF_KEY,
    IEF_NAME,
    PROXY_KEY,
    PROXY_NAME,
    SCOPE_VALUE,
    AppsError,
    app_facts,
    apply_patch,
    check_options,
    graph_scope_ids,
    ief_create_body,
    pick_app,
    plan_grant,
    plan_ief,
    plan_proxy,
    proxy_create_body,
    tenant_name,
    unique_name,
    user_impersonation,
)

# What the writes of a run need (Directory.ReadWrite.All grants both, as Graph's permission reference lists).
WRITE_PERMISSIONS = (
    Permission("Application.ReadWrite.All", also=("Application.ReadWrite.OwnedBy", "Directory.ReadWrite.All")),
    Permission("DelegatedPermissionGrant.ReadWrite.All", also=("Directory.ReadWrite.All",)),
)

IEF_APPS_SPEC = dict(
    identity_experience_framework_app_id=dict(type="str"),
    proxy_identity_experience_framework_app_id=dict(type="str"),
    identity_experience_framework_name=dict(type="str", default=IEF_NAME),
    proxy_identity_experience_framework_name=dict(type="str", default=PROXY_NAME),
    tenant_domain=dict(type="str"),
)
GRAPH_LABEL = "Microsoft Graph"


@dataclass
class AppState:
    """One app through the run: as found, as it is (or would be) after, and what was done to it."""

    key: str
    name: str
    before: dict | None
    after: dict | None = None
    service_principal: dict | None = None
    created: bool = False
    changes: list[str] = field(default_factory=list)

    def report(self) -> dict:
        after = self.after or {}
        return {"app_id": after.get("appId"), "object_id": after.get("id"), "display_name": self.name,
                "service_principal_id": (self.service_principal or {}).get("id"), "created": self.created,
                "changes": list(self.changes)}


class Run:
    """The state of one module run, reported as far as it got when a request fails."""

    def __init__(self, context: RunContext):
        self.context = context
        self.check = context.check_mode
        self.graph = context.api(AppGraph)
        self.apps: dict[str, AppState] = {}
        self.consent_before: list[dict] = []
        self.consent_after: list[dict] = []
        self.consent_changes: list[str] = []
        self.tenant_domain: str | None = None  # the domain the redirect URI names, checked before the first write
        self.checked = False

    def before_write(self) -> None:
        """Before the run's first write (in check mode, where it would write): the tenant the redirect URI names is
        the credential's, and the token may write apps and grants. Once per run."""
        if self.checked:
            return
        self.checked = True
        context = self.context
        given = str(context.connect().tenant or "").strip().lower()
        if self.tenant_domain and given != self.tenant_domain.lower():  # a GUID, another domain, or none (a token)
            problem = context.tenant_problem(self.tenant_domain, "tenant_domain")
            if problem:
                raise AppsError(problem)
        try:
            context.require_permissions(WRITE_PERMISSIONS, "the IEF app registrations and their admin consent")
        except UserError as exc:  # reported with what the run read, as its other failures are
            raise AppsError(str(exc)) from None

    def report(self) -> dict:
        ief, proxy = self.apps.get(IEF_KEY), self.apps.get(PROXY_KEY)
        changed = any(state.changes for state in self.apps.values()) or bool(self.consent_changes)
        result: dict[str, Any] = {
            "changed": changed,
            f"{IEF_KEY}_app_id": (ief.after or {}).get("appId") if ief else None,
            f"{PROXY_KEY}_app_id": (proxy.after or {}).get("appId") if proxy else None,
            "admin_consent_changes": list(self.consent_changes),
        }
        for key, state in self.apps.items():
            result[key] = state.report()
        if self.context.diff:
            result["diff"] = {
                "before": {**{key: app_facts(state.before) for key, state in self.apps.items()},
                           "admin_consent": self.consent_before},
                "after": {**{key: app_facts(state.after) for key, state in self.apps.items()},
                          "admin_consent": self.consent_after},
            }
        return result


def _find(graph: AppGraph, name: str, given: str | None, option: str) -> dict | None:
    if given:
        return pick_app(graph.applications_with_app_id(given), name, given, option)
    found = pick_app(graph.applications_named(name), name, None, option)
    # One this module created and someone renamed: found by its uniqueName and used as it is (an upsert would rename
    # it back and replace its redirect URIs and permissions with the create's).
    return found if found is not None else graph.application_by_unique_name(unique_name(name))


def _scope_id(tenant: str, app_unique_name: str) -> str:
    """The id a new user_impersonation scope gets: fixed by tenant and app, so that two runs adding it at once send the
    same scope (Graph refuses to replace an enabled scope by one of another id) and name the same in the proxy app."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://{tenant}.b2clogin.com/{app_unique_name}/{SCOPE_VALUE}"))


def ensure_ief_apps(context: RunContext) -> dict:
    """b2c_ief_apps: both apps, their service principals and admin consent as the tutorial describes them."""
    params = context.params
    ief_name = params["identity_experience_framework_name"]
    proxy_name = params["proxy_identity_experience_framework_name"]
    ief_given = params[f"{IEF_KEY}_app_id"]
    proxy_given = params[f"{PROXY_KEY}_app_id"]
    check_options(ief_name, proxy_name, ief_given, proxy_given)
    tenant = tenant_name(params["tenant_domain"], params["tenant_id"])

    run = Run(context)
    run.tenant_domain = f"{tenant}.onmicrosoft.com"
    try:
        _ensure(run, tenant, ief_name, proxy_name, ief_given, proxy_given)
    except (GraphError, AppsError) as exc:  # reported as far as the run got
        raise TaskFailed(str(exc), run.report(), cause=exc) from exc
    return run.report()


def _ensure(run: Run, tenant: str, ief_name: str, proxy_name: str, ief_given: str | None, proxy_given: str | None) -> None:
    graph = run.graph
    # Three reads that do not depend on each other, side by side: a run waits for Graph's latency once, not three times.
    graph_sp, ief_before, proxy_before = in_parallel(lambda read: read(), [
        lambda: graph.service_principal(GRAPH_APP_ID),
        lambda: _find(graph, ief_name, ief_given, f"{IEF_KEY}_app_id"),
        lambda: _find(graph, proxy_name, proxy_given, f"{PROXY_KEY}_app_id")], 3)
    if graph_sp is None:
        raise AppsError(f"the tenant has no service principal of {GRAPH_LABEL} (appId {GRAPH_APP_ID}), which admin consent "
                        f"to openid and offline_access is granted on; every Entra tenant has one: check tenant_id")
    graph_ids = graph_scope_ids(graph_sp)
    ief = run.apps[IEF_KEY] = AppState(IEF_KEY, ief_name, ief_before)
    proxy = run.apps[PROXY_KEY] = AppState(PROXY_KEY, proxy_name, proxy_before)
    for state in (ief, proxy):  # found by id under another name: messages and results use the app's own name
        state.name = (state.before or {}).get("displayName") or state.name
    if ief.before is not None and proxy.before is not None and ief.before.get("id") == proxy.before.get("id"):
        raise AppsError(f"{IEF_KEY}_app_id and {PROXY_KEY}_app_id name the same application; the two apps are two "
                        f"registrations")

    # IdentityExperienceFramework: the app, then its application ID URI (which needs the appId the create gives)
    new_scope_id = _scope_id(tenant, unique_name(ief_name))
    ief.after = ief.before
    if ief.before is None:
        _upsert(run, ief, unique_name(ief_name), ief_create_body(ief_name, tenant, new_scope_id, graph_ids))
    patch, changes = plan_ief(ief.after, ief.name, tenant, new_scope_id, graph_ids)
    if ief.created and ief.after.get("appId") is None:
        changes = ["application ID URI api://<appId> set"]
    ief.changes.extend(changes)
    ief.after = _patch(run, ief.after, patch)
    scope_id = (user_impersonation(ief.after) or {}).get("id")

    # ProxyIdentityExperienceFramework, which needs the scope id of the first
    ief_app_id = ief.after.get("appId") or f"<appId of {ief_name}>"
    proxy.after = proxy.before
    if proxy.before is None:
        _upsert(run, proxy, unique_name(proxy_name), proxy_create_body(proxy_name, ief_app_id, scope_id, graph_ids))
    if not proxy.created:  # found, or made a moment earlier by another run: what differs from the tutorial's
        patch, changes = plan_proxy(proxy.after, ief_app_id, scope_id, graph_ids)
        proxy.changes.extend(changes)
        proxy.after = _patch(run, proxy.after, patch)

    # The two apps' service principals read side by side (what differs is then written one at a time).
    read = [state for state in (ief, proxy) if (state.after or {}).get("appId") and not state.created]
    found = dict(zip((state.key for state in read),
                     in_parallel(lambda state: run.graph.service_principal(state.after["appId"]), read, 2)))
    for state in (ief, proxy):
        _ensure_service_principal(run, state, found.get(state.key))
    _ensure_consent(run, graph_sp, ief, proxy)


def _upsert(run: Run, state: AppState, key: str, body: dict) -> None:
    """Create the app of uniqueName `key` with `body`, through Graph's upsert. When it exists already (204: another run
    made it since this one looked, or this run's own attempt whose answer was lost), it is read and carried on with as
    an app found: its `before`, what differs from the tutorial's then planned."""
    run.before_write()
    if run.check:
        state.created = True
        state.changes.append("application created")
        state.after = dict(body, appId=None, id=None)
        return
    with run.context.step(f"{state.name} created (or met another run's)"):
        made = run.graph.upsert_application(key, body)
    if made is not None:
        state.created = True
        state.changes.append("application created")
        state.after = made
        return
    found = run.graph.application_by_unique_name(key)
    if found is None:
        raise AppsError(f"Graph answered that the application of uniqueName {key} ('{state.name}') exists, yet "
                        f"reading it found none (directory replication); run the task again: it finds the app and "
                        f"creates nothing")
    state.before = state.after = found


def _patch(run: Run, app: dict, body: dict) -> dict:
    if body:
        run.before_write()
    if body and not run.check and app.get("id"):
        with run.context.step(f"{app.get('displayName') or app['id']} updated"):
            run.graph.patch_application(app["id"], body)
    return apply_patch(app, body) if body else app


def _ensure_service_principal(run: Run, state: AppState, found: dict | None) -> None:
    """`found`: the app's service principal as read (None: none, or the app was just created)."""
    app_id = (state.after or {}).get("appId")
    if app_id is None:  # check mode, new app
        state.changes.append("service principal created")
        return
    if found is None:
        run.before_write()
    if found is None and run.check:
        state.changes.append("service principal created")
        found = {"id": None, "appId": app_id}
    elif found is None:
        with run.context.step(f"service principal of {state.name} created (or met another run's)"):
            found = run.graph.upsert_service_principal(app_id, state.name)
        if found is not None:
            state.changes.append("service principal created")
        else:  # another run made it a moment earlier (204): read it
            found = run.graph.service_principal(app_id)
        if found is None:
            raise AppsError(f"Graph answered that the service principal of {state.name} (appId {app_id}) exists, yet "
                            f"reading it found none (directory replication); run the task again")
    state.service_principal = found


def _ensure_consent(run: Run, graph_sp: dict, ief: AppState, proxy: AppState) -> None:
    """Admin consent: AllPrincipals grants from each app's service principal to the APIs it calls."""
    ief_sp, proxy_sp = ief.service_principal or {}, proxy.service_principal or {}
    wanted = [
        (ief, ief_sp, GRAPH_LABEL, graph_sp, list(GRAPH_SCOPES)),
        (proxy, proxy_sp, GRAPH_LABEL, graph_sp, list(GRAPH_SCOPES)),
        (proxy, proxy_sp, ief.name, ief_sp, [SCOPE_VALUE]),
    ]
    # Each client's grants, read side by side before any grant is written (an app just created has none).
    clients = {sp.get("id"): state for state, sp in ((ief, ief_sp), (proxy, proxy_sp)) if sp.get("id") and not state.created}
    grants_by_client: dict[str, list[dict]] = dict(zip(clients, in_parallel(run.graph.grants_of, list(clients), 2)))
    for client, client_sp, resource_label, resource_sp, scopes in wanted:
        label = f"{client.name} -> {resource_label}"
        client_id, resource_id = client_sp.get("id"), resource_sp.get("id")
        if client_id is None or resource_id is None:  # check mode: a service principal that would be new
            run.consent_changes.append(f"{label}: {' '.join(scopes)} granted")
            run.consent_after.append({"grant": label, "scope": " ".join(scopes)})
            continue
        if client_id not in grants_by_client:
            grants_by_client[client_id] = [] if client.created else run.graph.grants_of(client_id)
        grants = grants_by_client[client_id]
        held = next((grant for grant in grants if grant.get("consentType") == "AllPrincipals"
                     and str(grant.get("resourceId", "")).lower() == resource_id.lower()), None)
        if held is not None:
            run.consent_before.append({"grant": label, "scope": held.get("scope") or ""})
        action, detail = plan_grant(grants, client_id, resource_id, scopes)
        if action is None:
            run.consent_after.append({"grant": label, "scope": held.get("scope") or ""})
            continue
        run.before_write()
        if action == "create":
            run.consent_changes.append(f"{label}: {detail['scope']} granted")
            run.consent_after.append({"grant": label, "scope": detail["scope"]})
            if not run.check:
                with run.context.step(f"admin consent {label}: {detail['scope']} granted"):
                    made = run.graph.create_grant(detail)
                action, detail = plan_grant([made], client_id, resource_id, scopes)  # found one holding less: add
        if action == "patch":
            grant_id, scope = detail
            run.consent_after = [entry for entry in run.consent_after if entry["grant"] != label]
            run.consent_changes.append(f"{label}: {scope} granted")
            run.consent_after.append({"grant": label, "scope": scope})
            if not run.check:
                with run.context.step(f"admin consent {label}: {scope} granted"):
                    run.graph.patch_grant(grant_id, scope)
