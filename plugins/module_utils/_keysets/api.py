# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The key set API of one tenant (trustFramework/keySets), over the transport of _core/graph.py.

Internal use only: this module may change without notice.

What its answers mean: a missing key set reads as None, a 403 names the key set permission, a create that finds the
set already there returns it, and a key POST is reconciled with the key set (never sent again blindly: B2C keys cannot
be deleted). B2C's error codes for key sets, and the wait for a key set created moments ago to replicate, live here:
the transport knows neither.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from ansible_collections.entra.b2c.plugins.module_utils._core.graph import (
    Failure,
    GraphClient,
    GraphError,
    Landing,
    RetryBudget,
    Transient,
    json_or_none,
)

KEYSETS_PATH = "/trustFramework/keySets"
PERMISSION_HINT = (
    "the app registration needs the Microsoft Graph application permission TrustFrameworkKeySet.ReadWrite.All "
    "(TrustFrameworkKeySet.Read.All is enough for reads) with admin consent in the B2C tenant; a signed-in admin also "
    "needs the Entra role B2C IEF Keyset Administrator")
MISSING_HINT = ("B2C does not know the key set (yet): it was deleted meanwhile, or created moments ago by another task "
                "or job and not replicated yet; run the task again in a minute")
KEY_LANDING = Landing(read="the key set", happened="a key may have been added", nothing="shows no new key",
                      still="add it", rerun="it reads the key set first and adds a key only if none landed")

# A missing key set: AADB2C90073 (not found) or AADB2C95052 (not created), with 400 or 404. Some B2C answers carry only
# the generic code "AADB2C", the meaning then only in the message text.
NOT_FOUND_CODES = ("AADB2C90073", "AADB2C95052")
GENERIC_B2C_CODE = "AADB2C"
GENERIC_NOT_FOUND_TEXTS = ("cannot be found", "is not created", "has not been created")
MISSING_STATUSES = (400, 404)
ALREADY_EXISTS_CODE = "AADB2C95028"
# A key set this run created (or found just created) answers key-adding POSTs "not created / not found" until B2C has
# replicated it: public deployment scripts wait 10 to 30 s. Its own budget, apart from throttling's, so that a busy
# tenant does not cut the wait short (and the reverse); short pauses, so the run does not oversleep the replication by
# more than a few seconds.
REPLICATION_BUDGET = 60.0
REPLICATION_PAUSE_CAP = 5.0
REPLICATION_MAX_ATTEMPTS = 30


def keyset_missing(exc: GraphError) -> bool:
    """Whether a refusal says the key set does not exist: B2C answers 400 (or 404), decided on the code, or on the
    text of a generic one; a plain 404 too."""
    if exc.code in NOT_FOUND_CODES:
        return True
    if exc.code == GENERIC_B2C_CODE:
        return any(text in exc.message.lower() for text in GENERIC_NOT_FOUND_TEXTS)
    return exc.status == 404 and exc.code in (None, "NotFound", "ResourceNotFound")


def already_exists(exc: GraphError) -> bool:
    """Whether a create was refused because the key set exists: AADB2C95028 with 400 (or 409), or the generic code
    with its text."""
    if exc.code == ALREADY_EXISTS_CODE or exc.status == 409:
        return True
    return exc.code == GENERIC_B2C_CODE and "already exists" in exc.message.lower()


def awaits_replication(failure: Failure) -> bool:
    """Whether a key POST into a set created moments ago failed because B2C has not replicated it yet: refused as
    missing (AADB2C95052 "not created", AADB2C90073 "cannot be found", or the generic code with that text). A gateway's
    504 is no refusal: the service may still be at work on the POST."""
    return failure.answered and keyset_missing(failure.error)


def replication_budget(client: GraphClient) -> RetryBudget:
    """The waiting allowed for a key set created moments ago to become usable (REPLICATION_BUDGET), by key POSTs and
    policy uploads alike; `waited` tells afterwards how long that took (replication_facts)."""
    return client.wait_budget(REPLICATION_BUDGET, REPLICATION_MAX_ATTEMPTS, REPLICATION_PAUSE_CAP)


def replication_facts(replication: RetryBudget | None) -> dict:
    """`replication_wait`, the seconds the run paused for a new key set to replicate, when it did (shown at -v)."""
    return {"replication_wait": round(replication.waited, 1)} if replication and replication.waited else {}


def _replication(budget: RetryBudget) -> Transient:
    # A read while waiting that answers "not found" shows no key (get_keyset: None): the set has not replicated for
    # reads either, and the POST is sent again.
    return Transient(awaits_replication, budget, lambda gave_up: (
        f"the key set exists (created moments ago) but B2C has not made it ready for keys yet: {gave_up}; no key was "
        f"added: run the task again in a few minutes"))


def _deleted_already(exc: GraphError) -> bool:
    return exc.status == 404 or keyset_missing(exc)


def keyset_path(keyset_id: str, suffix: str = "") -> str:
    # The id is validated before use; quoting still guarantees it can never leave its path segment.
    return f"{KEYSETS_PATH}/{quote(keyset_id, safe='')}{suffix}"


class KeysetGraph:
    """The key set requests of one tenant."""

    def __init__(self, client: GraphClient):
        self.client = client

    def get_keyset(self, keyset_id: str) -> dict | None:
        try:
            return self.client.request_json("GET", keyset_path(keyset_id))
        except GraphError as exc:
            if keyset_missing(exc):
                return None
            raise exc.with_permission_hint(PERMISSION_HINT) from None

    def list_keysets(self) -> list:
        try:
            return self.client.list_items(KEYSETS_PATH)
        except GraphError as exc:
            raise exc.with_permission_hint(PERMISSION_HINT) from None

    def replication_budget(self) -> RetryBudget:
        """replication_budget of this API's client: what add_key takes for a set created moments ago."""
        return replication_budget(self.client)

    def create_keyset(self, name: str) -> dict:
        """Create an empty key set; an existing one (created concurrently, or by an attempt that landed) is returned.

        A duplicate create is refused (AADB2C95028), so resending is safe: after a failure that may have landed (no
        answer, or a 5xx answer) the set is read, and the POST sent again only if the set is not there.
        """
        call = self.client.call("POST", KEYSETS_PATH, {"id": name})
        while True:
            outcome = call.attempt()
            if not isinstance(outcome, Failure):
                return json_or_none(outcome, f"Graph's answer to POST {KEYSETS_PATH}") or {"id": name, "keys": []}
            if already_exists(outcome.error):
                return self._read_existing(name, outcome.error)
            try:
                existing = self.client.landed_or_wait(call, outcome, lambda: self.get_keyset(name))
            except GraphError as exc:
                raise exc.with_permission_hint(PERMISSION_HINT) from None
            if existing is not None:
                return existing

    def _read_existing(self, name: str, refusal: GraphError) -> dict:
        """Read a set the service says exists. Created moments ago (concurrently, or by an attempt of ours that
        landed), it may not read yet while B2C replicates it: read again within the replication budget."""
        replication = self.replication_budget()
        while True:
            existing = self.get_keyset(name)
            if existing is not None:
                return existing
            gave_up = replication.wait_or_give_up(None, transport=False)
            if gave_up:
                refusal.retries = (f"yet reading it answers that it does not exist ({gave_up}): it was deleted "
                                   f"meanwhile, or B2C has not finished creating it; run the task again in a few minutes")
                raise refusal

    def delete_keyset(self, keyset_id: str) -> bool:
        """Delete a key set; False when the service says it does not exist (see GraphClient.delete)."""
        try:
            return self.client.delete(keyset_path(keyset_id), lambda: self.get_keyset(keyset_id) is None,
                                      _deleted_already)
        except GraphError as exc:
            raise exc.with_permission_hint(PERMISSION_HINT) from None

    def add_key(self, keyset_id: str, action: str, body: dict, landed: Callable[[], dict | None],
                replication: RetryBudget | None = None) -> dict:
        """POST a key-adding action (generateKey, uploadSecret, uploadCertificate, uploadPkcs12) and return the key.

        Each of these that lands adds a key, which B2C cannot delete, so a failure is reconciled with the key set
        (`landed` reads it and returns the key this POST added, or None) rather than sent again blindly, by
        GraphClient.post_once; `replication` given (the run created the set, or found it just created), a refusal as
        missing is B2C not having replicated it yet, and the POST is sent again within that budget. Without it, such a
        refusal fails at once with MISSING_HINT: a set that existed before the run and is missing now was deleted.
        """
        try:
            key = self.client.post_once(keyset_path(keyset_id, "/" + action), body, landed, KEY_LANDING,
                                        transient=_replication(replication) if replication is not None else None)
            if not key.get("kid"):  # a success without the key in its answer: the key it added is read from the set
                key = landed() or key
        except GraphError as exc:
            if replication is None and exc.status in MISSING_STATUSES and keyset_missing(exc):
                exc.hint = MISSING_HINT
            raise exc.with_permission_hint(PERMISSION_HINT) from None
        return key
