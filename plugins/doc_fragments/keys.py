# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The key set a module works on.
    DOCUMENTATION = r"""
options:
  keyset:
    description:
      - The key set id, with or without the C(B2C_1A_) prefix the service adds (V(TokenSigningKeyContainer) and
        V(B2C_1A_TokenSigningKeyContainer) name the same set).
      - 1 to 120 ASCII letters, digits, V(_), V(-) and V(.) after the optional prefix.
      - A name that carries the prefix twice, such as V(B2C_1A_B2C_1A_TokenSigningKeyContainer), is refused before
        any request, naming the set meant. Only O(entra.b2c.b2c_keyset#module:state=absent) and
        M(entra.b2c.b2c_keyset_info) take such a name, to remove or report a set so named.
    type: str
    required: true
    aliases: [name, keyset_id]
"""

    # Modules that add keys create the key set they need.
    CREATE = r"""
options:
  create_keyset:
    description:
      - Create the key set when it does not exist. With V(false) a missing key set is an error, before any write.
      - B2C refuses keys in a key set it created moments ago (AADB2C95052 or AADB2C90073) until it has replicated
        it. After creating the set (or finding it just created by another job), the module waits for that, up to
        about a minute, and reports how long in C(replication_wait).
      - A key set that existed before the run and refuses keys is not waited for (it was deleted meanwhile, or made
        moments ago by an earlier task), so let the module create its key sets rather than a separate
        M(entra.b2c.b2c_keyset) task right before.
    type: bool
    default: true
"""

    # When a new key becomes active and expires, and when an existing one stops counting.
    WINDOW = r"""
options:
  nbf:
    description:
      - Activation time of a new key, as epoch seconds or an ISO 8601 date or date-time (UTC unless an offset is
        given), for example V(2027-01-31) or V(2027-01-31T12:00:00+01:00). Defaults to now.
      - A future value prepares a key ahead of its activation; the run stays idempotent.
    type: raw
    aliases: [not_before]
  exp:
    description:
      - Expiry of a new key, in the same forms as O(nbf). Without O(exp) or O(valid_for) the key never expires.
      - Must lie after O(nbf) and in the future.
    type: raw
    aliases: [expires]
  valid_for:
    description:
      - Lifetime of a new key from its O(nbf), such as V(90d), V(12w), V(36h), V(45m), V(3600s) or a bare number of
        seconds. Mutually exclusive with O(exp).
    type: str
  renew_before:
    description:
      - A key that expires within this duration from S (now, or a future O(nbf)) no longer counts, so a successor is
        added ahead of time. Same forms as O(valid_for).
      - B2C switches to the newer key once it is active, so renewing a margin ahead avoids an outage.
    type: str
    default: "0"
"""

    # The permission of the key set modules (the custom policy modules need another: see the policies fragment).
    PERMISSION = r"""
options: {}
notes:
  - The app needs the Microsoft Graph application permission C(TrustFrameworkKeySet.ReadWrite.All)
    (C(TrustFrameworkKeySet.Read.All) for read-only modules) with admin consent; a signed-in admin also needs the Entra
    role B2C IEF Keyset Administrator.
"""
