# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Rollback of a set refused half-way, without Ansible: what is put back and deleted, in which order, with which bytes
(the pure plan of _policies/policy.py), and the flow that runs it against a fake tenant: uploads of the refused level
complete first, the message when the rollback itself stops, backup_files of what was really replaced."""

from __future__ import annotations

import contextlib

import os
import threading
import types

import pytest

from ansible_collections.entra.b2c.plugins.module_utils._core.errors import TaskFailed
from ansible_collections.entra.b2c.plugins.module_utils._core.graph import GraphError
from ansible_collections.entra.b2c.plugins.module_utils._policies.api import PolicyGraph
from ansible_collections.entra.b2c.plugins.module_utils._policies.flow import deploy_set
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import (
    VERSION_NEW,
    VERSION_PREVIOUS,
    VERSION_UNKNOWN,
    RollbackStep,
    dependency_levels,
    parse_policy,
    plan_rollback,
    plan_set,
    policy_key,
    rollback_failed_message,
    rollback_versions,
    rolled_back_message,
    write_may_have_landed,
)

TENANT = "contoso.onmicrosoft.com"
BASE, LOC, EXT = "B2C_1A_Base", "B2C_1A_Loc", "B2C_1A_Ext"
RP_A, RP_B, NEW_RP, NEW_BASE = "B2C_1A_RpA", "B2C_1A_RpB", "B2C_1A_NewRp", "B2C_1A_NewBase"


def xml(policy_id: str, base: str | None = None, version: str = "v2") -> str:
    base_block = f"<BasePolicy><TenantId>{TENANT}</TenantId><PolicyId>{base}</PolicyId></BasePolicy>" if base else ""
    return (f'<TrustFrameworkPolicy xmlns="http://schemas.microsoft.com/online/cpim/schemas/2013/06" '
            f'PolicySchemaVersion="0.3.0.0" TenantId="{TENANT}" PolicyId="{policy_id}" '
            f'PublicPolicyUri="http://{TENANT}/{version}/{policy_id}">{base_block}</TrustFrameworkPolicy>')


def previous_copy(policy_id: str, base: str | None = None) -> bytes:
    """The tenant's copy as GET $value answers it: its own declaration, comment and layout, which a rollback keeps."""
    return (f'<?xml version="1.0" encoding="utf-8"?>\r\n<!-- as the tenant stored it -->\r\n'
            f'{xml(policy_id, base, "v1")}\r\n').encode()


def plans_of(files: dict[str, str | None], previous: dict[str, bytes]):
    """The upload plan of a set ({id: base id}) against a tenant holding `previous` ({id: bytes})."""
    policies = [parse_policy(xml(policy_id, base), policy_id + ".xml") for policy_id, base in files.items()]
    stored = {policy_key(policy_id): content for policy_id, content in previous.items()}
    return plan_set(dependency_levels(policies), stored), stored


def shape(waves):
    return [[("put back" if step.previous is not None else "delete", step.policy_id) for step in wave]
            for wave in waves]


# ---- the plan: which policies, in which order, with which bytes ---------------------------------------------------
CHAIN = {BASE: None, LOC: BASE, EXT: LOC, RP_A: EXT, RP_B: EXT, NEW_RP: EXT}
HELD = {BASE: previous_copy(BASE), LOC: previous_copy(LOC, BASE), EXT: previous_copy(EXT, LOC),
        RP_A: previous_copy(RP_A, EXT), RP_B: previous_copy(RP_B, EXT)}


def test_what_the_run_replaced_is_put_back_bases_first_then_what_it_created_is_deleted():
    plans, stored = plans_of(CHAIN, HELD)
    # RpA was refused (B2C's answer: nothing changed); RpB and NewRp, of the same level, completed
    waves = plan_rollback(plans, stored, [policy_key(p) for p in (BASE, LOC, EXT, RP_B, NEW_RP)])
    assert shape(waves) == [[("put back", BASE)], [("put back", LOC)], [("put back", EXT)], [("put back", RP_B)],
                            [("delete", NEW_RP)]]
    # each put back as the exact bytes the tenant answered before the run, declaration, comment and CRLF included
    sent = {step.policy_id: step.previous for wave in waves for step in wave}
    assert sent == {BASE: HELD[BASE], LOC: HELD[LOC], EXT: HELD[EXT], RP_B: HELD[RP_B], NEW_RP: None}
    assert not any(step.unsure for wave in waves for step in wave)


def test_nothing_the_run_did_not_write_is_touched():
    plans, stored = plans_of(CHAIN, HELD)
    assert plan_rollback(plans, stored, []) == []
    waves = plan_rollback(plans, stored, [policy_key(BASE)])
    assert shape(waves) == [[("put back", BASE)]]


def test_put_back_follows_the_bases_of_the_previous_copies_not_of_the_new_files():
    # the release turned the chain round: Loc used to extend Ext; the previous Loc must wait for the previous Ext
    files = {BASE: None, LOC: BASE, EXT: LOC}
    held = {BASE: previous_copy(BASE), EXT: previous_copy(EXT, BASE), LOC: previous_copy(LOC, EXT)}
    plans, stored = plans_of(files, held)
    waves = plan_rollback(plans, stored, [policy_key(p) for p in files])
    assert shape(waves) == [[("put back", BASE)], [("put back", EXT)], [("put back", LOC)]]


def test_a_base_between_two_put_back_policies_that_the_run_left_alone_still_orders_them():
    files = {BASE: None, LOC: BASE, EXT: LOC}
    held = {BASE: previous_copy(BASE), LOC: xml(LOC, BASE).encode(), EXT: previous_copy(EXT, LOC)}  # Loc unchanged
    plans, stored = plans_of(files, held)
    assert shape(plan_rollback(plans, stored, [policy_key(BASE), policy_key(EXT)])) == [
        [("put back", BASE)], [("put back", EXT)]]


def test_created_policies_go_leaves_first_after_every_put_back():
    # a new base, a replaced relying party that now extends it (its previous copy extends Ext), a new one on top
    files = {BASE: None, LOC: BASE, EXT: LOC, NEW_BASE: EXT, RP_A: NEW_BASE, NEW_RP: NEW_BASE}
    plans, stored = plans_of(files, {**HELD, RP_A: previous_copy(RP_A, EXT)})
    waves = plan_rollback(plans, stored, [policy_key(p) for p in (EXT, NEW_BASE, RP_A, NEW_RP)])
    # RpA goes back to extending Ext before NewBase, which it extended, is deleted; NewRp before its base NewBase
    assert shape(waves) == [[("put back", EXT)], [("put back", RP_A)], [("delete", NEW_RP)], [("delete", NEW_BASE)]]


def test_siblings_share_a_wave_in_upload_order():
    plans, stored = plans_of(CHAIN, {key: value for key, value in HELD.items() if key != RP_B})
    waves = plan_rollback(plans, stored, [policy_key(p) for p in (RP_A, RP_B, NEW_RP)])
    assert shape(waves) == [[("put back", RP_A)], [("delete", NEW_RP), ("delete", RP_B)]]


def test_a_write_without_a_sure_answer_is_undone_too():
    assert write_may_have_landed(None) and write_may_have_landed(500) and write_may_have_landed(504)
    assert not write_may_have_landed(400) and not write_may_have_landed(409) and not write_may_have_landed(429)
    plans, stored = plans_of(CHAIN, HELD)
    waves = plan_rollback(plans, stored, [policy_key(BASE)], unsure=[policy_key(LOC), policy_key(NEW_RP)])
    flagged = [(step.policy_id, step.unsure) for wave in waves for step in wave]
    assert flagged == [(BASE, False), (LOC, True), (NEW_RP, True)]


# ---- what the task says -------------------------------------------------------------------------------------------
def test_a_complete_rollback_names_what_was_put_back_and_what_was_deleted():
    steps = [RollbackStep(BASE, b"<a/>"), RollbackStep(LOC, b"<b/>"), RollbackStep(NEW_RP, None)]
    assert rolled_back_message(steps) == (
        f"Rolled back: put back the previous version of {BASE}, {LOC} and deleted {NEW_RP}, which this run had "
        "created, so the tenant holds the policies it held before this run. Fix the cause and run again.")
    assert rolled_back_message(steps[2:]).startswith(f"Rolled back: deleted {NEW_RP}, which this run had created, so")


def test_a_rollback_stopped_part_way_says_which_version_each_policy_is_in_and_what_to_do():
    steps = [RollbackStep(BASE, b"<a/>"), RollbackStep(LOC, b"<b/>"), RollbackStep(EXT, b"<c/>", unsure=True),
             RollbackStep(RP_A, b"<d/>"), RollbackStep(NEW_RP, None), RollbackStep(NEW_BASE, None)]
    failed = {policy_key(LOC): 400, policy_key(RP_A): None}  # refused; no answer
    versions = rollback_versions(steps, [policy_key(BASE), policy_key(NEW_BASE)], failed)
    assert [(step.policy_id, version) for step, version in versions] == [
        (BASE, VERSION_PREVIOUS), (LOC, VERSION_NEW), (EXT, VERSION_UNKNOWN), (RP_A, VERSION_UNKNOWN),
        (NEW_RP, VERSION_NEW), (NEW_BASE, VERSION_PREVIOUS)]
    message = rollback_failed_message(versions, {policy_key(LOC): "refused (HTTP 400, AADB2C)",
                                                 policy_key(RP_A): "no answer within the timeout"})
    assert message.startswith(f"The rollback stopped: {LOC} was not put back: refused (HTTP 400, AADB2C); {RP_A} was "
                              "not put back: no answer within the timeout. ")
    assert (f"Now in the tenant: {BASE} previous (put back), {LOC} new (not put back), {EXT} unknown (a request got no "
            f"sure answer), {RP_A} unknown (a request got no sure answer), {NEW_RP} new (created by this run, not "
            f"deleted), {NEW_BASE} previous (deleted again: this run had created it). ") in message
    assert message.endswith("To finish, either fix what B2C refused and run this task again, which uploads what still "
                            "differs (the new version), or deploy the previous version of the set (the files deployed "
                            "before, or with backup the files in backup_files) to go back; entra.b2c.b2c_policy_info "
                            "with content shows what the tenant holds.")


# ---- the flow against a fake tenant ---------------------------------------------------------------------------------
class FakeTenant:
    """PolicyGraph's calls on a dict: records every write in the order it finishes; `refusals` maps an id to the
    errors its next writes get (one each); `meet` makes the first writes of those ids wait for each other (in flight
    together)."""

    def __init__(self, held: dict[str, bytes], refusals: dict | None = None, meet: tuple = ()) -> None:
        self.held = {policy_key(policy_id): (policy_id, content) for policy_id, content in held.items()}
        self.refusals = {policy_key(policy_id): list(errors) for policy_id, errors in (refusals or {}).items()}
        self.writes: list[tuple[str, str, bytes | None]] = []
        self.lock = threading.Lock()
        self.meet = {policy_key(policy_id) for policy_id in meet}
        self.barrier = threading.Barrier(len(meet), timeout=10) if meet else None

    def list_ids(self):
        return [policy_id for policy_id, _content in self.held.values()]

    def get_xml(self, policy_id):
        found = self.held.get(policy_key(policy_id))
        return None if found is None else found[1]

    def _write(self, what: str, policy_id: str, body: bytes | None) -> None:
        if policy_key(policy_id) in self.meet:  # their first writes only
            self.meet.discard(policy_key(policy_id))
            self.barrier.wait()
        with self.lock:
            queue = self.refusals.get(policy_key(policy_id))
            if queue:
                raise queue.pop(0)
            self.writes.append((what, policy_id, body))
            if body is None:
                self.held.pop(policy_key(policy_id), None)
            else:
                self.held[policy_key(policy_id)] = (policy_id, body)

    def put_xml(self, policy_id, body, base_just_uploaded=None, replication=None, present_keysets=frozenset()):
        self._write("put", policy_id, body)

    def delete(self, policy_id):
        self._write("delete", policy_id, None)
        return True


class FakeRun:
    def __init__(self, tenant: FakeTenant, **params) -> None:
        self.tenant = tenant
        self.params = {"path": None, "pattern": "*.xml", "policies": None, "state": "present",
                       "reupload_dependents": False, "prune": False, "prune_pattern": None, "rollback": True,
                       "backup": False, "backup_dir": None, "parallel": 4, "parallel_uploads": 1, "settings": None,
                       "appsettings": None, "environment": None, "ensured_keysets": [], "tenant_id": TENANT, **params}
        self.check_mode = self.diff = False
        self.warnings: list[str] = []
        self.steps: list[str] = []  # the writes reported as they completed
        self.permissions_checked: list[str] = []

    def api(self, factory):
        assert factory is PolicyGraph
        return self.tenant

    def connect(self):
        return types.SimpleNamespace(wait_budget=lambda *args: types.SimpleNamespace(waited=0),
                                     tenant=self.params["tenant_id"])

    def require_permissions(self, needed, what):
        self.permissions_checked = [permission.name for permission in needed]

    @contextlib.contextmanager
    def step(self, done):
        yield
        self.steps.append(done)

    def warn(self, message):
        self.warnings.append(message)


def refusal(policy_id: str) -> GraphError:
    return GraphError(f'Graph PUT /trustFramework/policies/{policy_id}/$value failed: Validation failed: 1 validation '
                      f'error(s) found in policy "{policy_id.upper()}".Claim type "NoSuchClaim" is not defined.',
                      status=400, code="AADB2C", request_id="rid-1")


def the_set(*policy_ids: str) -> list[dict]:
    return [{"content": xml(policy_id, CHAIN[policy_id]), "source": policy_id + ".xml"} for policy_id in policy_ids]


def failed_run(run: FakeRun) -> dict:
    with pytest.raises(TaskFailed) as caught:
        deploy_set(run)
    return {**caught.value.result, "msg": str(caught.value)}


def test_a_refusal_half_way_puts_the_tenant_back_as_it_was(tmp_path):
    held = {policy_id: HELD[policy_id] for policy_id in (BASE, LOC, EXT, RP_A)}
    tenant = FakeTenant(held, refusals={RP_A: [refusal(RP_A)]}, meet=(RP_A, NEW_RP))
    run = FakeRun(tenant, policies=the_set(BASE, LOC, EXT, RP_A, NEW_RP), parallel_uploads=2, backup=True,
                  backup_dir=str(tmp_path / "backups"))
    result = failed_run(run)

    # the level of the refusal completes (NewRp was in flight beside RpA), then the rollback: bases first, exact bytes,
    # then what the run created
    assert [(what, policy_id) for what, policy_id, _body in tenant.writes] == [
        ("put", BASE), ("put", LOC), ("put", EXT), ("put", NEW_RP),
        ("put", BASE), ("put", LOC), ("put", EXT), ("delete", NEW_RP)]
    assert [body for _what, _policy_id, body in tenant.writes[4:7]] == [HELD[BASE], HELD[LOC], HELD[EXT]]
    # the tenant holds what it held, byte for byte
    assert {key: content for key, (_p, content) in tenant.held.items()} == {
        policy_key(p): content for p, content in held.items()}
    assert result["rolled_back"] == [BASE, LOC, EXT, NEW_RP]
    assert result["uploaded"] == [BASE, LOC, EXT, NEW_RP]
    assert result["msg"].startswith(f"a policy was not uploaded: {RP_A} ({RP_A}.xml): Graph PUT ")
    assert 'Claim type "NoSuchClaim" is not defined. (HTTP 400, AADB2C) [request-id rid-1]' in result["msg"]
    assert result["msg"].endswith(
        f"Rolled back: put back the previous version of {BASE}, {LOC}, {EXT} and deleted {NEW_RP}, which this run had "
        "created, so the tenant holds the policies it held before this run. Fix the cause and run again.")
    assert result["error"]["status"] == 400
    # the backups of what was replaced (and is now back), not of the refused RpA: the directory holds only those
    names = [os.path.basename(path).split(".")[0] for path in result["backup_files"]]
    assert names == [BASE, LOC, EXT]
    assert sorted(os.listdir(tmp_path / "backups")) == sorted(os.path.basename(path) for path in result["backup_files"])
    assert [open(path, "rb").read() for path in result["backup_files"]] == [HELD[BASE], HELD[LOC], HELD[EXT]]
    # checked before the first write; each write shown as it completed, the rollback's too
    assert run.permissions_checked == ["Policy.ReadWrite.TrustFramework"]
    assert run.steps[:4] == [f"{BASE} uploaded", f"{LOC} uploaded", f"{EXT} uploaded", f"{NEW_RP} uploaded"]
    assert run.steps[4:] == [f"{BASE} put back (rollback)", f"{LOC} put back (rollback)", f"{EXT} put back (rollback)",
                             f"{NEW_RP} deleted (rollback)"]


def test_without_rollback_what_was_uploaded_stays_and_backups_name_only_what_was_replaced(tmp_path):
    held = {policy_id: HELD[policy_id] for policy_id in (BASE, LOC, EXT, RP_A)}
    tenant = FakeTenant(held, refusals={LOC: [refusal(LOC)]})
    run = FakeRun(tenant, policies=the_set(BASE, LOC, EXT, RP_A, NEW_RP), rollback=False, backup=True,
                  backup_dir=str(tmp_path))
    result = failed_run(run)
    assert [(what, policy_id) for what, policy_id, _body in tenant.writes] == [("put", BASE)]
    assert result["rolled_back"] == [] and result["uploaded"] == [BASE]
    assert result["msg"].endswith(f"Already uploaded in this run: {BASE}. Not attempted: {EXT}, {NEW_RP}, {RP_A}.")
    # five policies planned, four held and backed up before the first write; only Base was replaced
    assert [os.path.basename(path).split(".")[0] for path in result["backup_files"]] == [BASE]
    assert len(os.listdir(tmp_path)) == 1


def test_a_refusal_of_the_first_level_has_nothing_to_roll_back():
    tenant = FakeTenant({}, refusals={BASE: [refusal(BASE)]})
    result = failed_run(FakeRun(tenant, policies=the_set(BASE, LOC)))
    assert tenant.writes == [] and result["rolled_back"] == []
    assert "Rolled back" not in result["msg"] and "rollback" not in result["msg"]


def test_an_upload_without_an_answer_is_undone_with_the_rest():
    held = {policy_id: HELD[policy_id] for policy_id in (BASE, LOC)}
    dropped = GraphError("Graph PUT failed: connection failed or was dropped")  # no status: it may have landed
    tenant = FakeTenant(held, refusals={LOC: [dropped]})
    result = failed_run(FakeRun(tenant, policies=the_set(BASE, LOC, EXT)))
    assert [(what, policy_id) for what, policy_id, _body in tenant.writes] == [("put", BASE), ("put", BASE),
                                                                               ("put", LOC)]
    assert result["rolled_back"] == [BASE, LOC] and tenant.get_xml(LOC) == HELD[LOC]


def test_a_rollback_refused_part_way_says_where_each_policy_stands():
    held = {policy_id: HELD[policy_id] for policy_id in (BASE, LOC, EXT)}
    # Ext refused on upload; then Loc refuses to be put back: Base is back, Loc is new, NewRp was not attempted
    tenant = FakeTenant(held, refusals={RP_A: [refusal(RP_A)], LOC: [], EXT: []})
    run = FakeRun(tenant, policies=the_set(BASE, LOC, EXT, RP_A, NEW_RP), parallel_uploads=2)
    original_put = tenant.put_xml

    def put_then_refuse_loc(policy_id, body, **kwargs):
        if policy_id == LOC and body == HELD[LOC]:
            raise GraphError("Graph PUT refused", status=400, code="AADB2C")
        original_put(policy_id, body, **kwargs)

    tenant.put_xml = put_then_refuse_loc
    result = failed_run(run)
    assert result["rolled_back"] == [BASE]
    assert [(what, policy_id) for what, policy_id, _body in tenant.writes][-1] == ("put", BASE)
    assert "Claim type \"NoSuchClaim\" is not defined." in result["msg"]  # B2C's refusal first
    assert (f"The rollback stopped: {LOC} was not put back: Graph PUT refused (HTTP 400, AADB2C). Now in the tenant: "
            f"{BASE} previous (put back), {LOC} new (not put back), {EXT} new (not put back), {NEW_RP} new (created by "
            "this run, not deleted).") in result["msg"]
    assert "To finish, either fix what B2C refused" in result["msg"]
