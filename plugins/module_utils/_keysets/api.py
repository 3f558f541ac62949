# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The key set API of one tenant (trustFramework/keySets), over the transport of _core/graph.py.

Internal use only: this module may change without notice.

What its answers mean: a missing key set reads as None, a 403 names the key set permission, a create that finds the
set already there returns it, and a key POST is reconciled with the key set (never sent again blindly: B2C keys cannot
be deleted).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from ansible_collections.entra.b2c.plugins.module_utils._core.graph import (
    REPLICATION_BUDGET,
    REPLICATION_MAX_ATTEMPTS,
    REPLICATION_PAUSE_CAP,
    Failure,
    GraphClient,
    GraphError,
    Landing,
    json_or_none,
    RetryBudget,
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


def keyset_path(keyset_id: str, suffix: str = "") -> str:
    # The id is validated before use; quoting still guarantees it can never leave its path segment.
    return f"{KEYSETS_PATH}/{quote(keyset_id, safe='')}{suffix}"


def _explained(exc: GraphError) -> GraphError:
    if exc.status == 403:
        exc.hint = PERMISSION_HINT
    return exc


class KeysetGraph:
    """The key set requests of one tenant."""

    def __init__(self, client: GraphClient):
        self.client = client

    def get_keyset(self, keyset_id: str) -> dict | None:
        try:
            return self.client.request_json("GET", keyset_path(keyset_id))
        except GraphError as exc:
            if exc.not_found:
                return None
            raise _explained(exc) from None

    def list_keysets(self) -> list:
        try:
            return self.client.list_items(KEYSETS_PATH)
        except GraphError as exc:
            raise _explained(exc) from None

    def replication_budget(self) -> RetryBudget:
        """The waiting allowed for a key set created moments ago to become usable (REPLICATION_BUDGET); `waited` tells
        afterwards how long that took."""
        return RetryBudget(self.client.sleep, self.client.rand, total=REPLICATION_BUDGET,
                           max_attempts=REPLICATION_MAX_ATTEMPTS, cap=REPLICATION_PAUSE_CAP)

    def create_keyset(self, name: str) -> dict:
        """Create an empty key set; an existing one (created concurrently, or by an attempt that landed) is returned.

        A duplicate create is refused (AADB2C95028), so resending is safe: after a failure that may have landed (no
        answer, or a 5xx answer) the set is read, and the POST sent again only if the set is not there.
        """
        call = self.client.call("POST", KEYSETS_PATH, {"id": name})
        while True:
            outcome = call.attempt()
            if not isinstance(outcome, Failure):
                return json_or_none(outcome) or {"id": name, "keys": []}
            if outcome.error.already_exists:
                return self._read_existing(name, outcome.error)
            try:
                existing = self.client.landed_or_wait(call, outcome, lambda: self.get_keyset(name))
            except GraphError as exc:
                raise _explained(exc) from None
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
            return self.client.delete(keyset_path(keyset_id), lambda: self.get_keyset(keyset_id) is None)
        except GraphError as exc:
            raise _explained(exc) from None

    def add_key(self, keyset_id: str, action: str, body: dict, landed: Callable[[], dict | None],
                replication: RetryBudget | None = None) -> dict:
        """POST a key-adding action (generateKey, uploadSecret, uploadCertificate, uploadPkcs12) and return the key.

        Each of these that lands adds a key, which B2C cannot delete, so a failure is reconciled with the key set
        (`landed` reads it and returns the key this POST added, or None) rather than sent again blindly, by
        GraphClient.post_once; `replication` given (the run created the set, or found it just created), a refusal as
        missing is B2C not having replicated it yet, and the POST is sent again within that budget.
        """
        try:
            key = self.client.post_once(keyset_path(keyset_id, "/" + action), body, landed, KEY_LANDING,
                                        replication=replication, missing_hint=MISSING_HINT)
            if not key.get("kid"):  # a success without the key in its answer: the key it added is read from the set
                key = landed() or key
        except GraphError as exc:
            raise _explained(exc) from None
        return key
