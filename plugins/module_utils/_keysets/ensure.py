# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Ensure one key set holds a key that satisfies a rule: the flow behind every module that adds keys.

Internal use only: this module may change without notice.

Flow, under the key set's lock: read the set, ask the rule whether a key satisfies, refuse what B2C would refuse,
create the set and add a key unless check mode (waiting for a set created moments ago to replicate), report public
facts. The rules (which key satisfies, how to add one)
are pure: WindowRule in _keysets/keys.py (generated keys and secrets), CertificateRule in _keysets/certs.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ansible_collections.entra.b2c.plugins.module_utils._core.context import RunContext
from ansible_collections.entra.b2c.plugins.module_utils._core.errors import TaskFailed
from ansible_collections.entra.b2c.plugins.module_utils._core.graph import GraphError
from ansible_collections.entra.b2c.plugins.module_utils._keysets.api import KeysetGraph, replication_facts
from ansible_collections.entra.b2c.plugins.module_utils._keysets.keys import (
    KeyInputError,
    KeyRule,
    WindowRule,
    build_request,
    keys_of,
    keyset_id,
    no_expiry_warning,
    public_facts,
)


@dataclass(frozen=True)
class KeyTarget:
    keyset_id: str
    create_keyset: bool
    rule: KeyRule


def key_target(options: Mapping, now: int, secret: str | None = None, always: bool = False) -> KeyTarget:
    """Validate one key set's options for a generated key (or, with secret, an uploaded one); no I/O. Raises
    KeyInputError naming the option."""
    request = build_request(options["use"], options["kty"], options.get("nbf"), options.get("exp"),
                            options.get("valid_for"), options.get("renew_before"), now)
    return KeyTarget(keyset_id(options["keyset"]), options["create_keyset"], WindowRule(request, secret, always))


def ensure_key(run: RunContext, target: KeyTarget, never_expiring: list | None = None) -> dict:
    """Run one target under the key set's lock; the result carries `diff` in diff mode.

    A key added (in check mode: planned) without an expiry is warned about here, or, when `never_expiring` is given,
    its key set is appended to it so that a caller handling many targets warns once for all of them.
    """
    unexpiring: list = [] if never_expiring is None else never_expiring
    with run.keyset_lock(target.keyset_id):
        result = _ensure_locked(run, target, unexpiring)
    if never_expiring is None and unexpiring:
        run.warn(no_expiry_warning(unexpiring, run.check_mode))
    diff = result.pop("diff")
    if run.diff:
        result["diff"] = diff
    return result


def _refuse(refusal: str | None) -> None:
    if refusal:
        raise KeyInputError(refusal)


def _ensure_locked(run: RunContext, target: KeyTarget, unexpiring: list) -> dict:
    client, rule, now = run.api(KeysetGraph), target.rule, run.now
    keyset = client.get_keyset(target.keyset_id)
    before_id = keyset["id"] if keyset else None
    keys_before = keys = keys_of(keyset)
    decision = rule.plan(keyset is not None, keys, now)
    result = {"changed": False, "keyset": before_id or target.keyset_id, "reason": decision.reason, **rule.facts()}

    def report(key: dict | None, keys_after: list, planned: dict | None = None) -> dict:
        listed = [public_facts(k) for k in keys_after]
        return dict(result, key=public_facts(key) if key else None, keyset_keys=listed, diff={
            "before": {"keyset": before_id, "keyset_keys": [public_facts(k) for k in keys_before]},
            "after": {"keyset": result["keyset"] if result["changed"] or before_id else None,
                      "keyset_keys": listed + ([planned] if planned else [])},
        })

    def satisfied(key: dict) -> dict:
        notice = rule.notice(key, result["keyset"])
        if notice:
            run.warn(notice)
        return report(key, keys)

    if not decision.generate:
        return satisfied(decision.key)
    _refuse(rule.conflict(keys, result["keyset"]))
    if keyset is None and not target.create_keyset:
        raise KeyInputError(f"keyset: {target.keyset_id} does not exist and create_keyset is false; create the key set "
                            f"first or set create_keyset: true")

    result["changed"] = True
    planned = rule.planned(now)
    if run.check_mode:
        if planned.get("exp") is None:
            unexpiring.append(result["keyset"])
        return report(None, keys, planned=planned)

    if keyset is None:
        with run.step(f"{target.keyset_id} created"):
            keyset = client.create_keyset(target.keyset_id)
        result["keyset"] = keyset.get("id") or target.keyset_id
        keys = keys_of(keyset)
        # Created concurrently elsewhere: its keys may already satisfy the rule, or conflict with it.
        decision = rule.plan(True, keys, now)
        if not decision.generate:
            result["reason"] = decision.reason
            return satisfied(decision.key)
        _refuse(rule.conflict(keys, result["keyset"]))

    def landed() -> dict | None:
        return rule.landed(keys, keys_of(client.get_keyset(result["keyset"])), now)

    # A set that did not exist when this run read it (created by the run, or concurrently) may refuse keys as missing
    # until B2C has replicated it: the POST waits for it then. A set that existed and is missing now was deleted.
    replication = client.replication_budget() if before_id is None else None
    try:
        with run.step(f"{result['keyset']}: key added with {rule.action}"):
            new_key = client.add_key(result["keyset"], rule.action, rule.body(now), landed, replication)
    except GraphError as exc:
        # Report what was done before the failure (a new key set), so the output tells a re-run will complete it.
        raise TaskFailed(str(exc), dict(result, changed=before_id is None, **replication_facts(replication)),
                         cause=exc) from exc
    result.update(replication_facts(replication))
    if planned.get("exp") is None:
        unexpiring.append(result["keyset"])
    return report(new_key, keys + [new_key])
