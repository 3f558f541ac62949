# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure reporting for the read-only modules: key and key set summaries, days to expiry, the expiring list.

Internal use only: this module may change without notice.

No I/O and no clock reads: callers pass ``now`` (integer epoch seconds), as in _keysets/keys.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ansible_collections.entra.b2c.plugins.module_utils._keysets.keys import (
    active_key,
    key_time,
    keys_of,
    public_facts,
    valid_now,
)

DAY = 86400
# B2C keeps a deleted key set's keys in `<id>.bak`; no policy uses such a set.
BACKUP_SUFFIX = ".bak"

REASON_EXPIRING = "expiring"
REASON_NO_VALID_KEY = "no_valid_key"


def expires_in_days(key: Mapping[str, Any], now: int) -> float | None:
    """Days from now until the key's exp, floored to 2 decimals; negative once expired, None without exp.

    Flooring (not rounding) keeps a key that expired a second ago negative (-0.01) instead of -0.0, and never shows
    more time left than there is.
    """
    exp = key_time(key.get("exp"))
    if exp is None:
        return None
    return ((exp - now) * 100 // DAY) / 100


def key_report(key: Mapping[str, Any], now: int) -> dict:
    """Public facts of a key plus expires_in_days."""
    facts = public_facts(key)
    facts["expires_in_days"] = expires_in_days(key, now)
    return facts


def is_backup(keyset_id: Any) -> bool:
    """True for the backup set the service keeps after a delete (``<id>.bak``)."""
    return isinstance(keyset_id, str) and keyset_id.endswith(BACKUP_SUFFIX)


def keyset_report(keyset: Mapping[str, Any], now: int) -> dict:
    """``{id, keyset_keys, active_key, valid}`` for one key set as Graph returned it."""
    keys = keys_of(keyset)
    active = active_key(keys, now)
    return {
        "id": keyset.get("id"),
        "keyset_keys": [key_report(key, now) for key in keys],
        "active_key": key_report(active, now) if active is not None else None,
        "valid": any(valid_now(key, now) for key in keys),
    }


def expiring_entry(keyset: Mapping[str, Any], within: int, now: int) -> dict | None:
    """Why a key set needs attention, or None when it does not.

    ``no_valid_key`` when no key is valid now; ``expiring`` when the active key's exp is at or before now + within
    (the same boundary as renew_before in b2c_keyset_key: a key set listed here is one that module would renew).
    Backup sets (``<id>.bak``) never need attention.
    """
    if is_backup(keyset.get("id")):
        return None
    active = active_key(keys_of(keyset), now)
    if active is None:
        return {"id": keyset.get("id"), "reason": REASON_NO_VALID_KEY, "active_key": None, "expires_in_days": None}
    exp = key_time(active.get("exp"))
    if exp is None or exp > now + within:
        return None
    report = key_report(active, now)
    return {"id": keyset.get("id"), "reason": REASON_EXPIRING, "active_key": report,
            "expires_in_days": report["expires_in_days"]}


def expiring(keysets: Iterable[Mapping[str, Any]], within: int, now: int) -> list:
    """The key sets that need attention within ``within`` seconds, in the order given."""
    entries = (expiring_entry(keyset, within, now) for keyset in keysets)
    return [entry for entry in entries if entry is not None]
