# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Key sets before policies: every key set an uploaded policy names in ``StorageReferenceId`` must exist in the tenant
or be ensured by an earlier task of the run (``ensured_keysets``), else the run is refused before any write, in check
mode too. One key set list settles it. A key set created moments ago may exist and still be refused by policy
validation until B2C has replicated it: such an upload is sent again within the replication budget key additions use.

Internal use only: this module may change without notice. The decisions are pure functions; ``check_keysets`` makes
the one list request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from ansible_collections.entra.b2c.plugins.module_utils._core.graph import GraphError
from ansible_collections.entra.b2c.plugins.module_utils._keysets.api import KeysetGraph
from ansible_collections.entra.b2c.plugins.module_utils._keysets.keys import keyset_id
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import Policy, PolicyError

ENSURED_SPEC = dict(ensured_keysets=dict(type="list", elements="str", default=[], no_log=False))

KEYSET_READ_PERMISSION = "TrustFrameworkKeySet.Read.All"
# B2C's refusal of a policy whose key set it does not know (MicrosoftDocs/azure-docs#20564, #27602):
#   Tenant "T" does not have CryptographicKey referenced by storageReferenceId "B2C_1A_X".
_REFUSED_KEYSET_RE = re.compile(r'CryptographicKey referenced by storageReferenceId\s*"([^"]+)"', re.IGNORECASE)


# ---- pure ---------------------------------------------------------------------------------------------------------
def ensured_keyset_ids(values: Iterable[str] | None) -> list[str]:
    """``ensured_keysets`` as service ids (``B2C_1A_`` added when missing); a bad name refused before any request."""
    return [keyset_id(value, f"ensured_keysets[{index}]") for index, value in enumerate(values or [])]


def missing_keysets(policies: Sequence[Policy], present: Iterable[str], ensured: Iterable[str]) -> dict[str, list[Policy]]:
    """The key sets the policies reference that are neither present nor ensured, each with the policies that name it,
    in the policies' order. Ids are compared ignoring case: refusing here what B2C would accept is the worse error."""
    known = {name.upper() for name in present} | {name.upper() for name in ensured}
    missing: dict[str, list[Policy]] = {}
    for policy in policies:
        for name in policy.key_sets:
            if name.upper() not in known:
                missing.setdefault(name, []).append(policy)
    return missing


def missing_lines(missing: Mapping[str, Sequence[Policy]]) -> list[str]:
    """One line per missing key set with the policies (and their files) that reference it."""
    return [f"{name}: referenced by {', '.join(policy.label for policy in policies)}" for name, policies in missing.items()]


def missing_message(missing: Mapping[str, Sequence[Policy]]) -> str:
    """The refusal: one line per missing key set, then what to do."""
    lines = missing_lines(missing)
    return (f"{len(missing)} key set(s) the policies reference (StorageReferenceId) do not exist in the tenant, so B2C "
            "would refuse their upload; nothing was written:\n" + "\n".join(lines) + "\n"
            "Create each first (entra.b2c.b2c_keyset_key, or the policy_keys role), or, when an earlier task of this "
            "run creates it, name it in ensured_keysets.")


def refused_keysets(message: str) -> list[str]:
    """The key sets an upload was refused for, as B2C names them."""
    return _REFUSED_KEYSET_RE.findall(message or "")


def awaits_keyset_replication(error: GraphError, present: Iterable[str]) -> bool:
    """Whether an upload's refusal is B2C not having replicated key sets that exist (listed by this run, or ensured by
    an earlier task of it): every key set it names is one of those."""
    if error.status != 400:
        return False
    names = refused_keysets(error.message)
    known = {name.upper() for name in present}
    return bool(names) and all(name.upper() in known for name in names)


# ---- the one request -------------------------------------------------------------------------------------------------
def check_keysets(run, policies: Sequence[Policy]) -> frozenset[str]:
    """Refuse, before any write, policies that name a key set the tenant does not have and no earlier task ensures.
    Returns the key set ids (upper case) known to exist or to be ensured, for the replication wait of uploads. Costs
    one key set list request when a policy references a key set that ensured_keysets does not name; an app that may not list key sets is warned about
    and not checked."""
    ensured = ensured_keyset_ids(run.params.get("ensured_keysets"))
    known = {name.upper() for name in ensured}
    if not missing_keysets(policies, (), ensured):  # none referenced, or every one ensured: no request
        return frozenset(known)
    try:
        listed = [item["id"] for item in run.api(KeysetGraph).list_keysets() if isinstance(item, dict) and item.get("id")]
    except GraphError as exc:
        if exc.status != 403:
            raise
        run.warn(f"the key sets the policies reference could not be checked: listing key sets needs the Microsoft "
                 f"Graph application permission {KEYSET_READ_PERMISSION}; B2C still refuses an upload whose key set "
                 "does not exist")
        return frozenset(known)
    missing = missing_keysets(policies, listed, ensured)
    if missing:
        raise PolicyError(missing_message(missing), missing_lines(missing))
    return frozenset(known | {name.upper() for name in listed})
