# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The flows of the policy modules: one policy, a set in inheritance order, and the tenant's list.

Internal use only: this module may change without notice.

Data flows one way: options -> policy files read and checked (no request yet) -> token -> the tenant read (a list, then
the set's policies in parallel; with prune the policies outside the set too) -> the pure plan of _policies/policy.py -> backups
of what will be replaced or deleted -> uploads level by level, or deletions dependents first, one at a time unless
parallel_uploads says otherwise, unless check mode -> after a refusal, the rollback (the copies read before put back,
bases first, what the run created deleted) -> pruning, only when every upload succeeded -> the backups of what was not
written removed -> the report. Decisions live in _policies/policy.py; Graph calls in _policies/api.py.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from ansible_collections.entra.b2c.plugins.module_utils._core.graph import GraphError
from ansible_collections.entra.b2c.plugins.module_utils._core.files import FileTooLarge, read_bounded
from ansible_collections.entra.b2c.plugins.module_utils._keysets.api import (
    replication_budget,
    replication_facts,
)
from ansible_collections.entra.b2c.plugins.module_utils._core.messages import itemized
from ansible_collections.entra.b2c.plugins.module_utils._core.context import RunContext, error_result, first_error, in_parallel
from ansible_collections.entra.b2c.plugins.module_utils._core.errors import TaskFailed, UserError
from ansible_collections.entra.b2c.plugins.module_utils._policies.preflight import check_before_writes
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import (
    REASON_ABSENT,
    REASON_CHANGED,
    REASON_DELETED,
    REASON_NEW,
    REASON_NOT_ATTEMPTED,
    BACKUP_STAMP_FORMAT,
    MAX_POLICY_BYTES,
    Policy,
    PolicyError,
    PolicyPlan,
    RollbackStep,
    backup_name,
    check_set,
    dependency_levels,
    extra_ids,
    failure_message,
    level_ids,
    load_policy,
    missing_ids,
    parse_policy,
    plan_policy,
    plan_prune,
    plan_rollback,
    plan_set,
    policy_diff,
    policy_id_option,
    policy_key,
    prune_pattern_option,
    removal_order,
    rollback_failed_message,
    rollback_versions,
    rolled_back_message,
    set_entry,
    stored_facts,
    upload_body,
    upload_waves,
    write_may_have_landed,
)
from ansible_collections.entra.b2c.plugins.module_utils._policies.api import PolicyGraph
from ansible_collections.entra.b2c.plugins.module_utils._policies.files import find_policy_files, left_out_message
from ansible_collections.entra.b2c.plugins.module_utils._policies.prefix import id_prefix_option, prefixed_sources
from ansible_collections.entra.b2c.plugins.module_utils._policies.refs import outside_bases, refuse_dangling, tenant_base
from ansible_collections.entra.b2c.plugins.module_utils._policies.keysets import check_keysets, ensured_keyset_ids
from ansible_collections.entra.b2c.plugins.module_utils._policies.settings import (
    empty_warning, facebook_warning, fill_all, filled_empty, optional_left, policy_settings)

T = TypeVar("T")

# The options of the policy modules that run requests side by side (the key set batch module's name and default).
PARALLEL_SPEC = dict(parallel=dict(type="int", default=8))
POLICY_SPEC = dict(policy=dict(type="str", aliases=["name", "policy_id"]))
# Writes one at a time unless asked: every public tool uploads one policy at a time, and nothing public shows that
# concurrent uploads into one tenant are safe.
UPLOAD_SPEC = dict(parallel_uploads=dict(type="int", default=1))
# Ansible's convention (template, copy): the tenant's copy saved before the run replaces or deletes it.
BACKUP_SPEC = dict(backup=dict(type="bool", default=False), backup_dir=dict(type="path"))
# A set refused half-way is put back as the tenant held it: a new base under old children, or half a release, is what
# nobody wants in production, and the run holds the previous copies anyway (it read them to compare).
ROLLBACK_SPEC = dict(rollback=dict(type="bool", default=True))


def policy_api(run: RunContext) -> PolicyGraph:
    """The run's policy API (credentials and endpoints checked here; the token comes with the first call)."""
    return run.api(PolicyGraph)


def tenant_of(run: RunContext) -> str | None:
    """The task's tenant, which every policy's TenantId is compared with when it is a domain name."""
    return run.params.get("tenant_id")


def parallel_option(params: Mapping) -> int:
    parallel = params["parallel"]
    if parallel < 1:
        raise PolicyError(f"parallel: {parallel} must be 1 or more")
    return parallel


def parallel_uploads_option(params: Mapping) -> int:
    writes = params["parallel_uploads"]
    if writes < 1:
        raise PolicyError(f"parallel_uploads: {writes} must be 1 or more (1, the default, writes one policy at a time)")
    return writes


def backup_dir_option(params: Mapping) -> str | None:
    """Where backups go, None without backup; checked before any request."""
    directory = params.get("backup_dir")
    if not params.get("backup"):
        return None
    if not directory:
        raise PolicyError("backup_dir: required with backup; give the directory the tenant's copies are saved in "
                          "(created with mode 0700 when missing)")
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise PolicyError(f"backup_dir: {directory} is not a directory; give a directory (created when missing)")
    return directory


# ---- reading policy files (no request) ----------------------------------------------------------------------------
def read_file(path: str, label: str) -> bytes:
    try:
        return read_bounded(path, MAX_POLICY_BYTES)
    except FileTooLarge:
        raise PolicyError(f"{label}: {path} is more than the {MAX_POLICY_BYTES // 1024} KB B2C accepts for one policy "
                          f"file") from None
    except OSError as exc:
        raise PolicyError(f"{label}: cannot read the policy file {path} ({exc.strerror})") from None


def directory_sources(directory: str, pattern: str, recursive: bool = True, warn: Callable[[str], None] | None = None,
                      skip: Sequence[str] = ()) -> list[tuple[str, bytes]]:
    """(source, bytes) of every file of `directory` whose name matches `pattern`, in its sub-folders too unless
    `recursive` is false, as _policies/files.py finds them (not in dot folders, the VS Code extension's Environments
    output, or the folders of `skip`). The .xml files left out are named through `warn`: a relying party moved into a
    folder the search does not take would otherwise stay behind without a word."""
    if not pattern or "/" in pattern or os.sep in pattern:
        raise PolicyError(f"pattern: '{pattern}' must be a file name pattern such as *.xml, without a directory (it is "
                          f"matched against the name of each file, in the sub-folders too)")
    if not os.path.isdir(directory):
        raise PolicyError(f"path: {directory} is not a directory; give the directory that holds the policy files")
    try:
        found = find_policy_files(directory, pattern, recursive, skip)
    except OSError as exc:
        raise PolicyError(f"path: cannot list {exc.filename or directory} ({exc.strerror or exc}); every folder under "
                          f"{directory} is searched for policy files") from None
    left_out = (left_out_message(directory, found.left_out, pattern, recursive, "pattern", "recursive")
                if found.left_out else None)
    if not found.files:
        searched = " (its sub-folders searched too)" if recursive else ""
        raise PolicyError(f"path: no file in {directory} matches the pattern '{pattern}'{searched}"
                          + (f"; {left_out}" if left_out else ""))
    if left_out and warn is not None:
        warn(left_out)
    return [(name, read_file(name, name)) for name in found.files]


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


def fill_sources(run: RunContext, sources: Sequence[tuple[str, str | bytes]], uploading: bool = True
                 ) -> list[tuple[str, str | bytes]]:
    """The sources with settings, appsettings and the starter packs' literals filled in; every placeholder left (when
    `uploading`: a deletion reads only the ids), a bad appsettings file and a bad ensured_keysets entry refused before
    any request; a facebook_clientid left, and a placeholder filled with an empty value, warned."""
    params = run.params
    ensured_keyset_ids(params.get("ensured_keysets"))
    settings = policy_settings(params.get("settings"), params.get("appsettings"), params.get("environment"),
                               lambda path: read_file(path, "appsettings"))
    filled = fill_all(sources, settings, tenant_of(run), params.get("appsettings"), refuse_left=uploading)
    if uploading:
        for warning in (facebook_warning(optional_left(filled)), empty_warning(filled_empty(sources, settings))):
            if warning:
                run.warn(warning)
    return filled


def load_set(sources: Iterable[tuple[str, str | bytes]], tenant: str | None) -> list[Policy]:
    """Every file parsed and checked; the problems of all files reported together."""
    policies, problems = [], []
    for source, content in sources:
        try:
            policies.append(load_policy(content, source, tenant=tenant))
        except PolicyError as exc:
            problems.extend(exc.problems)
    if problems:
        raise PolicyError(itemized(f"{len(problems)} problem(s) in the policy set, nothing was sent", problems), problems)
    return policies


# ---- one policy -----------------------------------------------------------------------------------------------------
def ensure_policy(run: RunContext) -> dict:
    """b2c_policy: one policy present (uploaded when it differs) or absent."""
    params = run.params
    if params["state"] == "absent":
        return remove_policy(run)
    if params["policy"] is not None:
        policy_id_option(params["policy"])
    if params["path"] is not None:
        source, content = params["path"], read_file(params["path"], "path")
    else:
        source, content = "content", params["content"]
    source, content = fill_sources(run, [(source, content)])[0]
    policy = load_policy(content, source, expected_id=params["policy"], tenant=tenant_of(run))
    backup_dir = backup_dir_option(params)

    refuse_dangling([policy])  # a policy without a base: before any request
    stored = policy_api(run).get_xml(policy.policy_id)
    upload, reason = plan_policy(policy, stored)
    if upload and policy.base_policy_id:  # its bases are read only when it would be uploaded
        refuse_dangling([policy], tenant_bases(run, [policy], 1))
    result: dict[str, Any] = {"changed": upload, "policy": policy.policy_id, "reason": reason,
                              "base_policy": policy.base_policy_id, "keysets": list(policy.key_sets)}
    if run.diff:
        result["diff"] = policy_diff(policy.policy_id, stored, policy.content, "tenant", source)
    known_keysets = check_keysets(run, [policy]) if upload else frozenset()  # in check mode too
    # a new policy counts against the tenant's limit: the list is read for it alone
    check_before_writes(run, [policy] if upload else [], [],
                        policy_api(run).list_ids() if upload and stored is None else None)
    backups = write_backups(run, backup_dir, [(policy.policy_id, stored)] if upload and stored else [])
    result["backup_files"] = [path for _policy_id, path in backups]
    if upload and not run.check_mode:
        replication = replication_budget(run.connect())
        try:
            with run.step(f"{policy.policy_id} uploaded"):
                policy_api(run).put_xml(policy.policy_id, upload_body(policy.content), replication=replication,
                                        present_keysets=known_keysets)
        except GraphError as exc:
            # a refusal replaced nothing, so its backup goes; one without a sure answer may have: it stays
            landed = [policy.key] if write_may_have_landed(exc.status) else []
            result["backup_files"] = keep_backups(run, backups, landed)
            raise TaskFailed(f"{policy.label} was not uploaded: {exc}", dict(result, changed=False, **replication_facts(replication)),
                             cause=exc) from exc
        result.update(replication_facts(replication))
    return result


def remove_policy(run: RunContext) -> dict:
    """b2c_policy state=absent: delete the policy named by `policy`, or the one `content` / `path` defines (its
    PolicyId, the file checked as for an upload, so a file of another tenant deletes nothing); given both, they agree."""
    policy_id = absent_policy_id(run)
    backup_dir = backup_dir_option(run.params)
    stored = policy_api(run).get_xml(policy_id)
    listed_id = stored_facts(stored)[0] if stored is not None else None
    result: dict[str, Any] = {"changed": stored is not None, "policy": listed_id or policy_id,
                              "reason": REASON_DELETED if stored is not None else REASON_ABSENT}
    if run.diff:
        result["diff"] = policy_diff(result["policy"], stored, None, "tenant", "absent")
    check_before_writes(run, [], [policy_id] if stored is not None else [])
    backups = write_backups(run, backup_dir, [(result["policy"], stored)] if stored else [])
    result["backup_files"] = [path for _policy_id, path in backups]
    if stored is not None and not run.check_mode:
        try:
            delete_reported(run, policy_id)
        except GraphError as exc:
            # a refusal deleted nothing, so its backup goes; one without a sure answer may have: it stays
            landed = [policy_key(policy_id)] if write_may_have_landed(exc.status) else []
            result["backup_files"] = keep_backups(run, backups, landed)
            raise TaskFailed(f"{result['policy']} was not deleted: {exc}", dict(result, changed=False),
                             cause=exc) from exc
    return result


def tenant_bases(run: RunContext, policies: Sequence[Policy], parallel: int) -> dict[str, bytes | None]:
    """The tenant's copies of the bases outside `policies` and of their own bases up to the root, by policy_key: a
    level of the chain at a time, each level's reads side by side. No request when every base is in `policies`."""
    copies: dict[str, bytes | None] = {}
    inside = {policy.key for policy in policies}
    wanted = outside_bases(policies)
    while wanted:
        ids = sorted(wanted.values())
        for policy_id, content in zip(ids, in_parallel(policy_api(run).get_xml, ids, parallel)):
            copies[policy_key(policy_id)] = content
        wanted = {}
        for content in copies.values():
            base = tenant_base(content)
            if base and base not in copies and base not in inside:
                wanted[base] = stored_facts(content)[1] or base
    return copies


def absent_policy_id(run: RunContext) -> str:
    """The id state=absent deletes, checked before any request (as kubernetes.core.k8s deletes what its src defines)."""
    params = run.params
    if params["policy"] is not None:
        policy_id_option(params["policy"])
    if params["path"] is not None:
        source, content = params["path"], read_file(params["path"], "path")
    elif params["content"] is not None:
        source, content = "content", params["content"]
    else:
        return policy_id_option(params["policy"])
    source, content = fill_sources(run, [(source, content)], uploading=False)[0]  # the id as an upload would read it
    # expected_id: given both, the file's PolicyId must be the policy named (refused otherwise, naming both)
    return load_policy(content, source, expected_id=params["policy"], tenant=tenant_of(run)).policy_id


# ---- a set ----------------------------------------------------------------------------------------------------------
def deploy_set(run: RunContext) -> dict:
    """b2c_policies: a set present, uploaded level by level where it differs, or absent, dependents first."""
    params = run.params
    parallel = parallel_option(params)
    writes, pattern, backup_dir = parallel_uploads_option(params), prune_pattern_option(
        params["prune"], params["prune_pattern"], params["state"]), backup_dir_option(params)
    prefix = id_prefix_option(params.get("id_prefix"))
    if params["path"] is not None:
        sources: Sequence[tuple[str, str | bytes]] = directory_sources(
            params["path"], params["pattern"], params.get("recursive", True), run.warn,
            [backup_dir] if backup_dir is not None else ())
    else:
        sources = item_sources(params["policies"])
    sources = fill_sources(run, sources, uploading=params["state"] == "present")
    if prefix is not None:  # the new version's ids, before anything reads them (absent deletes that version)
        sources = prefixed_sources(sources, prefix)
    policies = load_set(sources, tenant_of(run))
    levels = check_set(policies)  # duplicates, cycles, depth: refused before any request
    if params["state"] == "present":
        refuse_dangling(policies)  # references whose chain is all in the set: refused before any request
    listed = policy_api(run).list_ids()
    extra = extra_ids(listed, policies)
    if params["state"] == "absent":
        return _remove_set(run, levels, listed, parallel, writes, backup_dir, extra)
    levels = dependency_levels(policies, tenant_policy_ids=listed)  # a base neither in the set nor in the tenant
    refuse_dangling(policies, tenant_bases(run, policies, parallel))  # chains through the tenant: before any write
    in_tenant = {policy_key(policy_id) for policy_id in listed}
    present = [policy for level in levels for policy in level if policy.key in in_tenant]
    stored = dict(zip((policy.key for policy in present),
                      in_parallel(lambda policy: policy_api(run).get_xml(policy.policy_id), present, parallel)))
    plans = plan_set(levels, stored, params["reupload_dependents"])
    known_keysets = check_keysets(run, [plan.policy for plan in plans if plan.upload])  # in check mode too
    waits: dict[str, Any] = {}
    prune_waves, pruning = read_extras(run, extra, pattern, policies, parallel)  # with prune only
    check_before_writes(run, [plan.policy for plan in plans if plan.upload],
                        [policy_id for wave in prune_waves for policy_id in wave], listed)  # in check mode too
    backups = write_backups(run, backup_dir, [
        (plan.policy.policy_id, stored[plan.policy.key]) for plan in plans if plan.upload and stored.get(plan.policy.key)
    ] + [(policy_id, pruning[policy_key(policy_id)]) for wave in reversed(prune_waves) for policy_id in wave])

    if run.check_mode:
        uploaded, refused, not_attempted = [plan.policy.key for plan in plans if plan.upload], {}, set()
    else:
        uploaded, refused, not_attempted = _upload(run, plans, writes, known_keysets, waits)
    # what this run may have replaced or created: its uploads, and those that failed without a sure answer
    unsure = [key for key, error in refused.items() if write_may_have_landed(error.status)]
    written = set(uploaded) | set(unsure)

    done = set(uploaded)
    results = []
    for plan in plans:
        key = plan.policy.key
        if key in refused:
            results.append(dict(set_entry(plan, False), failed=True, msg=str(refused[key]), **replication_facts(waits.get(key)),
                                **error_result(refused[key])))
        elif key in not_attempted:
            results.append(set_entry(plan, False, REASON_NOT_ATTEMPTED))
        else:
            results.append(dict(set_entry(plan, key in done), **replication_facts(waits.get(key))))
    by_key = {plan.policy.key: plan for plan in plans}
    outcome: dict[str, Any] = {"changed": bool(done), "results": results, "levels": level_ids(levels),
                               "uploaded": [by_key[key].policy.policy_id for key in uploaded], "extra": extra}
    if run.diff:
        outcome["diff"] = [policy_diff(plan.policy.policy_id, stored.get(plan.policy.key), plan.policy.content,
                                       "tenant", plan.policy.source)
                           for plan in plans if plan.policy.key in done and plan.reason in (REASON_NEW, REASON_CHANGED)]
    if refused:
        failed = [(by_key[key].policy, str(error)) for key, error in refused.items()]
        message = failure_message(failed, outcome["uploaded"], [
            plan.policy.policy_id for plan in plans if plan.policy.key in not_attempted])
        outcome["rolled_back"] = []
        if params["rollback"] and written:
            steps = plan_rollback(plans, stored, uploaded, unsure)
            outcome["rolled_back"], rollback_message = roll_back(run, steps, writes)
            message += " " + rollback_message
        outcome["pruned"] = []
        outcome["backup_files"] = keep_backups(run, backups, written)
        raise TaskFailed(message + (" Nothing was pruned." if prune_waves else ""), {**outcome, **first_error(results)})
    pruned, prune_failure = prune_extras(run, prune_waves, pruning, writes, outcome)
    outcome["backup_files"] = keep_backups(run, backups, written | pruned)
    if prune_failure:
        raise TaskFailed(prune_failure, outcome)
    return outcome


def _upload(run: RunContext, plans: Sequence[PolicyPlan], parallel: int, present: frozenset = frozenset(),
            waits: dict | None = None) -> tuple[list[str], dict, set]:
    graph = policy_api(run)

    def put(plan: PolicyPlan, done: set[str]) -> None:
        policy = plan.policy
        replication = replication_budget(run.connect())
        if waits is not None:
            waits[policy.key] = replication  # each upload its own wait, reported per policy
        with run.step(f"{policy.policy_id} uploaded"):
            graph.put_xml(policy.policy_id, upload_body(policy.content),
                          base_just_uploaded=policy.base_policy_id if policy.base_key in done else None,
                          replication=replication, present_keysets=present)

    return in_waves(upload_waves(plans), put, lambda plan: plan.policy.key, parallel)


def roll_back(run: RunContext, waves: Sequence[Sequence[RollbackStep]], parallel: int) -> tuple[list[str], str]:
    """Put the tenant back as plan_rollback says, `parallel` steps of a wave side by side, a wave after the one before:
    each policy uploaded again as the exact bytes the tenant answered before the run, each one the run created deleted.
    A step B2C refuses stops the waves after its own, as an upload does. Returns the ids undone, in their order, and
    what to say about it."""
    graph = policy_api(run)

    def undo(step: RollbackStep, _done: set[str]) -> None:
        if step.previous is None:
            with run.step(f"{step.policy_id} deleted (rollback)"):
                graph.delete(step.policy_id)
        else:
            with run.step(f"{step.policy_id} put back (rollback)"):
                graph.put_xml(step.policy_id, step.previous)

    steps = [step for wave in waves for step in wave]
    # any error of ours too (a token that cannot be renewed): the task must still say where the tenant stands
    done, failed, _not_attempted = in_waves(waves, undo, lambda step: step.key, parallel, catch=(UserError,))
    by_key = {step.key: step for step in steps}
    undone = [by_key[key].policy_id for key in done]
    if not failed:
        return undone, rolled_back_message(steps)
    versions = rollback_versions(steps, done, {key: getattr(error, "status", None) for key, error in failed.items()})
    return undone, rollback_failed_message(versions, {key: str(error) for key, error in failed.items()})


def delete_reported(run: RunContext, policy_id: str) -> bool:
    """Delete one policy, shown as it completes (see RunContext.step)."""
    with run.step(f"{policy_id} deleted"):
        return policy_api(run).delete(policy_id)


def in_waves(waves: Sequence[Sequence[T]], act: Callable[[T, set[str]], None], key: Callable[[T], str],
             parallel: int, catch: tuple[type[UserError], ...] = (GraphError,)
             ) -> tuple[list[str], dict[str, Any], set[str]]:
    """Act on wave after wave, a wave's items side by side; `act` also gets the keys done in earlier waves. When an
    item fails (one of the `catch` errors: Graph's, by default) the rest of its wave completes and later waves are not
    attempted. Returns the keys done (in the waves' order), the errors by key and the keys not attempted."""
    done: list[str] = []
    failed: dict[str, Any] = {}
    for index, wave in enumerate(waves):
        earlier = set(done)

        def attempt(item: T) -> UserError | None:
            try:
                act(item, earlier)
            except catch as exc:
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


def _remove_set(run: RunContext, levels: list[list[Policy]], listed: Sequence[str], parallel: int, writes: int,
                backup_dir: str | None, extra: list[str]) -> dict:
    """Delete the set's policies the tenant holds, what inherits first, `writes` deletions of a level side by side."""
    in_tenant = {policy_key(policy_id): policy_id for policy_id in listed}
    order = removal_order(levels)
    waves = [[policy for policy in level if policy.key in in_tenant] for level in order]
    check_before_writes(run, [], [policy.policy_id for wave in waves for policy in wave])
    stored: dict[str, bytes | None] = {}
    if run.diff or backup_dir:
        present = [policy for wave in waves for policy in wave]
        stored = dict(zip((policy.key for policy in present),
                          in_parallel(lambda policy: policy_api(run).get_xml(policy.policy_id), present, parallel)))
    backups = write_backups(run, backup_dir, [  # bases first: the order that puts them back
        (in_tenant[policy.key], stored[policy.key]) for wave in reversed(waves) for policy in wave if stored.get(policy.key)])
    if run.check_mode:
        deleted, failed, not_attempted = [policy.key for wave in waves for policy in wave], {}, set()
    else:
        deleted, failed, not_attempted = in_waves(
            waves, lambda policy, _done: delete_reported(run, in_tenant[policy.key]), lambda policy: policy.key, writes)
    backup_files = keep_backups(run, backups, set(deleted) | {
        key for key, error in failed.items() if write_may_have_landed(error.status)})

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
                               "deleted": [names[key] for key in deleted], "extra": extra, "backup_files": backup_files}
    if run.diff:
        outcome["diff"] = [policy_diff(names[key], stored.get(key), None, "tenant", "absent") for key in deleted]
    if failed:
        in_order = [policy for level in order for policy in level]
        raise TaskFailed(failure_message(
            [(policy, str(failed[policy.key])) for policy in in_order if policy.key in failed], outcome["deleted"],
            [names[policy.key] for policy in in_order if policy.key in not_attempted], verb="deleted"),
            {**outcome, **first_error(results)})
    return outcome


def read_extras(run: RunContext, extra: Sequence[str], pattern: str | None, policies: Sequence[Policy],
                parallel: int) -> tuple[list[list[str]], dict[str, bytes]]:
    """With prune: every extra read in parallel (the list gives ids only; their bases decide what may go and in which
    order) and the deletion waves planned; before any write. Without prune: no request at all."""
    if pattern is None or not extra:
        return [], {}
    contents = in_parallel(policy_api(run).get_xml, extra, parallel)
    stored = {policy_key(policy_id): content for policy_id, content in zip(extra, contents) if content is not None}
    waves = plan_prune(extra, {key: stored_facts(content)[1] for key, content in stored.items()}, pattern, policies)
    return waves, stored


def prune_extras(run: RunContext, waves: Sequence[Sequence[str]], stored: dict[str, bytes], writes: int,
                 outcome: dict[str, Any]) -> tuple[set[str], str | None]:
    """Delete the planned extras, what extends another first (check mode: only report them). Returns the keys of
    what may be gone (deleted, or a deletion without a sure answer) and, when the service refused one, the task's
    failure naming what was deleted and what was not attempted. Not rolled back: every upload succeeded before, and
    the plan deletes nothing a kept policy extends, so a prune stopped half-way leaves a consistent tenant."""
    if run.check_mode:
        deleted, failed, not_attempted = [policy_id for wave in waves for policy_id in wave], {}, set()
    else:
        deleted, failed, not_attempted = in_waves(waves, lambda policy_id, _done: delete_reported(run, policy_id),
                                                  lambda policy_id: policy_id, writes)
    outcome["pruned"] = deleted
    outcome["changed"] = outcome["changed"] or bool(deleted)
    if run.diff:
        outcome.setdefault("diff", []).extend(
            policy_diff(policy_id, stored.get(policy_key(policy_id)), None, "tenant", "pruned") for policy_id in deleted)
    gone = {policy_key(policy_id) for policy_id in deleted} | {
        policy_key(policy_id) for policy_id, error in failed.items() if write_may_have_landed(error.status)}
    if not failed:
        return gone, None
    stopped = "; ".join(f"{policy_id}: {error}" for policy_id, error in failed.items())
    left = [policy_id for wave in waves for policy_id in wave if policy_id in not_attempted]
    return gone, (f"prune: not deleted: {stopped}. Already deleted in this run: {', '.join(deleted) or 'none'}. "
                  f"Not attempted: {', '.join(left) or 'none'}.")


def write_backups(run: RunContext, directory: str | None, items: Sequence[tuple[str, bytes | None]]
                  ) -> list[tuple[str, str]]:
    """The tenant's copy of each policy about to be replaced or deleted, saved before the write (never in check mode):
    files named by policy id and the run's time stamp (names Windows accepts too), mode 0600, in `directory` (created
    0700 when missing). A backup that cannot be written stops the run before the write it protects. Returns (policy
    id, path) in the order of `items`; keep_backups then drops those of the writes that did not happen."""
    items = [(policy_id, content) for policy_id, content in items if content is not None]
    if directory is None or run.check_mode or not items:
        return []
    stamp = time.strftime(BACKUP_STAMP_FORMAT)
    written: list[tuple[str, str]] = []
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        for policy_id, content in items:
            for attempt in range(1000):
                path = os.path.join(directory, backup_name(policy_id, stamp, attempt))
                try:
                    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:
                    continue
                with os.fdopen(handle, "wb") as out:
                    out.write(content)
                written.append((policy_id, path))
                break
    except OSError as exc:
        done = ", ".join(path for _policy_id, path in written) or "none"
        raise PolicyError(f"backup_dir: cannot write a backup in {directory} ({exc.strerror}); nothing was changed in "
                          f"the tenant (backups written: {done})") from None
    return written


def keep_backups(run: RunContext, backups: Sequence[tuple[str, str]], written: Iterable[str]) -> list[str]:
    """The backups of the policies this run replaced or deleted (`written`: their keys), in their order; the others
    were written before writes that then did not happen (a refusal, or a wave never attempted), so their files go:
    backup_files and the directory then hold only what a restore needs."""
    written = set(written)
    kept = []
    for policy_id, path in backups:
        if policy_key(policy_id) in written:
            kept.append(path)
            continue
        try:
            os.remove(path)
        except OSError as exc:
            run.warn(f"backup_dir: could not remove {path}, the backup of {policy_id}, which this run did not change "
                     f"({exc.strerror}); delete it by hand")
    return kept


# ---- the tenant's list ------------------------------------------------------------------------------------------------
def policy_info(run: RunContext) -> dict:
    """b2c_policy_info: the tenant's policies, and with content their XML, read in parallel; with path, the drift of
    the tenant against that directory's set (ids only: no extra read)."""
    params = run.params
    parallel = parallel_option(params)
    wanted = policy_key(policy_id_option(params["policy"])) if params["policy"] is not None else None
    local = None
    if params.get("path") is not None:
        local = [parse_policy(content, source) for source, content in directory_sources(
            params["path"], params["pattern"], params.get("recursive", True), run.warn)]
    listed = policy_api(run).list_ids()
    drift = {} if local is None else {"extra": extra_ids(listed, local), "missing": missing_ids(listed, local)}
    ids = [policy_id for policy_id in listed if wanted in (None, policy_key(policy_id))]
    if not params["content"]:
        return {"changed": False, "policies": [{"id": policy_id} for policy_id in ids], **drift}
    contents = in_parallel(policy_api(run).get_xml, ids, parallel)
    policies = [{"id": policy_id, "content": content.decode("utf-8", "replace"), "base_policy": stored_facts(content)[1]}
                for policy_id, content in zip(ids, contents) if content is not None]  # deleted since the list: left out
    return {"changed": False, "policies": policies, **drift}
