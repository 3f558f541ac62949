# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Microsoft Graph calls for IEF custom policies (beta trustFrameworkPolicy), over the collection's one Graph client.

Internal use only: this module may change without notice.

Every call here is idempotent (GET, PUT of a whole policy, DELETE), so it goes through ``GraphClient.request``, which
retries throttling, unavailability and dropped connections. On top of that, an upload is sent again when B2C answers
one of the two refusals that are known to pass on a second try: its transient "Object reference not set" (reported by
users), and "base policy cannot be found" right after this run uploaded that base (a guess, modelled on the key sets'
replication delay; it cannot mask a base that is really missing, since this run has just put it there). A conflict
with another upload of the same policy (409) is never sent again: the other upload may hold the newer content.
"""

from __future__ import annotations

from urllib.parse import quote

from ansible_collections.entra.b2c.plugins.module_utils._core.graph import (
    GraphClient,
    GraphError,
    RetryBudget,
    backoff_seconds,
    read_capped,
)
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import MAX_POLICY_BYTES, UPLOAD_CONTENT_TYPE
from ansible_collections.entra.b2c.plugins.module_utils._policies.keysets import awaits_keyset_replication

POLICIES_PATH = "/trustFramework/policies"
XML = "application/xml"
# A policy as the tenant answers it is read up to this size: twice what B2C accepts for one file (room for the service
# writing back what it stored in its own form), and never without bound.
MAX_STORED_POLICY_BYTES = 2 * MAX_POLICY_BYTES
# Sent again after these refusals at most this many times, with the client's backoff between attempts.
UPLOAD_RETRIES = 3
TRANSIENT_TEXT = "object reference not set to an instance of an object"

POLICY_PERMISSION_HINT = (
    "the app registration needs the Microsoft Graph application permission Policy.ReadWrite.TrustFramework "
    "(Policy.Read.All is enough for reads) with admin consent in the B2C tenant; a signed-in admin also needs the "
    "Entra role B2C IEF Policy Administrator")
KEYSET_HINT = ("a key set the policy references (StorageReferenceId) does not exist: create it first, with "
               "entra.b2c.b2c_keyset_key or the policy_keys role, then run again")
CONFLICT_HINT = ("another upload changed this policy at the same moment, so this one was not stored and was not "
                 "retried; nothing else of this policy was changed: run again once the other deployment has finished")
BASE_HINT = ("the policy's BasePolicy is not in the tenant: upload the base first (entra.b2c.b2c_policies orders a set "
             "bases first), then run again")


def policy_path(policy_id: str, suffix: str = "") -> str:
    # The id is validated before use; quoting still guarantees it can never leave its path segment.
    return f"{POLICIES_PATH}/{quote(policy_id, safe='')}{suffix}"


def _missing(exc: GraphError) -> bool:
    # B2C answers a policy the tenant does not hold with 404 (code AADB2C, "cannot be found in the directory").
    return exc.status == 404


def _explained(exc: GraphError) -> GraphError:
    """The same error with a hint for the policy API's own causes (the transport gives none)."""
    text = exc.message.lower()
    if exc.status == 403:
        return exc.with_permission_hint(POLICY_PERMISSION_HINT)
    if exc.status == 400 and "storagereferenceid" in text:
        exc.hint = KEYSET_HINT
    elif exc.status in (400, 404) and "cannot be found in the directory" in text:
        exc.hint = BASE_HINT
    elif exc.status == 409:
        exc.hint = CONFLICT_HINT
    return exc


class PolicyGraph:
    """The policy requests of one tenant."""

    def __init__(self, client: GraphClient):
        self.client = client

    def list_ids(self) -> list[str]:
        """Every custom policy id of the tenant, as the service spells it, in its order."""
        try:
            return [item["id"] for item in self.client.list_items(POLICIES_PATH) if item.get("id")]
        except GraphError as exc:
            raise _explained(exc) from None

    def get_xml(self, policy_id: str) -> bytes | None:
        """The policy as ``$value`` answers it; None when the tenant has no such policy."""
        path = policy_path(policy_id, "/$value")
        try:
            response = self.client.request("GET", path, accept=XML, stream=True)
            return read_capped(response, MAX_STORED_POLICY_BYTES, f"Graph's answer to GET {path}")
        except GraphError as exc:
            if _missing(exc):
                return None
            raise _explained(exc) from None

    def put_xml(self, policy_id: str, body: bytes, base_just_uploaded: str | None = None,
                replication: RetryBudget | None = None, present_keysets: frozenset = frozenset()) -> None:
        """Create or replace a policy with ``body`` (UTF-8: see upload_body in _policies/policy.py), sent as it is.
        ``base_just_uploaded``: the id of its base when this run uploaded that base, so "base cannot be found" is taken
        for a service that has not caught up. ``replication`` (replication_budget of _keysets/api.py) with
        ``present_keysets`` (upper-case ids that exist or an earlier task ensures): an upload refused because B2C does
        not know such a key set yet is sent again within that budget, whose ``waited`` then says how long it took."""
        attempt = 0
        while True:
            try:
                self.client.request("PUT", policy_path(policy_id, "/$value"), body, UPLOAD_CONTENT_TYPE, accept=XML)
                return
            except GraphError as exc:
                if replication is not None and awaits_keyset_replication(exc, present_keysets):
                    gave_up = replication.wait_or_give_up(None, transport=False)
                    if gave_up is None:
                        continue
                    exc.retries = (f"the key set exists (listed in the tenant, or ensured by an earlier task) but B2C "
                                   f"has not made it usable for policies yet (created moments ago, or it holds no key "
                                   f"yet): {gave_up}; run again in a few minutes")
                    raise exc from None
                attempt += 1
                if attempt > UPLOAD_RETRIES or not _passes_on_retry(exc, base_just_uploaded):
                    raise _explained(exc) from None
            self.client.sleep(backoff_seconds(attempt, self.client.rand))

    def delete(self, policy_id: str) -> bool:
        """Delete a policy; False when the service says it does not exist (see GraphClient.delete)."""
        try:
            return self.client.delete(policy_path(policy_id), lambda: self.get_xml(policy_id) is None, _missing)
        except GraphError as exc:
            raise _explained(exc) from None


def _passes_on_retry(exc: GraphError, base_just_uploaded: str | None) -> bool:
    if exc.status != 400:
        return False
    text = exc.message.lower()
    if TRANSIENT_TEXT in text:
        return True
    return bool(base_just_uploaded) and "cannot be found in the directory" in text and \
        str(base_just_uploaded).lower() in text
