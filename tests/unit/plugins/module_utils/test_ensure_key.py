# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The key-adding flow (plugins/module_utils/_keysets/ensure.py) against a fake run context and a fake Graph client.

B2C keys can never be deleted, so every test here checks which requests the flow sends, in what order, and that it
sends none where it must not. The fake client keeps its key sets in memory and behaves like GraphClient where the flow
can tell: a missing set reads as None, ids ignore case, add_key answers with the new key as Graph does (private parts
included here, to prove the flow never reports them), calls `landed` after a lost answer, and pauses on a
`replication` budget while a new set refuses keys as missing.
"""

from __future__ import annotations

import base64
import contextlib
import copy

import pytest

from ansible_collections.entra.b2c.plugins.module_utils._keysets.certs import (
    UPLOADED_ADVICE,
    Certificate,
    CertificateRule,
    certificate_upload,
    pkcs12_upload,
    thumbprint,
)
from ansible_collections.entra.b2c.plugins.module_utils._keysets.ensure import KeyTarget, ensure_key, key_target
from ansible_collections.entra.b2c.plugins.module_utils._core.errors import TaskFailed
from ansible_collections.entra.b2c.plugins.module_utils._core.graph import GraphError, RetryBudget
from ansible_collections.entra.b2c.plugins.module_utils._keysets.api import (
    REPLICATION_BUDGET,
    REPLICATION_MAX_ATTEMPTS,
    REPLICATION_PAUSE_CAP,
)
from ansible_collections.entra.b2c.plugins.module_utils._keysets.keys import PRIVATE_FIELDS, KeyInputError, no_expiry_warning

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z
DAY = 86400
KEYSET = "B2C_1A_Signing"
SECRET = "s3cr3t-value-never-shown"
PASSWORD = "pfx-password-never-shown"
DER = b"0\x82 not a real certificate, the rule never parses it"
CERTIFICATE = Certificate(der=DER, thumbprint=thumbprint(DER), not_before=NOW - DAY, not_after=NOW + 365 * DAY,
                          subject="CN=unit.example")
PRIVATE_RSA = {"d": "private-d", "p": "private-p", "q": "private-q", "dp": "private-dp", "dq": "private-dq",
               "qi": "private-qi"}


def rsa_key(kid, nbf=NOW - 10 * DAY, exp=NOW + 300 * DAY, use="sig", status=None):
    """A key as Graph lists it, with private parts a careless server might send."""
    key = {"kid": kid, "use": use, "kty": "RSA", "nbf": nbf, "exp": exp, "n": f"modulus-of-{kid}", "e": "AQAB",
           **PRIVATE_RSA}
    if exp is None:
        del key["exp"]
    if status:
        key["status"] = status
    return key


def oct_key(kid, nbf=NOW - 10 * DAY, exp=NOW + 300 * DAY, use="sig"):
    return {"kid": kid, "use": use, "kty": "oct", "nbf": nbf, "exp": exp, "k": f"private-k-of-{kid}"}


class FakeClient:
    """Key sets in memory, every call recorded (in `events`, shared with the run, and in `adds`)."""

    def __init__(self, *keysets):
        self.keysets = {keyset["id"].lower(): copy.deepcopy(keyset) for keyset in keysets}
        self.events = []
        self.adds = []  # (keyset_id, action, body, replication) of each add_key
        self.sleeps = []  # the replication budget's pauses
        self.bundles = {}  # base64 PKCS#12 bundle -> the Certificate in it (the fake does not parse bundles)
        self.created_elsewhere = None  # a set another job creates between this run's read and its create
        self.refusals = 0  # how many key POSTs a new set refuses as missing before it has replicated
        self.answer = "ok"  # "ok", "lost" (the key lands, the answer is lost), "lost-unlanded" (neither)
        self.failure = None  # a GraphError the key POST raises, having added nothing
        self.serial = 0

    def get_keyset(self, keyset_id):
        self.events.append(("get_keyset", keyset_id))
        keyset = self.keysets.get(keyset_id.lower())
        return copy.deepcopy(keyset)

    def create_keyset(self, name):
        self.events.append(("create_keyset", name))
        if self.created_elsewhere is not None:  # AADB2C95028: the client reads and returns the existing set
            self.keysets[name.lower()] = copy.deepcopy(self.created_elsewhere)
        else:
            self.keysets.setdefault(name.lower(), {"id": name, "keys": []})
        return copy.deepcopy(self.keysets[name.lower()])

    def replication_budget(self):
        self.events.append(("replication_budget",))
        # GraphClient's own budget, with no real sleep and no jitter (rand 1.0: pauses of 1, 2, 4, 5, 5... s).
        return RetryBudget(self.sleeps.append, lambda: 1.0, total=REPLICATION_BUDGET, max_attempts=REPLICATION_MAX_ATTEMPTS,
                           cap=REPLICATION_PAUSE_CAP)

    def add_key(self, keyset_id, action, body, landed, replication=None):
        self.events.append(("add_key", keyset_id, action))
        self.adds.append((keyset_id, action, copy.deepcopy(body), replication))
        while self.refusals:
            refusal = GraphError("The key set has not been created yet", status=400, code="AADB2C95052")
            if replication is None:  # a set that existed and is missing now was deleted: not waited for
                raise refusal
            gave_up = replication.wait_or_give_up(None, transport=False)
            if gave_up:
                refusal.retries = gave_up
                raise refusal
            self.refusals -= 1
            found = landed()
            if found is not None:
                return found
        if self.failure is not None:
            raise self.failure
        if self.answer == "lost-unlanded":  # no answer and nothing landed: GraphClient never sends it again
            found = landed()
            if found is None:
                raise GraphError("POST timed out")
            return found
        key = self._new_key(action, body)
        self.keysets[keyset_id.lower()]["keys"].append(key)
        if self.answer == "lost":
            found = landed()
            if found is None:
                raise GraphError("POST timed out")
            return found
        return copy.deepcopy(key)

    def _new_key(self, action, body):
        self.serial += 1
        kid = f"new-{self.serial}"
        times = {name: body[name] for name in ("nbf", "exp") if name in body}
        if action == "generateKey":
            extra = {"n": f"modulus-of-{kid}", "e": "AQAB", **PRIVATE_RSA} if body["kty"] == "RSA" else {"k": "generated-k"}
            return {"kid": kid, "use": body["use"], "kty": body["kty"], **times, **extra}
        if action == "uploadSecret":
            return {"kid": kid, "use": body["use"], "kty": "oct", **times, "k": body["k"]}
        # An uploaded certificate: B2C makes it an RSA sig key with the certificate's window and thumbprint.
        der = self.bundles[body["key"]].der if action == "uploadPkcs12" else base64.b64decode(body["key"])
        return {"kid": kid, "use": "sig", "kty": "RSA", "nbf": CERTIFICATE.not_before, "exp": CERTIFICATE.not_after,
                "x5t": thumbprint(der),
                "x5c": [base64.b64encode(der).decode("ascii")], "n": f"modulus-of-{kid}", "e": "AQAB", **PRIVATE_RSA}


class FakeRun:
    """The members of a run (GraphModule today, a run context next) that ensure_key uses."""

    def __init__(self, client, check_mode=False, diff=False, now=NOW):
        self.client = client
        self.check_mode = check_mode
        self.diff = diff
        self._diff = diff  # what GraphModule calls it
        self.now = now
        self.warnings = []
        self.events = client.events

    def warn(self, message):
        self.warnings.append(message)

    def connect(self):
        return self.client

    def api(self, _factory):  # the key set API
        return self.client

    @contextlib.contextmanager
    def step(self, done):
        yield
        self.events.append(("done", done))

    @contextlib.contextmanager
    def keyset_lock(self, keyset_id):
        self.events.append(("lock", keyset_id))
        try:
            yield
        finally:
            self.events.append(("unlock", keyset_id))


def options(**overrides):
    """The options of b2c_keyset_key (after argument parsing) for the key set Signing."""
    return {"keyset": "Signing", "use": "sig", "kty": "RSA", "nbf": None, "exp": None, "valid_for": "365d",
            "renew_before": "30d", "create_keyset": True, **overrides}


def target(**overrides):
    return key_target(options(**overrides), NOW)


def secret_target(always=False, **overrides):
    return key_target(options(**{"use": "enc", **overrides, "kty": "oct"}), NOW, secret=SECRET, always=always)


def writes(client):
    return [event for event in client.events if event[0] in ("create_keyset", "add_key")]


def walk_keys(value):
    """Every dict key anywhere in a result."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield name
            yield from walk_keys(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from walk_keys(item)


def assert_no_private_material(result):
    assert not set(walk_keys(result)) & set(PRIVATE_FIELDS)
    shown = repr(result)
    for secret in (*PRIVATE_RSA.values(), "private-k-of", "generated-k", SECRET, PASSWORD):
        assert secret not in shown


# -- nothing to do ---------------------------------------------------------------------------------------------------

def test_a_valid_key_present_sends_no_write():
    client = FakeClient({"id": KEYSET, "keys": [rsa_key("old", exp=NOW - DAY), rsa_key("valid")]})
    run = FakeRun(client)
    result = ensure_key(run, target())
    assert writes(client) == []
    assert result["changed"] is False
    assert result["reason"] == "valid"
    assert result["keyset"] == KEYSET
    assert result["key"]["kid"] == "valid"
    assert [key["kid"] for key in result["keyset_keys"]] == ["old", "valid"]
    assert run.warnings == []


def test_the_key_set_is_named_as_the_service_names_it():
    client = FakeClient({"id": KEYSET, "keys": []})
    result = ensure_key(FakeRun(client), target(keyset="b2c_1a_SIGNING"))
    assert result["keyset"] == KEYSET
    assert client.adds[0][0] == KEYSET


# -- adding a key ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("keys, reason", [
    ([], "no_key"),
    ([rsa_key("disabled", status="disabled")], "no_key"),
    ([rsa_key("expired", nbf=NOW - 400 * DAY, exp=NOW - DAY)], "expired"),
    ([rsa_key("expiring", exp=NOW + 10 * DAY)], "expiring"),
    ([rsa_key("later", nbf=NOW + 5 * DAY)], "not_yet_valid"),
])
def test_a_missing_or_unfit_key_is_added_once(keys, reason):
    client = FakeClient({"id": KEYSET, "keys": keys})
    result = ensure_key(FakeRun(client), target())
    assert client.adds == [(KEYSET, "generateKey", {"use": "sig", "kty": "RSA", "nbf": NOW, "exp": NOW + 365 * DAY}, None)]
    assert writes(client) == [("add_key", KEYSET, "generateKey")]
    assert result["changed"] is True
    assert result["reason"] == reason
    assert result["key"]["kid"] == "new-1"
    assert result["key"]["exp"] == NOW + 365 * DAY
    assert [key["kid"] for key in result["keyset_keys"]] == [key["kid"] for key in keys] + ["new-1"]
    assert "replication_wait" not in result


def test_a_given_nbf_and_exp_make_the_body():
    client = FakeClient({"id": KEYSET, "keys": []})
    ensure_key(FakeRun(client), target(use="ENC", kty="rsa", nbf=NOW + DAY, exp=NOW + 90 * DAY, valid_for=None,
                                       renew_before=None))
    assert client.adds[0][1:3] == ("generateKey", {"use": "enc", "kty": "RSA", "nbf": NOW + DAY, "exp": NOW + 90 * DAY})


def test_a_secret_is_uploaded_and_never_reported():
    client = FakeClient({"id": KEYSET, "keys": [oct_key("expired", use="enc", exp=NOW - DAY)]})
    run = FakeRun(client, diff=True)
    result = ensure_key(run, secret_target())
    assert client.adds == [(KEYSET, "uploadSecret", {"use": "enc", "nbf": NOW, "exp": NOW + 365 * DAY, "k": SECRET}, None)]
    assert result["reason"] == "expired"
    assert result["key"]["kty"] == "oct"
    assert_no_private_material(result)
    assert_no_private_material(run.warnings)


def test_update_secret_always_uploads_even_beside_a_valid_secret():
    client = FakeClient({"id": KEYSET, "keys": [oct_key("valid", use="enc")]})
    result = ensure_key(FakeRun(client), secret_target(always=True))
    assert [add[1] for add in client.adds] == ["uploadSecret"]
    assert result["changed"] is True
    assert result["reason"] == "update_secret"


def test_a_lost_answer_is_reconciled_with_the_key_that_landed():
    client = FakeClient({"id": KEYSET, "keys": [rsa_key("expired", exp=NOW - DAY)]})
    client.answer = "lost"
    result = ensure_key(FakeRun(client), target())
    assert len(client.adds) == 1
    assert result["key"]["kid"] == "new-1"  # the new key, not the expired one the set held before
    assert [key["kid"] for key in client.keysets[KEYSET.lower()]["keys"]] == ["expired", "new-1"]


def test_a_lost_answer_beside_a_valid_key_finds_the_new_key_not_the_one_held_before():
    # update_secret: always adds beside a key that satisfies, and that B2C would rank above the new one.
    held = oct_key("held", use="enc", nbf=NOW, exp=NOW + 400 * DAY)
    client = FakeClient({"id": KEYSET, "keys": [held]})
    client.answer = "lost"
    result = ensure_key(FakeRun(client), secret_target(always=True))
    assert len(client.adds) == 1
    assert result["key"]["kid"] == "new-1"


def test_a_lost_answer_with_no_key_landed_fails_without_sending_again():
    client = FakeClient({"id": KEYSET, "keys": [rsa_key("expired", exp=NOW - DAY)]})
    client.answer = "lost-unlanded"
    with pytest.raises(TaskFailed) as caught:  # Graph's refusal, with the result of what was done
        ensure_key(FakeRun(client), target())
    assert len(client.adds) == 1
    assert isinstance(caught.value.__cause__, GraphError)
    assert caught.value.result["changed"] is False


# -- missing key sets ------------------------------------------------------------------------------------------------

def test_a_missing_key_set_is_created_then_given_a_key():
    client = FakeClient()
    result = ensure_key(FakeRun(client), target())
    assert writes(client) == [("create_keyset", "B2C_1A_Signing"), ("add_key", "B2C_1A_Signing", "generateKey")]
    assert isinstance(client.adds[0][3], RetryBudget)  # a new set may refuse keys until it has replicated
    assert result["changed"] is True
    assert result["reason"] == "keyset_missing"
    assert result["keyset"] == "B2C_1A_Signing"
    assert [key["kid"] for key in result["keyset_keys"]] == ["new-1"]
    assert "replication_wait" not in result


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_missing_key_set_with_create_keyset_false_is_refused_before_any_write(check_mode):
    client = FakeClient()
    with pytest.raises(KeyInputError, match="create_keyset"):
        ensure_key(FakeRun(client, check_mode=check_mode), target(create_keyset=False))
    assert writes(client) == []


def test_a_key_set_created_concurrently_with_a_valid_key_gets_no_other():
    client = FakeClient()
    client.created_elsewhere = {"id": KEYSET, "keys": [rsa_key("theirs")]}
    result = ensure_key(FakeRun(client), target())
    assert writes(client) == [("create_keyset", KEYSET)]
    assert result["reason"] == "valid"
    assert result["key"]["kid"] == "theirs"
    # The run cannot tell its create from the other job's (a duplicate create returns the existing set).
    assert result["changed"] is True


def test_a_key_set_created_concurrently_with_keys_of_another_kind_is_refused_before_adding():
    client = FakeClient()
    client.created_elsewhere = {"id": KEYSET, "keys": [oct_key("theirs", exp=NOW - DAY)]}
    with pytest.raises(KeyInputError, match="AADB2C95032"):
        ensure_key(FakeRun(client), target())
    assert writes(client) == [("create_keyset", KEYSET)]


def test_the_replication_wait_is_reported():
    client = FakeClient()
    client.refusals = 2
    result = ensure_key(FakeRun(client), target())
    assert len(client.sleeps) == 2
    assert result["replication_wait"] == round(sum(client.sleeps), 1) > 0
    assert [key["kid"] for key in result["keyset_keys"]] == ["new-1"]


def test_a_set_that_existed_gets_no_replication_budget():
    client = FakeClient({"id": KEYSET, "keys": []})
    client.refusals = 1  # missing now: deleted meanwhile, so not waited for
    with pytest.raises(TaskFailed) as caught:  # Graph's refusal, with the result of what was done
        ensure_key(FakeRun(client), target())
    assert ("replication_budget",) not in client.events
    assert client.adds[0][3] is None
    assert client.sleeps == []
    assert "replication_wait" not in caught.value.result


# -- refusals --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("held, wanted, code", [
    (oct_key("held"), {}, "AADB2C95032"),
    (rsa_key("held", use="enc"), {}, "AADB2C95042"),
    (rsa_key("held"), {"kty": "oct"}, "AADB2C95032"),
])
@pytest.mark.parametrize("check_mode", [False, True])
def test_a_conflict_is_refused_before_any_write(held, wanted, code, check_mode):
    held = dict(held, exp=NOW - DAY)  # even an expired key of another kind blocks the set
    client = FakeClient({"id": KEYSET, "keys": [held]})
    with pytest.raises(KeyInputError, match=code) as caught:
        ensure_key(FakeRun(client, check_mode=check_mode), target(**wanted))
    assert KEYSET in str(caught.value)
    assert writes(client) == []


# -- check mode and diff ---------------------------------------------------------------------------------------------

def test_check_mode_plans_a_key_set_and_key_without_writing():
    client = FakeClient()
    result = ensure_key(FakeRun(client, check_mode=True, diff=True), target())
    assert writes(client) == []
    assert ("replication_budget",) not in client.events
    assert result["changed"] is True
    assert result["reason"] == "keyset_missing"
    assert result["key"] is None
    assert result["diff"]["before"] == {"keyset": None, "keyset_keys": []}
    assert result["diff"]["after"]["keyset"] == "B2C_1A_Signing"
    [planned] = result["diff"]["after"]["keyset_keys"]
    assert {name: planned[name] for name in ("use", "kty", "nbf", "exp")} == {
        "use": "sig", "kty": "RSA", "nbf": NOW, "exp": NOW + 365 * DAY}
    assert planned["expires"] == "2028-01-15T08:00:00Z"


def test_check_mode_plans_a_key_beside_those_held():
    expired = rsa_key("expired", exp=NOW - DAY)
    client = FakeClient({"id": KEYSET, "keys": [expired]})
    result = ensure_key(FakeRun(client, check_mode=True, diff=True), target())
    assert writes(client) == []
    assert result["changed"] is True
    assert result["reason"] == "expired"
    assert [key["kid"] for key in result["keyset_keys"]] == ["expired"]
    assert [key.get("kid") for key in result["diff"]["after"]["keyset_keys"]] == ["expired", None]
    assert result["diff"]["before"]["keyset"] == KEYSET


def test_check_mode_plans_a_secret_without_showing_it():
    client = FakeClient({"id": KEYSET, "keys": []})
    result = ensure_key(FakeRun(client, check_mode=True, diff=True), secret_target())
    assert writes(client) == []
    assert result["diff"]["after"]["keyset_keys"][0]["kty"] == "oct"
    assert_no_private_material(result)


@pytest.mark.parametrize("diff", [False, True])
def test_diff_is_returned_only_in_diff_mode(diff):
    client = FakeClient({"id": KEYSET, "keys": [rsa_key("expired", exp=NOW - DAY)]})
    result = ensure_key(FakeRun(client, diff=diff), target())
    assert ("diff" in result) is diff
    if diff:
        assert [key["kid"] for key in result["diff"]["before"]["keyset_keys"]] == ["expired"]
        assert [key["kid"] for key in result["diff"]["after"]["keyset_keys"]] == ["expired", "new-1"]


def test_no_write_and_no_change_in_diff_when_a_valid_key_is_present():
    client = FakeClient({"id": KEYSET, "keys": [rsa_key("valid")]})
    result = ensure_key(FakeRun(client, check_mode=True, diff=True), target())
    assert result["changed"] is False
    assert result["diff"]["before"] == result["diff"]["after"]


# -- the no-expiry warning -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("check_mode", [False, True])
def test_a_key_without_expiry_is_warned_about_once(check_mode):
    client = FakeClient()
    run = FakeRun(client, check_mode=check_mode)
    ensure_key(run, target(valid_for=None, renew_before=None))
    assert run.warnings == [no_expiry_warning(["B2C_1A_Signing"], check_mode)]


def test_keys_without_expiry_are_collected_when_the_caller_warns():
    never_expiring = ["B2C_1A_Earlier"]
    client = FakeClient()
    run = FakeRun(client)
    ensure_key(run, target(valid_for=None, renew_before=None), never_expiring)
    assert never_expiring == ["B2C_1A_Earlier", "B2C_1A_Signing"]
    assert run.warnings == []


@pytest.mark.parametrize("keys, overrides", [
    ([], {}),  # a key with an expiry
    ([rsa_key("forever", exp=None)], {"valid_for": None, "renew_before": None}),  # nothing added
])
def test_no_expiry_warning_when_no_unexpiring_key_is_added(keys, overrides):
    never_expiring = []
    run = FakeRun(FakeClient({"id": KEYSET, "keys": keys}))
    ensure_key(run, target(**overrides))
    ensure_key(run, target(**overrides), never_expiring)
    assert run.warnings == []
    assert never_expiring == []


# -- failures --------------------------------------------------------------------------------------------------------

def test_a_failed_add_after_creating_the_key_set_reports_the_new_set():
    client = FakeClient()
    client.failure = GraphError("Bad request", status=400, code="AADB2C99999")
    run = FakeRun(client, diff=True)
    with pytest.raises(TaskFailed) as caught:  # Graph's refusal, with the result of what was done
        ensure_key(run, target())
    assert isinstance(caught.value.__cause__, GraphError)
    assert caught.value.result["changed"] is True
    assert caught.value.result["keyset"] == "B2C_1A_Signing"
    assert caught.value.result["reason"] == "keyset_missing"
    assert len(client.adds) == 1
    assert run.events[-1] == ("unlock", "B2C_1A_Signing")


@pytest.mark.parametrize("make_target, held", [
    (target, rsa_key("expired", exp=NOW - DAY)),
    (secret_target, oct_key("expired", use="enc", exp=NOW - DAY)),
])
def test_a_failed_add_to_a_set_that_existed_reports_no_change(make_target, held):
    client = FakeClient({"id": KEYSET, "keys": [held]})
    client.failure = GraphError("Bad request", status=400, code="AADB2C99999")
    with pytest.raises(TaskFailed) as caught:  # Graph's refusal, with the result of what was done
        ensure_key(FakeRun(client), make_target())
    assert isinstance(caught.value.__cause__, GraphError)
    assert caught.value.result["changed"] is False
    assert caught.value.result["keyset"] == KEYSET
    assert_no_private_material(caught.value.result)


def test_a_new_set_that_never_replicates_reports_the_wait_and_the_new_set():
    client = FakeClient()
    client.refusals = 1000
    with pytest.raises(TaskFailed) as caught:  # Graph's refusal, with the result of what was done
        ensure_key(FakeRun(client), target())
    assert isinstance(caught.value.__cause__, GraphError)
    assert caught.value.result["changed"] is True
    assert caught.value.result["replication_wait"] == round(sum(client.sleeps), 1) > 0
    assert len(client.adds) == 1
    assert client.keysets["b2c_1a_signing"]["keys"] == []


# -- the lock --------------------------------------------------------------------------------------------------------

def test_the_lock_spans_the_read_decide_write():
    client = FakeClient()
    run = FakeRun(client)
    ensure_key(run, target())
    assert run.events == [
        ("lock", "B2C_1A_Signing"),
        ("get_keyset", "B2C_1A_Signing"),
        ("create_keyset", "B2C_1A_Signing"),
        ("done", "B2C_1A_Signing created"),  # each write reported as it completes
        ("replication_budget",),
        ("add_key", "B2C_1A_Signing", "generateKey"),
        ("done", "B2C_1A_Signing: key added with generateKey"),
        ("unlock", "B2C_1A_Signing"),
    ]


def test_the_lock_is_released_after_a_refusal():
    client = FakeClient({"id": KEYSET, "keys": [oct_key("held")]})
    run = FakeRun(client)
    with pytest.raises(KeyInputError):
        ensure_key(run, target())
    assert run.events == [("lock", "B2C_1A_Signing"), ("get_keyset", "B2C_1A_Signing"), ("unlock", "B2C_1A_Signing")]


# -- private material ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.parametrize("keys", [[], [rsa_key("valid")], [rsa_key("expired", exp=NOW - DAY), rsa_key("disabled", status="disabled")]])
def test_results_never_hold_private_key_material(keys, check_mode):
    run = FakeRun(FakeClient({"id": KEYSET, "keys": keys}), check_mode=check_mode, diff=True)
    result = ensure_key(run, target())
    added = 1 if result["changed"] and not check_mode else 0
    assert len(result["keyset_keys"]) == len(keys) + added
    assert_no_private_material(result)
    assert_no_private_material(run.warnings)


# -- certificates (b2c_keyset_certificate's rule) --------------------------------------------------------------------

def certificate_key(kid, status=None, padded=False):
    key = {"kid": kid, "use": "sig", "kty": "RSA", "nbf": CERTIFICATE.not_before, "exp": CERTIFICATE.not_after,
           "x5t": CERTIFICATE.thumbprint + ("=" if padded else ""), "n": "modulus", "e": "AQAB", **PRIVATE_RSA}
    if status:
        key["status"] = status
    return key


def certificate_target(upload=None, create_keyset=True):
    return KeyTarget(KEYSET, create_keyset, CertificateRule(upload or certificate_upload(CERTIFICATE)))


def test_a_certificate_already_held_is_not_uploaded_again():
    client = FakeClient({"id": KEYSET, "keys": [rsa_key("other"), certificate_key("held", padded=True)]})
    run = FakeRun(client)
    result = ensure_key(run, certificate_target())
    assert writes(client) == []
    assert result["changed"] is False
    assert result["reason"] == "valid"
    assert result["key"]["kid"] == "held"
    assert result["thumbprint"] == CERTIFICATE.thumbprint
    assert run.warnings == []


def test_a_disabled_key_with_the_certificate_is_warned_about_not_uploaded_again():
    client = FakeClient({"id": KEYSET, "keys": [certificate_key("held", status="disabled")]})
    run = FakeRun(client)
    result = ensure_key(run, certificate_target())
    assert writes(client) == []
    assert result["changed"] is False
    [warning] = run.warnings
    assert "held" in warning and "disabled" in warning and KEYSET in warning


def test_a_certificate_not_held_is_uploaded_once():
    client = FakeClient({"id": KEYSET, "keys": [rsa_key("other")]})
    result = ensure_key(FakeRun(client), certificate_target())
    assert client.adds == [(KEYSET, "uploadCertificate", {"key": base64.b64encode(DER).decode("ascii")}, None)]
    assert result["changed"] is True
    assert result["reason"] == "no_key"
    assert result["key"]["x5t"] == CERTIFICATE.thumbprint
    assert_no_private_material(result)


def test_a_pkcs12_bundle_is_uploaded_and_its_password_never_reported():
    bundle = b"not a real bundle"
    upload = pkcs12_upload(bundle, PASSWORD, CERTIFICATE)
    client = FakeClient()
    client.bundles[upload.body["key"]] = CERTIFICATE
    run = FakeRun(client, diff=True)
    result = ensure_key(run, certificate_target(upload))
    assert [(add[1], add[2]["password"]) for add in client.adds] == [("uploadPkcs12", PASSWORD)]
    assert result["reason"] == "keyset_missing"
    assert result["key"]["x5t"] == CERTIFICATE.thumbprint
    assert_no_private_material(result)


def test_a_certificate_in_check_mode_is_planned_with_its_thumbprint():
    client = FakeClient()
    result = ensure_key(FakeRun(client, check_mode=True, diff=True), certificate_target())
    assert writes(client) == []
    [planned] = result["diff"]["after"]["keyset_keys"]
    assert (planned["x5t"], planned["nbf"], planned["exp"]) == (CERTIFICATE.thumbprint, NOW - DAY, NOW + 365 * DAY)


@pytest.mark.parametrize("held", [oct_key("held"), rsa_key("held", use="enc")])
def test_a_certificate_into_a_set_of_another_kind_is_refused_before_any_write(held):
    client = FakeClient({"id": KEYSET, "keys": [held]})
    with pytest.raises(KeyInputError) as caught:
        ensure_key(FakeRun(client), certificate_target())
    assert str(caught.value).endswith(UPLOADED_ADVICE)
    assert writes(client) == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_certificate_for_a_missing_set_with_create_keyset_false_is_refused_before_any_write(check_mode):
    client = FakeClient()
    with pytest.raises(KeyInputError, match="create_keyset"):
        ensure_key(FakeRun(client, check_mode=check_mode), certificate_target(create_keyset=False))
    assert writes(client) == []
