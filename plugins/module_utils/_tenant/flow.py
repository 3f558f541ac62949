# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The flow of b2c_ief_tenant: a whole tenant's keys, IEF apps and policies, planned with reads only, then applied.

Internal use only: this module may change without notice.

Data flows one way, with one connection and one token:
options checked (no request yet) -> the plan: the key, app and policy flows run in check mode, so every refusal each
family knows (a key set B2C would refuse, another tenant's name, a missing permission, the 200-policy limit, a broken
reference) is found before anything is written -> in check mode, the plan is the result -> the apply: the same flows
for real, each only where its plan writes, the policies with the ids of the apps as they now are -> the report.

The apply reads nothing its plan read (RememberedReads replays the plan's answers until a family's first write), but
for key sets: a key is added only after its set is read again under the set's lock, which is what keeps two runs at
once from adding two keys. A refusal of B2C half-way through the policies is rolled back by the policy flow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.entra.b2c.plugins.module_utils._apps.api import AppGraph
from ansible_collections.entra.b2c.plugins.module_utils._apps.flow import ensure_ief_apps
from ansible_collections.entra.b2c.plugins.module_utils._apps.ief_apps import IEF_NAME, PROXY_NAME
from ansible_collections.entra.b2c.plugins.module_utils._core.context import RunContext, in_parallel
from ansible_collections.entra.b2c.plugins.module_utils._core.errors import TaskFailed, UserError
from ansible_collections.entra.b2c.plugins.module_utils._core.messages import itemized
from ansible_collections.entra.b2c.plugins.module_utils._core.options import GRAPH_ARGUMENT_SPEC
from ansible_collections.entra.b2c.plugins.module_utils._keysets.api import KeysetGraph
from ansible_collections.entra.b2c.plugins.module_utils._keysets.flow import (
    ensure_certificate,
    ensure_generated_key,
    ensure_secret,
    keep_keyset,
)
from ansible_collections.entra.b2c.plugins.module_utils._policies.api import PolicyGraph
from ansible_collections.entra.b2c.plugins.module_utils._policies.flow import BACKUP_SPEC, ROLLBACK_SPEC, deploy_set, read_file
from ansible_collections.entra.b2c.plugins.module_utils._policies.settings import SETTINGS_SPEC, TENANT, policy_settings
# b2c_tenant_export's flow, in its own file: the family's modules take their flows from here.
from ansible_collections.entra.b2c.plugins.module_utils._tenant.export import EXPORT_SPEC, export_tenant
from ansible_collections.entra.b2c.plugins.module_utils._tenant.plan import (
    KEYSET_ENTRY_SPEC,
    KEYSET_WRITE,
    STAND_INS,
    KeyEntry,
    app_settings,
    key_entries,
    planned_writes,
    worded,
)

__all__ = ["EXPORT_SPEC", "TENANT_SPEC", "ensure_tenant", "export_tenant"]

TENANT_SPEC = dict(
    policies=dict(type="list", elements="dict", required=True, options=dict(
        path=dict(type="path"),
        content=dict(type="str"),
        source=dict(type="str"),
    )),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    keysets=dict(type="list", elements="dict", default=[], options=KEYSET_ENTRY_SPEC, no_log=False),
    valid_for=dict(type="str", default="365d"),
    renew_before=dict(type="str", default="30d"),
    apps=dict(type="bool", default=True),
    reupload_dependents=dict(type="bool", default=True),
    prune=dict(type="bool", default=False),
    prune_pattern=dict(type="str"),
    id_prefix=dict(type="str"),
    role_variables=dict(type="bool", default=False),
    **ROLLBACK_SPEC,
    **BACKUP_SPEC,
    **SETTINGS_SPEC,
)
FLOWS = {"generated": ensure_generated_key, "secret": ensure_secret, "certificate": ensure_certificate,
         "kept": keep_keyset}
PARALLEL_READS = 8  # the key set batch module's default
# What the plan reads and the apply replays (the key sets are read again, under their lock: see the docstring).
POLICY_READS = ("list_ids", "get_xml")
KEYSET_READS = ("list_keysets",)  # the policies' check of the key sets they name; a key set's own read is never replayed
APP_READS = ("applications_named", "applications_with_app_id", "application_by_unique_name", "service_principal",
             "grants_of")


def connection_of(params: Mapping[str, Any]) -> dict:
    return {name: params.get(name) for name in GRAPH_ARGUMENT_SPEC}


class TenantRun:
    """One run over a tenant: the options of each family's flow, the plan, the apply and what they reported."""

    def __init__(self, run: RunContext):
        self.run = run
        params = self.params = run.params
        self.connection = connection_of(params)
        self.present = params["state"] == "present"
        # Checked before any request: every key entry, the settings and appsettings (the policy flow checks the files).
        self.keys = key_entries(params["keysets"], params["valid_for"], params["renew_before"]) if self.present else []
        self.settings = policy_settings(params["settings"], params["appsettings"], params["environment"],
                                        lambda path: read_file(path, "appsettings"))
        self.apps_on = self.present and params["apps"]
        self.keysets: list[dict] = []
        self.apps: dict = {}
        self.policies: dict = {}
        self.stand_ins = False
        # One instance of each API for the whole run: the apply replays what the plan read.
        run.remember_reads(PolicyGraph, POLICY_READS)
        run.remember_reads(AppGraph, APP_READS)
        run.remember_reads(KeysetGraph, KEYSET_READS)

    # -- the families' options ----------------------------------------------------------------------------------------
    def apps_params(self) -> dict:
        tenant = self.settings.get(TENANT.lower(), (None, None))[1]
        return dict(self.connection, identity_experience_framework_app_id=None,
                    proxy_identity_experience_framework_app_id=None, identity_experience_framework_name=IEF_NAME,
                    proxy_identity_experience_framework_name=PROXY_NAME, tenant_domain=tenant or None)

    def policy_params(self, settings: Mapping[str, Any] | None) -> dict:
        params = self.params
        return dict(self.connection, path=None, pattern="*.xml", policies=params["policies"], state=params["state"],
                    reupload_dependents=params["reupload_dependents"], prune=params["prune"],
                    prune_pattern=params["prune_pattern"], id_prefix=params["id_prefix"], rollback=params["rollback"], backup=params["backup"],
                    backup_dir=params["backup_dir"], parallel=PARALLEL_READS, parallel_uploads=1,
                    settings=settings or None, appsettings=params["appsettings"], environment=params["environment"],
                    ensured_keysets=[entry.keyset for entry in self.keys])

    def policy_settings(self, apps: Mapping[str, Any], planning: bool) -> dict | None:
        """The settings option of the policy flow: the given one with the apps' ids; in a plan where the apps do not
        exist yet, stand-ins that say so (every check of the policies still runs)."""
        if not self.apps_on:
            return self.params["settings"]
        ief, proxy = apps.get("identity_experience_framework_app_id"), apps.get("proxy_identity_experience_framework_app_id")
        if planning and not (ief and proxy):
            self.stand_ins = True
            ief, proxy = STAND_INS.values()
        filled, _notices = app_settings(self.params["settings"], ief, proxy)
        if not planning:  # each id of the settings or the appsettings environment that the tenant's replaces
            for notice in app_settings(dict(self.settings.values()), ief, proxy)[1]:
                self.run.warn(notice)
        return filled

    # -- the runs of the families -----------------------------------------------------------------------------------
    def ensure_keys(self, entries: list[KeyEntry], check_mode: bool) -> list[dict]:
        def ensure(entry: KeyEntry) -> dict:
            part = self.run.derived(dict(self.connection, **entry.options), check_mode=check_mode)
            try:
                return FLOWS[entry.kind](part)
            except UserError as exc:
                raise UserError(f"{entry.label}: {exc}") from exc
        return in_parallel(ensure, entries, PARALLEL_READS)

    def plan(self) -> dict:
        """Every family in check mode: the reads, and every refusal, before any write. The keys, the apps and the
        tenant's policy list are read side by side (the policies' plan then replays the list)."""
        _checked, self.keysets, self.apps, _listed = in_parallel(lambda read: read(), [
            self.check_tenant,
            lambda: self.ensure_keys(self.keys, check_mode=True),
            lambda: ensure_ief_apps(self.run.derived(self.apps_params(), check_mode=True)) if self.apps_on else {},
            lambda: self.run.api(PolicyGraph).list_ids()], 4)
        if any(entry["changed"] for entry in self.keysets):
            self.run.require_permissions([KEYSET_WRITE], "adding keys to key sets")
        settings = self.policy_settings(self.apps, planning=True)
        self.policies = deploy_set(self.run.derived(self.policy_params(settings), check_mode=True))
        return self.report()

    def check_tenant(self) -> None:
        """The tenant the settings name (Tenant, given or from the appsettings environment) is the credential's: a
        domain resolves to its tenant id through its OpenID discovery document (no permission needed)."""
        tenant = (self.settings.get(TENANT.lower()) or (None, None))[1]
        given = str(self.run.connect().tenant or "").strip().lower()
        if not tenant or not tenant.strip() or tenant.strip().lower() == given:
            return
        explicit = any(str(name).lower() == TENANT.lower() for name in self.params["settings"] or {})
        where = ("settings.Tenant" if explicit else
                 f"Tenant of the environment '{self.params['environment']}' of {self.params['appsettings']}")
        problem = self.run.tenant_problem(tenant.strip(), where)
        if problem:
            raise UserError(problem)

    def apply(self) -> dict:
        """The plan's writes, family after family; a family whose plan writes nothing is not run again."""
        planned = {entry["keyset"].lower() for entry in self.keysets if entry["changed"]}
        changed = [entry for entry in self.keys if entry.keyset.lower() in planned]
        if changed:
            done = {result["keyset"].lower(): result for result in self.ensure_keys(changed, check_mode=False)}
            self.keysets = [done.get(entry["keyset"].lower(), entry) for entry in self.keysets]
        if self.apps_on and self.apps.get("changed"):
            self.apps = ensure_ief_apps(self.run.derived(self.apps_params(), check_mode=False))
        settings = self.policy_settings(self.apps, planning=False)
        self.stand_ins = False
        if self.policies.get("changed"):  # the plan uploads, deletes or prunes
            self.policies = deploy_set(self.run.derived(self.policy_params(settings), check_mode=False))
        return self.report()

    def report(self) -> dict:
        apps = self.apps
        policies = self.policies
        result: dict[str, Any] = {
            "changed": any(entry.get("changed") for entry in self.keysets) or bool(apps.get("changed"))
            or bool(policies.get("changed")),
            "state": self.params["state"],
            "keysets": [{"keyset": entry.get("keyset"), "changed": entry.get("changed", False),
                         "reason": entry.get("reason"), "kid": (entry.get("key") or {}).get("kid"),
                         "expires": (entry.get("key") or {}).get("expires")} for entry in self.keysets],
            "apps": {"changed": apps.get("changed", False),
                     "identity_experience_framework_app_id": apps.get("identity_experience_framework_app_id"),
                     "proxy_identity_experience_framework_app_id": apps.get("proxy_identity_experience_framework_app_id")}
            if apps else {},
            "policies": {name: policies.get(name, []) for name in
                         ("levels", "uploaded", "deleted", "results", "extra", "pruned", "backup_files")},
        }
        result["policies"].update(changed=bool(policies.get("changed")), stand_in_app_ids=self.stand_ins,
                                  rolled_back=policies.get("rolled_back", []))
        result["writes"] = planned_writes(self.keysets, apps, policies)
        if self.run.diff:
            result["diff"] = self.diff()
        return result

    def diff(self) -> list:
        diffs: list = []
        for entry in self.keysets:
            if entry.get("changed") and entry.get("diff"):
                diffs.append(dict(entry["diff"], before_header=f"keyset {entry['keyset']}",
                                  after_header=f"keyset {entry['keyset']}"))
        if self.apps.get("changed") and self.apps.get("diff"):
            diffs.append(dict(self.apps["diff"], before_header="IEF apps", after_header="IEF apps"))
        policy_diffs = self.policies.get("diff") or []
        diffs.extend(policy_diffs if isinstance(policy_diffs, list) else [policy_diffs])
        return diffs


def ensure_tenant(run: RunContext) -> dict:
    """b2c_ief_tenant: plan the whole tenant with reads only, then (unless check mode) apply the plan."""
    role_variables = run.params["role_variables"]
    run.wording = lambda message: worded(message, role_variables)
    stage = "checked"
    tenant: TenantRun | None = None
    try:
        tenant = TenantRun(run)
        plan = tenant.plan()
        if run.check_mode or not plan["writes"]:
            return plan
        stage = "applied"
        return tenant.apply()
    except UserError as exc:
        message = worded(str(exc), role_variables)
        if tenant is None or stage == "checked":
            if "nothing was" not in message.lower():
                message += "\nNothing was written: every check runs before the first write."
            raise TaskFailed(message, partial(tenant, exc, planning=True), cause=exc) from exc
        raise TaskFailed(itemized(message, _done(tenant, exc)), partial(tenant, exc), cause=exc) from exc


def partial(tenant: TenantRun | None, exc: UserError, planning: bool = False) -> dict:
    """What a failed run reports: what each family did, as far as it got."""
    if tenant is None:
        return {}
    carried = exc.result if isinstance(exc, TaskFailed) else {}
    if carried.get("results") is not None and "levels" in carried:  # the policy flow's, as far as it got
        tenant.policies = carried
    report = tenant.report()
    report.pop("diff", None)
    if planning:  # refused by the plan: nothing was written, whatever the plan held
        report.update(changed=False, writes=[])
    return report


def _done(tenant: TenantRun, exc: UserError) -> list[str]:
    """The per-item summary of a run that failed while applying: what was written before the failure."""
    report = partial(tenant, exc)
    lines = [f"{entry['keyset']}: key added" for entry in report["keysets"] if entry["changed"]]
    if report["apps"].get("changed"):
        lines.append("IEF apps: changed")
    lines += [f"{policy_id}: uploaded" for policy_id in report["policies"]["uploaded"]]
    lines += [f"{policy_id}: rolled back" for policy_id in report["policies"]["rolled_back"]]
    return lines or ["nothing was written before the failure"]
