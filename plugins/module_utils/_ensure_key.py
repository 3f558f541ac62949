# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Ensure one key set holds a valid key: the runner behind b2c_keyset_key, b2c_keyset_keys and b2c_keyset_secret.

Internal use only: this module may change without notice.

Flow: read the set, plan with the pure layer, refuse what B2C would refuse, write unless check mode, report public
facts. The decisions themselves live in _keys.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from ansible_collections.entra.b2c.plugins.module_utils._graph import GraphError
from ansible_collections.entra.b2c.plugins.module_utils._keys import (
    KeyInputError,
    KeyRequest,
    build_request,
    conflict,
    find_landed,
    generate_body,
    keyset_id,
    plan,
    public_facts,
)


@dataclass(frozen=True)
class KeyTarget:
    keyset_id: str
    request: KeyRequest
    create_keyset: bool


def key_target(options: Mapping, now: int) -> KeyTarget:
    """Validate one key set's options (no I/O): raises KeyInputError naming the option."""
    return KeyTarget(
        keyset_id=keyset_id(options["keyset"]),
        request=build_request(options["use"], options["kty"], options.get("nbf"), options.get("exp"),
                              options.get("valid_for"), options.get("renew_before"), now),
        create_keyset=options["create_keyset"],
    )


@dataclass(frozen=True)
class KeyAction:
    """How a module adds a key (the Graph action and its body); the rest of the flow is shared."""

    name: str = "generateKey"
    body: Callable[[KeyRequest, int], dict] = generate_body
    always: bool = False  # add a key on every run, even when one qualifies (b2c_keyset_secret's update_secret)
    always_reason: str = "always"
    advise: Callable[[str], str] = staticmethod(lambda refusal: refusal)  # tailor B2C's refusal to the module


GENERATE = KeyAction()


def ensure_key(module, target: KeyTarget, action: KeyAction = GENERATE) -> dict:
    """Run one target under the key set's lock; the result always carries `diff` (callers drop it without --diff)."""
    with module.keyset_lock(target.keyset_id):
        return _ensure_locked(module, target, action)


def _ensure_locked(module, target: KeyTarget, action: KeyAction) -> dict:
    client = module.connect()
    request, now = target.request, module.now
    keyset = client.get_keyset(target.keyset_id)
    before_id = keyset["id"] if keyset else None
    keys_before = list(keyset.get("keys") or []) if keyset else []
    keys = keys_before
    decision = plan(keyset is not None, keys, request, now, target.keyset_id)
    needed = decision.generate or action.always
    reason = decision.reason if decision.generate or not action.always else action.always_reason
    result = {"changed": False, "keyset": before_id or target.keyset_id, "reason": reason}

    def report(key, keys_after, planned=None):
        facts = dict(result, key=public_facts(key) if key else None, keys=[public_facts(k) for k in keys_after])
        facts["keyset_keys"] = facts["keys"]  # dot-accessible in Jinja, where result.keys is the dict method
        facts["diff"] = {
            "before": {"keyset": before_id, "keys": [public_facts(k) for k in keys_before]},
            "after": {"keyset": result["keyset"] if result["changed"] or before_id else None,
                      "keys": facts["keys"] + ([planned] if planned else [])},
        }
        return facts

    def refuse_what_b2c_would_refuse(keyset_id: str) -> None:
        refusal: Optional[str] = conflict(keys, request, keyset_id)
        if refusal:
            raise KeyInputError(action.advise(refusal))

    if not needed:
        return report(decision.key, keys)
    refuse_what_b2c_would_refuse(result["keyset"])
    if keyset is None and not target.create_keyset:
        raise KeyInputError("keyset: %s does not exist and create_keyset is false; create the key set first or set "
                            "create_keyset: true" % target.keyset_id)

    result["changed"] = True
    body = action.body(request, now)
    if module.check_mode:
        planned = public_facts(body)  # never the private parts of the body (a secret's k)
        planned.setdefault("kty", request.kty)
        return report(None, keys, planned=planned)

    if keyset is None:
        keyset = client.create_keyset(target.keyset_id)
        result["keyset"] = keyset.get("id") or target.keyset_id
        keys = list(keyset.get("keys") or [])
        # Created concurrently elsewhere: its keys may already satisfy the request, or conflict with it.
        decision = plan(True, keys, request, now, result["keyset"])
        if not (decision.generate or action.always):
            return report(decision.key, keys)
        refuse_what_b2c_would_refuse(result["keyset"])

    def landed():
        current = client.get_keyset(result["keyset"])
        return find_landed(keys, (current or {}).get("keys") or [], request, now)

    try:
        new_key = client.add_key(result["keyset"], action.name, body, landed)
    except GraphError as exc:
        # Report what was done before the failure (a new key set), so the output tells a re-run will complete it.
        exc.result = dict(result, changed=before_id is None)
        raise
    return report(new_key, keys + [new_key])
