# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The flow of b2c_tenant_export: a live tenant written as a repository the ief_tenant role deploys back unchanged.

Internal use only: this module may change without notice.

Data flows one way, with one token: options checked (no request) -> the tenant read side by side (the policy list,
the key set list, the two IEF apps by name), then the policies the pattern matches -> the pure repository of
_tenant/repository.py (every value put back as its placeholder, each file proven by filling it again, every problem
refused before a file is written) -> the files whose content differs written, unless check mode -> the report.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from ansible_collections.entra.b2c.plugins.module_utils._apps.api import AppGraph
from ansible_collections.entra.b2c.plugins.module_utils._apps.ief_apps import IEF_NAME, PROXY_NAME, pick_app
from ansible_collections.entra.b2c.plugins.module_utils._core.context import RunContext, in_parallel
from ansible_collections.entra.b2c.plugins.module_utils._core.identity import is_guid
from ansible_collections.entra.b2c.plugins.module_utils._keysets.api import KeysetGraph
from ansible_collections.entra.b2c.plugins.module_utils._policies.api import PolicyGraph
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import matches_pattern, parse_policy, policy_key
from ansible_collections.entra.b2c.plugins.module_utils._tenant.repository import (
    APPSETTINGS,
    IEF_APP,
    POLICIES_DIR,
    PROXY_APP,
    README,
    VARIABLES,
    ExportError,
    appsettings_text,
    keyset_entries,
    policy_facts,
    policy_file,
    put_back,
    readme_text,
    round_trip_problem,
    substitutions,
    variables_text,
)

EXPORT_SPEC = dict(
    dest=dict(type="path", required=True),
    environment=dict(type="str", default="Production"),
    pattern=dict(type="str", default="B2C_1A_*"),
    settings=dict(type="dict", default={}),
)
PARALLEL_READS = 8
BOM = "\ufeff"


def export_tenant(run: RunContext) -> dict:
    """b2c_tenant_export: the tenant's policies, key sets and IEF apps as a repository in `dest`."""
    params = run.params
    dest, environment, pattern = params["dest"], params["environment"], params["pattern"]
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise ExportError(f"dest: {dest} is a file; give the directory of the repository (created when missing)")
    if not environment or not environment.strip():
        raise ExportError("environment: give the Name of the appsettings.json environment to write, such as Production")
    if not pattern or not pattern.strip():
        raise ExportError("pattern: give the policy ids to export, shell style, such as B2C_1A_*")
    existing_settings = _read(os.path.join(dest, APPSETTINGS))

    policies, keysets, apps = run.api(PolicyGraph), run.api(KeysetGraph), run.api(AppGraph)
    listed, sets, ief_found, proxy_found = in_parallel(lambda read: read(), [
        policies.list_ids, keysets.list_keysets,
        lambda: apps.applications_named(IEF_NAME), lambda: apps.applications_named(PROXY_NAME)], 4)
    ids = sorted((policy_id for policy_id in listed if matches_pattern(policy_id, pattern)), key=policy_key)
    contents = dict(zip(ids, in_parallel(policies.get_xml, ids, PARALLEL_READS)))
    contents = {policy_id: content for policy_id, content in contents.items() if content is not None}
    if not contents:
        run.warn(f"pattern: no custom policy of the tenant matches '{pattern}'; the repository holds no policy")

    parsed = {policy_id: parse_policy(content, policy_id) for policy_id, content in contents.items()}
    domain = _domain(run, parsed)
    ief = pick_app(ief_found, IEF_NAME, None, "IdentityExperienceFramework")
    proxy = pick_app(proxy_found, PROXY_NAME, None, "ProxyIdentityExperienceFramework")
    app_ids = {IEF_APP: (ief or {}).get("appId"), PROXY_APP: (proxy or {}).get("appId")}
    subs = substitutions(domain, app_ids, params["settings"])

    files: dict[str, str] = {}
    problems: list[str] = []
    facts = []
    for policy_id, content in contents.items():
        path = policy_file(policy_id)
        text = content.decode("utf-8") if isinstance(content, bytes) else content
        bom = text.startswith(BOM)
        exported, found = put_back(text[1:] if bom else text, path, subs)
        problems += found
        if not found:
            problem = round_trip_problem(text[1:] if bom else text, exported, path, subs)
            if problem:
                problems.append(problem)
        files[path] = (BOM if bom else "") + exported
        facts.append(policy_facts(parsed[policy_id].policy_id, parsed[policy_id].base_policy_id, content))
    if problems:
        raise ExportError("the export wrote nothing: these values of the tenant cannot be put back as placeholders "
                          "exactly (a value inside a longer word would be replaced there too); remove the setting, or "
                          "keep the value as it is:\n- " + "\n- ".join(problems))
    entries = keyset_entries(sets, run.now)
    both_apps = bool(app_ids[IEF_APP] and app_ids[PROXY_APP])
    files[APPSETTINGS] = appsettings_text(existing_settings, environment,
                                          [item for item in subs if both_apps or item.name not in (IEF_APP, PROXY_APP)],
                                          APPSETTINGS)
    files[VARIABLES] = variables_text(domain, environment, entries, both_apps, run.now)
    files[README] = readme_text(domain, environment, facts, entries)

    written = _write_all(run, dest, files)
    for stale in _stale(dest, files):
        run.warn(f"{stale} is no policy of the tenant that matches '{pattern}' (gone from the tenant, or written by "
                 f"hand): left as it is; delete it unless the set should hold it")
    result: dict[str, Any] = {
        "changed": any(item["changed"] for item in written),
        "dest": dest,
        "files": written,
        "policies": [parsed[policy_id].policy_id for policy_id in contents],
        "keysets": [{"keyset": entry.keyset, "kind": entry.kind or None, "use": entry.use, "kty": entry.kty}
                    for entry in entries],
        "settings": {item.name: item.value for item in subs},
    }
    if run.diff:
        result["diff"] = [item.pop("diff") for item in written if "diff" in item]
    for item in written:
        item.pop("diff", None)
    return result


def _domain(run: RunContext, parsed: dict) -> str:
    """The tenant's domain: tenant_id when it is one, else the one TenantId its policies name."""
    given = run.connect().tenant
    if given and not is_guid(given):
        return str(given).strip()
    named = {policy.tenant_id.strip().lower(): policy.tenant_id.strip() for policy in parsed.values() if policy.tenant_id}
    if len(named) == 1:
        return next(iter(named.values()))
    if not named:
        raise ExportError("tenant_id: give the tenant's domain name (contoso.onmicrosoft.com): the tenant holds no "
                          "policy that names it, and the export writes it as the Tenant setting")
    raise ExportError(f"the tenant's policies name {len(named)} tenants ({', '.join(sorted(named.values()))}); give the "
                      f"tenant's domain name as tenant_id")


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportError(f"dest: cannot read {path} ({exc}); the export wrote nothing") from None


def _write_all(run: RunContext, dest: str, files: dict[str, str]) -> list[dict]:
    """Each file whose content differs written whole (a temporary file renamed over it), unless check mode; one entry
    per file, in the repository's order, with its diff."""
    written = []
    for relative in sorted(files, key=lambda name: (name.startswith(POLICIES_DIR + "/"), name)):
        path = os.path.join(dest, *relative.split("/"))
        before = _read(path)
        after = files[relative]
        changed = before != after
        entry: dict[str, Any] = {"path": relative, "changed": changed}
        if changed:
            entry["diff"] = {"before": before or "", "after": after, "before_header": relative if before is not None
                             else "(absent)", "after_header": relative}
            if not run.check_mode:
                _write(path, after)
        written.append(entry)
    return written


def _write(path: str, text: str) -> None:
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".export-")
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        raise ExportError(f"dest: cannot write {path} ({exc.strerror})") from None


def _stale(dest: str, files: dict[str, str]) -> list[str]:
    """The .xml files of the policies directory that this export did not write."""
    directory = os.path.join(dest, POLICIES_DIR)
    if not os.path.isdir(directory):
        return []
    return sorted(f"{POLICIES_DIR}/{name}" for name in os.listdir(directory)
                  if name.lower().endswith(".xml") and f"{POLICIES_DIR}/{name}" not in files)
