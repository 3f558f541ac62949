# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The flows of the policy modules: one policy, a set in inheritance order, and the tenant's list.

Internal use only: this module may change without notice.

Data flows one way: options -> policy files read and checked (no request yet) -> token -> the tenant read (a list, then
the set's policies in parallel) -> the pure plan of _policies.py -> uploads level by level, or deletions dependents
first, unless check mode -> the report. Decisions live in _policies.py; Graph calls in _policy_graph.py.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ansible_collections.entra.b2c.plugins.module_utils._graph import GraphError
from ansible_collections.entra.b2c.plugins.module_utils._module import GraphModule, error_result, first_error
from ansible_collections.entra.b2c.plugins.module_utils._policies import (
    REASON_ABSENT,
    REASON_CHANGED,
    REASON_DELETED,
    REASON_NEW,
    REASON_NOT_ATTEMPTED,
    Policy,
    PolicyError,
    PolicyPlan,
    check_set,
    content_bytes,
    dependency_levels,
    failure_message,
    level_ids,
    load_policy,
    plan_policy,
    plan_set,
    policy_diff,
    policy_id_option,
    policy_key,
    removal_order,
    set_entry,
    stored_facts,
    upload_waves,
)
from ansible_collections.entra.b2c.plugins.module_utils._policy_graph import PolicyGraph

T = TypeVar("T")
R = TypeVar("R")

# The options of the policy modules that run requests side by side (the key set batch module's name and default).
PARALLEL_SPEC = dict(parallel=dict(type="int", default=8))
POLICY_SPEC = dict(policy=dict(type="str", aliases=["name", "policy_id"]))


class PolicyModule(GraphModule):
    """GraphModule for the policy modules: the policy layer's refusals fail the task like every other user error."""

    def __init__(self, argument_spec: dict, **kwargs):
        super().__init__(argument_spec, **kwargs)
        self._policy_graph: PolicyGraph | None = None

    def run(self, body: Callable[[GraphModule], dict]) -> None:
        def guarded(module: GraphModule) -> dict:
            try:
                return body(module)
            except PolicyError as exc:
                module.fail_json(msg=str(exc))
                raise  # not reached: fail_json exits

        super().run(guarded)

    @property
    def policies(self) -> PolicyGraph:
        """The policy API of the tenant (credentials and endpoints checked here; the token comes with the first call)."""
        if self._policy_graph is None:
            self._policy_graph = PolicyGraph(self.connect())
        return self._policy_graph

    @property
    def tenant(self) -> str | None:
        """The task's tenant, which every policy's TenantId is compared with when it is a domain name."""
        return self.params.get("tenant_id")

    def parallel(self) -> int:
        parallel = self.params["parallel"]
        if parallel < 1:
            raise PolicyError(f"parallel: {parallel} must be 1 or more")
        return parallel


def in_parallel(function: Callable[[T], R], items: Sequence[T], parallel: int) -> list[R]:
    """function over items, up to `parallel` at a time, results in the items' order."""
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(parallel, len(items))) as pool:
        return list(pool.map(function, items))


# ---- reading policy files (no request) ----------------------------------------------------------------------------
def read_file(path: str, label: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise PolicyError(f"{label}: cannot read the policy file {path} ({exc.strerror})") from None


def directory_sources(directory: str, pattern: str) -> list[tuple[str, bytes]]:
    """(source, bytes) of every file of `directory` matching `pattern`, by name; not recursive."""
    if not pattern or "/" in pattern or os.sep in pattern:
        raise PolicyError(f"pattern: '{pattern}' must be a file name pattern such as *.xml, without a directory")
    if not os.path.isdir(directory):
        raise PolicyError(f"path: {directory} is not a directory; give the directory that holds the policy files")
    files = sorted(name for name in glob.glob(os.path.join(glob.escape(directory), pattern)) if os.path.isfile(name))
    if not files:
        raise PolicyError(f"path: no file in {directory} matches the pattern '{pattern}'")
    return [(name, read_file(name, name)) for name in files]


def item_sources(items: Sequence[dict]) -> list[tuple[str, str | bytes]]:
    """(source, content) of each entry of the `policies` option: exactly one of path and content each."""
    sources: list[tuple[str, str | bytes]] = []
    for index, item in enumerate(items):
        where = f"policies[{index}]"
        given = [name for name in ("path", "content") if item.get(name) is not None]
        if len(given) != 1:
            raise PolicyError(f"{where}: give exactly one of path and content (got {' and '.join(given) or 'neither'})")
        if item.get("path") is not None:
            sources.append((item.get("source") or item["path"], read_file(item["path"], where)))
        else:
            sources.append((item.get("source") or where, item["content"]))
    if not sources:
        raise PolicyError("policies: the list is empty; give at least one policy")
    return sources


def load_set(sources: Iterable[tuple[str, str | bytes]], tenant: str | None) -> list[Policy]:
    """Every file parsed and checked; the problems of all files reported together."""
    policies, problems = [], []
    for source, content in sources:
        try:
            policies.append(load_policy(content, source, tenant=tenant))
        except PolicyError as exc:
            problems.extend(exc.problems)
    if problems:
        raise PolicyError(f"{len(problems)} problem(s) in the policy set, nothing was sent: " + "; ".join(problems),
                          problems)
    return policies


# ---- one policy -----------------------------------------------------------------------------------------------------
def ensure_policy(module: PolicyModule) -> dict:
    """b2c_policy: one policy present (uploaded when it differs) or absent."""
    params = module.params
    if params["state"] == "absent":
        return remove_policy(module)
    if params["policy"] is not None:
        policy_id_option(params["policy"])
    if params["path"] is not None:
        source, content = params["path"], read_file(params["path"], "path")
    else:
        source, content = "content", params["content"]
    policy = load_policy(content, source, expected_id=params["policy"], tenant=module.tenant)

    stored = module.policies.get_xml(policy.policy_id)
    upload, reason = plan_policy(policy, stored)
    result: dict[str, Any] = {"changed": upload, "policy": policy.policy_id, "reason": reason,
                              "base_policy": policy.base_policy_id, "keysets": list(policy.key_sets)}
    if module._diff:
        result["diff"] = policy_diff(policy.policy_id, stored, policy.content, "tenant", source)
    if upload and not module.check_mode:
        try:
            module.policies.put_xml(policy.policy_id, content_bytes(policy.content))
        except GraphError as exc:
            exc.message = f"{policy.label} was not uploaded: {exc.message}"
            exc.result = dict(result, changed=False)
            raise
    return result


def remove_policy(module: PolicyModule) -> dict:
    params = module.params
    given = [name for name in ("content", "path") if params[name] is not None]
    if given:
        raise PolicyError(f"{' and '.join(given)}: not used with state absent, which deletes the policy named by policy")
    policy_id = policy_id_option(params["policy"])
    stored = module.policies.get_xml(policy_id)
    listed_id = stored_facts(stored)[0] if stored is not None else None
    result: dict[str, Any] = {"changed": stored is not None, "policy": listed_id or policy_id,
                              "reason": REASON_DELETED if stored is not None else REASON_ABSENT}
    if module._diff:
        result["diff"] = policy_diff(result["policy"], stored, None, "tenant", "absent")
    if stored is not None and not module.check_mode:
        module.policies.delete(policy_id)
    return result


# ---- a set ----------------------------------------------------------------------------------------------------------
def deploy_set(module: PolicyModule) -> dict:
    """b2c_policies: a set present, uploaded level by level where it differs, or absent, dependents first."""
    params = module.params
    parallel = module.parallel()
    if params["path"] is not None:
        sources: Sequence[tuple[str, str | bytes]] = directory_sources(params["path"], params["pattern"])
    else:
        sources = item_sources(params["policies"])
    policies = load_set(sources, module.tenant)
    levels = check_set(policies)  # duplicates, cycles, depth: refused before any request
    listed = module.policies.list_ids()
    if params["state"] == "absent":
        return _remove_set(module, levels, listed, parallel)
    levels = dependency_levels(policies, tenant_policy_ids=listed)  # a base neither in the set nor in the tenant
    in_tenant = {policy_key(policy_id) for policy_id in listed}
    present = [policy for level in levels for policy in level if policy.key in in_tenant]
    stored = dict(zip((policy.key for policy in present),
                      in_parallel(lambda policy: module.policies.get_xml(policy.policy_id), present, parallel)))
    plans = plan_set(levels, stored, params["reupload_dependents"])

    if module.check_mode:
        uploaded, refused, not_attempted = [plan.policy.key for plan in plans if plan.upload], {}, set()
    else:
        uploaded, refused, not_attempted = _upload(module.policies, plans, parallel)

    done = set(uploaded)
    results = []
    for plan in plans:
        key = plan.policy.key
        if key in refused:
            results.append(dict(set_entry(plan, False), failed=True, msg=str(refused[key]), **error_result(refused[key])))
        elif key in not_attempted:
            results.append(set_entry(plan, False, REASON_NOT_ATTEMPTED))
        else:
            results.append(set_entry(plan, key in done))
    by_key = {plan.policy.key: plan for plan in plans}
    outcome: dict[str, Any] = {"changed": bool(done), "results": results, "levels": level_ids(levels),
                               "uploaded": [by_key[key].policy.policy_id for key in uploaded]}
    if module._diff:
        outcome["diff"] = [policy_diff(plan.policy.policy_id, stored.get(plan.policy.key), plan.policy.content,
                                       "tenant", plan.policy.source)
                           for plan in plans if plan.policy.key in done and plan.reason in (REASON_NEW, REASON_CHANGED)]
    if refused:
        failed = [(by_key[key].policy, str(error)) for key, error in refused.items()]
        module.fail_json(msg=failure_message(failed, outcome["uploaded"], [
            plan.policy.policy_id for plan in plans if plan.policy.key in not_attempted]), **outcome, **first_error(results))
    return outcome


def _upload(graph: PolicyGraph, plans: Sequence[PolicyPlan], parallel: int) -> tuple[list[str], dict, set]:
    def put(plan: PolicyPlan, done: set[str]) -> None:
        policy = plan.policy
        graph.put_xml(policy.policy_id, content_bytes(policy.content),
                      base_just_uploaded=policy.base_policy_id if policy.base_key in done else None)

    return in_waves(upload_waves(plans), put, lambda plan: plan.policy.key, parallel)


def in_waves(waves: Sequence[Sequence[T]], act: Callable[[T, set[str]], None], key: Callable[[T], str],
             parallel: int) -> tuple[list[str], dict[str, GraphError], set[str]]:
    """Act on wave after wave, a wave's items side by side; `act` also gets the keys done in earlier waves. When an
    item fails the rest of its wave completes and later waves are not attempted. Returns the keys done (in the waves'
    order), the errors by key and the keys not attempted."""
    done: list[str] = []
    failed: dict[str, GraphError] = {}
    for index, wave in enumerate(waves):
        earlier = set(done)

        def attempt(item: T) -> GraphError | None:
            try:
                act(item, earlier)
            except GraphError as exc:
                return exc
            return None

        for item, error in zip(wave, in_parallel(attempt, wave, parallel)):
            if error is None:
                done.append(key(item))
            else:
                failed[key(item)] = error
        if failed:
            return done, failed, {key(item) for later in waves[index + 1:] for item in later}
    return done, failed, set()


def _remove_set(module: PolicyModule, levels: list[list[Policy]], listed: Sequence[str], parallel: int) -> dict:
    """Delete the set's policies the tenant holds, what inherits first, a level's deletions side by side."""
    in_tenant = {policy_key(policy_id): policy_id for policy_id in listed}
    order = removal_order(levels)
    waves = [[policy for policy in level if policy.key in in_tenant] for level in order]
    stored: dict[str, bytes | None] = {}
    if module._diff:
        present = [policy for wave in waves for policy in wave]
        stored = dict(zip((policy.key for policy in present),
                          in_parallel(lambda policy: module.policies.get_xml(policy.policy_id), present, parallel)))
    if module.check_mode:
        deleted, failed, not_attempted = [policy.key for wave in waves for policy in wave], {}, set()
    else:
        deleted, failed, not_attempted = in_waves(
            waves, lambda policy, _done: module.policies.delete(in_tenant[policy.key]), lambda policy: policy.key, parallel)

    names = {policy.key: in_tenant.get(policy.key, policy.policy_id) for level in levels for policy in level}
    results = []
    for depth, level in enumerate(order):
        for policy in level:
            entry = {"policy": names[policy.key], "source": policy.source, "level": len(levels) - 1 - depth,
                     "base_policy": policy.base_policy_id, "keysets": list(policy.key_sets),
                     "changed": policy.key in deleted,
                     "reason": REASON_DELETED if policy.key in in_tenant else REASON_ABSENT}
            if policy.key in failed:
                entry.update(failed=True, msg=str(failed[policy.key]), **error_result(failed[policy.key]))
            elif policy.key in not_attempted:
                entry["reason"] = REASON_NOT_ATTEMPTED
            results.append(entry)
    outcome: dict[str, Any] = {"changed": bool(deleted), "results": results, "levels": level_ids(levels),
                               "deleted": [names[key] for key in deleted]}
    if module._diff:
        outcome["diff"] = [policy_diff(names[key], stored.get(key), None, "tenant", "absent") for key in deleted]
    if failed:
        in_order = [policy for level in order for policy in level]
        module.fail_json(msg=failure_message(
            [(policy, str(failed[policy.key])) for policy in in_order if policy.key in failed], outcome["deleted"],
            [names[policy.key] for policy in in_order if policy.key in not_attempted], verb="deleted"), **outcome,
            **first_error(results))
    return outcome


# ---- the tenant's list ------------------------------------------------------------------------------------------------
def policy_info(module: PolicyModule) -> dict:
    """b2c_policy_info: the tenant's policies, and with content their XML, read in parallel."""
    params = module.params
    parallel = module.parallel()
    wanted = policy_key(policy_id_option(params["policy"])) if params["policy"] is not None else None
    ids = [policy_id for policy_id in module.policies.list_ids() if wanted in (None, policy_key(policy_id))]
    if not params["content"]:
        return {"changed": False, "policies": [{"id": policy_id} for policy_id in ids]}
    contents = in_parallel(module.policies.get_xml, ids, parallel)
    policies = [{"id": policy_id, "content": content.decode("utf-8", "replace"), "base_policy": stored_facts(content)[1]}
                for policy_id, content in zip(ids, contents) if content is not None]  # deleted since the list: left out
    return {"changed": False, "policies": policies}
