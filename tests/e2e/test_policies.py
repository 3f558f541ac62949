# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""b2c_policies and b2c_policy_info end to end: keys first, then the test policy set of tests/policies/basic,
rendered for the emulator's tenant, through the real ansible-playbook."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import routes
from emulator.policies import conflict_upload_fault, transient_upload_fault
from policy_helpers import (
    BASE,
    EXTENSIONS,
    KEYSETS,
    LEVELS,
    LOCALIZATION,
    POLICY_SET,
    SIGN_IN,
    SIGN_IN_API,
    UPLOAD_ORDER,
    edit,
    graph_routes,
    keys_task,
    max_overlap,
    policies_task,
    puts,
    render,
    seed_keys,
    tenant_connection,
)


@pytest.fixture()
def policy_dir(ansible, tmp_path) -> Path:
    return render(tmp_path / "policies", ansible.emulator.tenant_domain)


@pytest.fixture()
def deployed(ansible, control, policy_dir) -> Path:
    """Keys and the whole set in the tenant; the request log cleared."""
    seed_keys(control)
    run = ansible.playbook([policies_task(path=str(policy_dir))], defaults=tenant_connection(ansible))
    assert run.rc == 0, run.output[-3000:]
    assert sorted(puts(control)) == sorted(UPLOAD_ORDER)
    control.clear_requests()
    return policy_dir


@pytest.mark.compat
def test_keys_then_policies_check_predicts_the_first_run_which_uploads_in_order(ansible, control, policy_dir):
    # the keys task creates the key sets the policies reference, which in check mode do not exist yet: ensured_keysets
    play = [keys_task(), policies_task(path=str(policy_dir), ensured_keysets=[item["keyset"] for item in KEYSETS])]
    check = ansible.playbook(play, defaults=tenant_connection(ansible), check=True, diff=True)
    predicted = check.result("policies")
    assert check.rc == 0, check.output[-3000:]
    assert predicted["changed"] is True and predicted["uploaded"] == UPLOAD_ORDER and predicted["levels"] == LEVELS
    assert [(entry["policy"], entry["level"], entry["reason"]) for entry in predicted["results"]] == [
        (BASE, 0, "new"), (LOCALIZATION, 1, "new"), (EXTENSIONS, 2, "new"), (SIGN_IN, 3, "new"), (SIGN_IN_API, 3, "new")]
    assert [diff["after_header"] for diff in predicted["diff"]] == [
        "%s (%s)" % (policy_id, policy_dir / name) for policy_id, name in zip(UPLOAD_ORDER, [
            "TrustFrameworkBase.xml", "TrustFrameworkLocalization.xml", "TrustFrameworkExtensions.xml", "SignIn.xml",
            "SignInForApi.xml"])]
    assert "+++ after: %s (%s)" % (BASE, policy_dir / "TrustFrameworkBase.xml") in check.stdout  # the unified diff
    assert control.policies() == [] and "policies.put" not in routes(control)

    run = ansible.playbook(play, defaults=tenant_connection(ansible))
    result = run.result("policies")
    assert run.rc == 0, run.output[-3000:]
    assert result["uploaded"] == predicted["uploaded"] and result["levels"] == predicted["levels"]
    assert [entry["reason"] for entry in result["results"]] == [entry["reason"] for entry in predicted["results"]]
    base = result["results"][0]
    assert base["keysets"] == ["B2C_1A_TokenSigningKeyContainer", "B2C_1A_TokenEncryptionKeyContainer"]
    assert base["source"] == str(policy_dir / "TrustFrameworkBase.xml") and base["base_policy"] is None
    assert puts(control) == UPLOAD_ORDER  # one at a time: levels in order, ids sorted within a level
    assert sorted(policy["id"] for policy in control.policies()) == sorted(UPLOAD_ORDER)


def test_a_second_run_only_lists_and_reads(ansible, control, deployed):
    run = ansible.playbook([policies_task(path=str(deployed))], defaults=tenant_connection(ansible))
    result = run.result("policies")
    assert result["changed"] is False and result["uploaded"] == []
    assert {entry["reason"] for entry in result["results"]} == {"unchanged"}
    assert sorted(graph_routes(control)) == sorted(["policies.list"] + ["policies.get"] * 5)
    assert routes(control).count("token") == 1


def test_editing_the_extensions_uploads_it_and_what_extends_it_and_check_mode_says_so_with_a_diff(
        ansible, control, deployed):
    edit(deployed / "TrustFrameworkExtensions.xml", ">3600<", ">1800<")
    task = policies_task(path=str(deployed))
    check = ansible.playbook([task], defaults=tenant_connection(ansible), check=True, diff=True)
    predicted = check.result("policies")
    assert predicted["changed"] is True and predicted["uploaded"] == [EXTENSIONS, SIGN_IN, SIGN_IN_API]
    assert [entry["reason"] for entry in predicted["results"]] == ["unchanged", "unchanged", "changed", "base_changed",
                                                                   "base_changed"]
    assert len(predicted["diff"]) == 1  # only what is new or changed gets a diff
    assert re.search(r"^-\s+<Item Key=\"token_lifetime_secs\">3600</Item>$", check.stdout, re.M), check.stdout[-3000:]
    assert re.search(r"^\+\s+<Item Key=\"token_lifetime_secs\">1800</Item>$", check.stdout, re.M)
    assert "policies.put" not in routes(control)

    run = ansible.playbook([task], defaults=tenant_connection(ansible))
    assert run.result("policies")["uploaded"] == predicted["uploaded"]
    assert puts(control) == [EXTENSIONS, SIGN_IN, SIGN_IN_API]


def test_without_reupload_dependents_only_the_changed_policy_is_uploaded(ansible, control, deployed):
    edit(deployed / "TrustFrameworkExtensions.xml", ">3600<", ">900<")
    task = policies_task(path=str(deployed), reupload_dependents=False)
    predicted = ansible.playbook([task], defaults=tenant_connection(ansible), check=True).result("policies")
    assert predicted["uploaded"] == [EXTENSIONS]
    assert [entry["reason"] for entry in predicted["results"]][2:] == ["changed", "unchanged", "unchanged"]
    assert "policies.put" not in routes(control)

    result = ansible.playbook([task], defaults=tenant_connection(ansible)).result("policies")
    assert result["uploaded"] == predicted["uploaded"]
    assert puts(control) == [EXTENSIONS]


def test_layout_and_comments_alone_are_no_change(ansible, control, deployed):
    path = deployed / "SignIn.xml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  ", "\t").replace("<RelyingParty>", "<!-- reviewed --><RelyingParty>"), encoding="utf-8")
    result = ansible.playbook([policies_task(path=str(deployed))], defaults=tenant_connection(ansible)).result("policies")
    assert result["changed"] is False and puts(control) == []


def test_a_missing_key_set_is_refused_before_any_write_in_check_mode_too(ansible, control, policy_dir):
    control.seed([{"id": "B2C_1A_TokenEncryptionKeyContainer", "keys": [{"use": "enc", "kty": "RSA"}]}])
    tasks = [dict(policies_task("check", path=str(policy_dir)), check_mode=True), policies_task(path=str(policy_dir))]
    run = ansible.playbook(tasks, defaults=tenant_connection(ansible))
    for name in ("check", "policies"):
        entry = run.task(name)
        assert entry["status"] == "failed", entry
        lines = entry["result"]["msg"].splitlines()
        assert lines[0].startswith("1 key set(s) the policies reference (StorageReferenceId) do not exist in the tenant")
        assert lines[1] == "B2C_1A_TokenSigningKeyContainer: referenced by %s (%s)" % (
            BASE, policy_dir / "TrustFrameworkBase.xml")
        assert "policy_keys role" in lines[2] and "ensured_keysets" in lines[2]
    assert routes(control, "keysets.list") == ["keysets.list"] * 2  # one list request settles it
    assert "policies.put" not in routes(control) and control.policies() == []


def test_a_refusal_stops_later_levels_and_names_what_was_uploaded(ansible, control, policy_dir):
    seed_keys(control)
    refusal = ('Validation failed: 1 validation error(s) found in policy "%s" of tenant "%s".Claim type "NoSuchClaim" '
               "is not defined." % (LOCALIZATION.upper(), ansible.emulator.tenant_domain))
    control.add_fault("policies.put", [{"status": 400, "code": "AADB2C", "message": refusal}], keyset=LOCALIZATION)
    # without rollback (tests/e2e/test_policy_safety.py has the default), what was uploaded stays
    entry = ansible.playbook([policies_task(path=str(policy_dir), rollback=False)],
                             defaults=tenant_connection(ansible)).task("policies")
    assert entry["status"] == "failed"
    result = entry["result"]
    assert result["uploaded"] == [BASE] and result["rolled_back"] == []
    assert LOCALIZATION in result["msg"] and "NoSuchClaim" in result["msg"] and "HTTP 400, AADB2C" in result["msg"]
    assert "Already uploaded in this run: %s." % BASE in result["msg"]
    assert "Not attempted: %s, %s, %s." % (EXTENSIONS, SIGN_IN, SIGN_IN_API) in result["msg"]
    assert puts(control) == [BASE]

    # Fixed (the fault is spent), the next run uploads what is still missing, and only that.
    control.clear_requests()
    again = ansible.playbook([policies_task(path=str(policy_dir))], defaults=tenant_connection(ansible)).result("policies")
    assert again["uploaded"] == UPLOAD_ORDER[1:] and puts(control)[0] == LOCALIZATION


def test_a_transient_refusal_is_sent_again_and_a_conflict_stops_the_run_naming_the_policy(ansible, control, policy_dir):
    seed_keys(control)
    control.add_fault("policies.put", [transient_upload_fault(BASE, ansible.emulator.tenant_domain)], keyset=BASE)
    control.add_fault("policies.put", [conflict_upload_fault(EXTENSIONS)], keyset=EXTENSIONS)
    entry = ansible.playbook([policies_task(path=str(policy_dir), rollback=False)],
                             defaults=tenant_connection(ansible)).task("policies")
    result = entry["result"]
    attempts = [item["status"] for item in control.requests() if item["route"] == "policies.put" and item["policy"] == BASE]
    assert attempts == [400, 201]  # the transient refusal: the same PUT sent again
    assert entry["status"] == "failed" and result["uploaded"] == [BASE, LOCALIZATION]
    assert result["msg"].startswith("a policy was not uploaded: %s (%s): " % (EXTENSIONS, policy_dir / "TrustFrameworkExtensions.xml"))
    assert "(HTTP 409, AADB2C); another upload changed this policy at the same moment" in result["msg"]
    assert "Already uploaded in this run: %s, %s. Not attempted: %s, %s." % (BASE, LOCALIZATION, SIGN_IN, SIGN_IN_API) in result["msg"]
    assert [item["policy"] for item in control.requests() if item["route"] == "policies.put"].count(EXTENSIONS) == 1
    assert sorted(policy["id"] for policy in control.policies()) == [BASE, LOCALIZATION]


def line_of(path: Path, text: str) -> int:
    content = path.read_text(encoding="utf-8")
    return content[:content.index(text)].count("\n") + 1


def test_dangling_references_are_refused_before_any_write_with_their_line_and_a_hint(ansible, control, deployed):
    tenant = ansible.emulator.tenant_domain
    typo = render(deployed.parent / "typo", tenant)
    edit(typo / "SignIn.xml", '<DefaultUserJourney ReferenceId="BasicSignIn" />', '<DefaultUserJourney ReferenceId="BasicSignln" />')
    renamed = render(deployed.parent / "renamed", tenant)  # a base change that breaks both children
    edit(renamed / "TrustFrameworkBase.xml", '<UserJourney Id="BasicSignIn">', '<UserJourney Id="BasicSignInV2">')
    control.clear_requests()
    first = ansible.playbook([policies_task("typo", path=str(typo)), policies_task("renamed", path=str(renamed))],
                             defaults=tenant_connection(ansible))
    assert control.requests() == []  # every chain is in its set: refused before any request, the token included
    typo_msg = first.task("typo")["result"]["msg"]
    assert typo_msg.splitlines() == [
        "1 reference(s) that no policy of the inheritance chain defines, nothing was sent (B2C would refuse the upload):",
        "%s (%s) line %d: UserJourney 'BasicSignln' is defined neither in the policy nor in any of its bases (did you mean "
        "'BasicSignIn'?)" % (SIGN_IN, typo / "SignIn.xml", line_of(typo / "SignIn.xml", "BasicSignln"))]
    renamed_msg = first.task("renamed")["result"]["msg"]
    assert renamed_msg.startswith("2 reference(s)")
    for policy_id, name in ((SIGN_IN, "SignIn.xml"), (SIGN_IN_API, "SignInForApi.xml")):
        assert "%s (%s) line %d: UserJourney 'BasicSignIn' is defined neither in the policy nor in any of its bases (did you " \
               "mean 'BasicSignInV2'?)" % (policy_id, renamed / name, line_of(renamed / name, "BasicSignIn")) in renamed_msg

    # Bases outside the set are read from the tenant (only those), in check mode too; b2c_policy reads its chain likewise.
    alone = deployed.parent / "alone"
    alone.mkdir()
    (alone / "SignIn.xml").write_text((deployed / "SignIn.xml").read_text(encoding="utf-8").replace(
        'ClaimTypeReferenceId="email"', 'ClaimTypeReferenceId="emial"'), encoding="utf-8")
    one = {"name": "one", "entra.b2c.b2c_policy": {"path": str(alone / "SignIn.xml")}, "ignore_errors": True}
    unchanged = {"name": "unchanged", "entra.b2c.b2c_policy": {"path": str(deployed / "SignIn.xml")}}
    check = ansible.playbook([policies_task("alone", path=str(alone)), one, unchanged], defaults=tenant_connection(ansible),
                             check=True)
    expected = "%s (%s) line %d: ClaimType 'emial' is defined neither in the policy nor in any of its bases (did you mean " \
               "'email'?)" % (SIGN_IN, alone / "SignIn.xml", line_of(alone / "SignIn.xml", "emial"))
    assert expected in check.task("alone")["result"]["msg"].splitlines()
    assert check.task("one")["status"] == "failed" and expected in check.task("one")["result"]["msg"].splitlines()
    assert check.result("unchanged")["changed"] is False
    reads = sorted(item["policy"] for item in control.requests() if item["route"] == "policies.get")
    # b2c_policy reads its own copy, and its bases only when it would upload
    assert reads == sorted([EXTENSIONS, LOCALIZATION, BASE] * 2 + [SIGN_IN] * 2)
    assert "policies.put" not in routes(control)


def test_cycles_duplicates_and_bad_files_are_refused_before_any_request(ansible, control, policy_dir):
    cycle = policy_dir / "cycle"
    render(cycle, ansible.emulator.tenant_domain)
    edit(cycle / "TrustFrameworkBase.xml", "<BuildingBlocks>", "<BasePolicy><TenantId>%s</TenantId><PolicyId>%s"
         "</PolicyId></BasePolicy><BuildingBlocks>" % (ansible.emulator.tenant_domain, EXTENSIONS))
    twice = render(policy_dir / "twice", ansible.emulator.tenant_domain)
    (twice / "Copy.xml").write_text((twice / "SignIn.xml").read_text(encoding="utf-8"), encoding="utf-8")
    broken = render(policy_dir / "broken", ansible.emulator.tenant_domain)
    edit(broken / "SignIn.xml", "</TrustFrameworkPolicy>", "")
    edit(broken / "SignInForApi.xml", 'PolicyId="B2C_1A_Basic_SignInForApi"', 'PolicyId="Basic_SignInForApi"')
    tasks = [policies_task("cycle", path=str(cycle)), policies_task("twice", path=str(twice)),
             policies_task("broken", path=str(broken)), policies_task("empty", path=str(policy_dir), pattern="*.json"),
             policies_task("zero", path=str(policy_dir), parallel=0),
             policies_task("zero_uploads", path=str(policy_dir), parallel_uploads=0),
             policies_task("prune", path=str(policy_dir), prune=True),
             policies_task("prune_absent", path=str(policy_dir), prune=True, prune_pattern="B2C_1A_*", state="absent"),
             policies_task("backup", path=str(policy_dir), backup=True),
             policies_task("backup_file", path=str(policy_dir), backup=True,
                           backup_dir=str(policy_dir / "TrustFrameworkBase.xml"))]
    run = ansible.playbook(tasks, defaults=tenant_connection(ansible))
    messages = {task["name"]: run.task(task["name"])["result"]["msg"] for task in tasks}
    assert "inheritance cycle: %s (%s) -> %s (%s) -> %s (%s) -> %s" % (
        BASE, cycle / "TrustFrameworkBase.xml", EXTENSIONS, cycle / "TrustFrameworkExtensions.xml", LOCALIZATION,
        cycle / "TrustFrameworkLocalization.xml", BASE) in messages["cycle"]
    assert "%s is defined twice, by %s and by %s" % (SIGN_IN, twice / "Copy.xml", twice / "SignIn.xml") in messages["twice"]
    assert messages["broken"].startswith("2 problem(s) in the policy set, nothing was sent")
    assert "%s: not well-formed XML" % (broken / "SignIn.xml") in messages["broken"]
    assert "lacks the B2C_1A_ prefix" in messages["broken"]
    assert "no file in %s matches the pattern '*.json'" % policy_dir in messages["empty"]
    assert "parallel: 0 must be 1 or more" in messages["zero"]
    assert "parallel_uploads: 0 must be 1 or more" in messages["zero_uploads"]
    assert messages["prune"].startswith("prune_pattern: required with prune; give a shell-style pattern of the policy "
                                        "ids this set owns, such as B2C_1A_Contoso_*")
    assert "prune: only with state present" in messages["prune_absent"]
    assert messages["backup"].startswith("backup_dir: required with backup")
    assert "backup_dir: %s is not a directory" % (policy_dir / "TrustFrameworkBase.xml") in messages["backup_file"]
    assert control.requests() == []


def test_a_base_neither_in_the_set_nor_in_the_tenant_is_refused_before_any_write(ansible, control, policy_dir):
    (policy_dir / "TrustFrameworkLocalization.xml").unlink()
    entry = ansible.playbook([policies_task(path=str(policy_dir))], defaults=tenant_connection(ansible)).task("policies")
    assert entry["status"] == "failed"
    assert "%s (%s) inherits from %s, which is neither in this set nor in the tenant" % (
        EXTENSIONS, policy_dir / "TrustFrameworkExtensions.xml", LOCALIZATION) in entry["result"]["msg"]
    assert graph_routes(control) == ["policies.list"]


def test_a_base_already_in_the_tenant_counts(ansible, control, deployed):
    for name in ("TrustFrameworkBase.xml", "TrustFrameworkLocalization.xml"):
        (deployed / name).unlink()
    result = ansible.playbook([policies_task(path=str(deployed))], defaults=tenant_connection(ansible)).result("policies")
    assert result["levels"] == [[EXTENSIONS], [SIGN_IN, SIGN_IN_API]] and result["changed"] is False


def test_state_absent_deletes_dependents_first(ansible, control, deployed):
    (deployed / "TrustFrameworkBase.xml").unlink()  # stays: not part of the set removed
    task = policies_task(path=str(deployed), state="absent")
    check = ansible.playbook([task], defaults=tenant_connection(ansible), check=True, diff=True).result("policies")
    assert check["changed"] is True and check["deleted"] == [SIGN_IN, SIGN_IN_API, EXTENSIONS, LOCALIZATION]
    assert len(check["diff"]) == 4 and all(diff["after"] == "" for diff in check["diff"])
    assert "policies.delete" not in routes(control)

    result = ansible.playbook([task], defaults=tenant_connection(ansible)).result("policies")
    assert result["deleted"] == check["deleted"]
    assert [(entry["policy"], entry["reason"]) for entry in result["results"]] == [
        (SIGN_IN, "deleted"), (SIGN_IN_API, "deleted"), (EXTENSIONS, "deleted"), (LOCALIZATION, "deleted")]
    deletions = [entry["policy"] for entry in control.requests() if entry["route"] == "policies.delete"]
    assert deletions == [SIGN_IN, SIGN_IN_API, EXTENSIONS, LOCALIZATION]  # one at a time, what extends another first
    assert [policy["id"] for policy in control.policies()] == [BASE]

    again = ansible.playbook([task], defaults=tenant_connection(ansible)).result("policies")
    assert again["changed"] is False and {entry["reason"] for entry in again["results"]} == {"absent"}


def test_templated_contents_with_their_own_names(ansible, control):
    seed_keys(control)
    names = ["TrustFrameworkBase", "TrustFrameworkLocalization", "TrustFrameworkExtensions", "SignIn", "SignInForApi"]
    items = [{"content": "{{ lookup('ansible.builtin.template', '%s') }}" % (POLICY_SET / (name + ".xml")),
              "source": "templates/%s.xml" % name} for name in reversed(names)]
    run = ansible.playbook([policies_task(policies=items)], defaults=tenant_connection(ansible),
                           play_extra={"vars": {"b2c_tenant": ansible.emulator.tenant_domain}})
    result = run.result("policies")
    assert run.rc == 0, run.output[-3000:]
    assert result["uploaded"] == UPLOAD_ORDER
    assert [entry["source"] for entry in result["results"]][:3] == [
        "templates/TrustFrameworkBase.xml", "templates/TrustFrameworkLocalization.xml",
        "templates/TrustFrameworkExtensions.xml"]


def test_policy_info_lists_and_reads(ansible, control, deployed):
    tasks = [{"name": "ids", "entra.b2c.b2c_policy_info": {}},
             {"name": "one", "entra.b2c.b2c_policy_info": {"policy": "basic_signin", "content": True}},
             {"name": "none", "entra.b2c.b2c_policy_info": {"policy": "Nope"}}]
    run = ansible.playbook(tasks[:1], defaults=tenant_connection(ansible))
    assert sorted(policy["id"] for policy in run.result("ids")["policies"]) == sorted(UPLOAD_ORDER)
    assert all(set(policy) == {"id"} for policy in run.result("ids")["policies"])
    assert graph_routes(control) == ["policies.list"]

    run = ansible.playbook(tasks[1:], defaults=tenant_connection(ansible), check=True)
    one = run.result("one")["policies"]
    assert [(policy["id"], policy["base_policy"]) for policy in one] == [(SIGN_IN, EXTENSIONS)]
    assert one[0]["content"] == {policy["id"]: policy["content"] for policy in control.policies(content=True)}[SIGN_IN]
    assert run.result("none")["policies"] == [] and run.result("one")["changed"] is False


def test_policy_info_with_content_reads_in_parallel(ansible, control, deployed):
    control.configure(latency_ms=300)
    result = ansible.playbook([{"name": "all", "entra.b2c.b2c_policy_info": {"content": True}}],
                              defaults=tenant_connection(ansible)).result("all")
    assert [policy["base_policy"] for policy in sorted(result["policies"], key=lambda p: p["id"])] == [
        None, LOCALIZATION, BASE, EXTENSIONS, EXTENSIONS]
    assert max_overlap(control, "policies.get") > 1


def test_an_unchanged_set_of_ten_costs_one_token_one_list_and_ten_parallel_reads(ansible, control, policy_dir):
    seed_keys(control)
    for index in range(5):  # five more relying parties: ten policies
        text = (policy_dir / "SignIn.xml").read_text(encoding="utf-8")
        (policy_dir / ("Extra%d.xml" % index)).write_text(text.replace(SIGN_IN, "%s%d" % (SIGN_IN, index)), encoding="utf-8")
    task = policies_task(path=str(policy_dir))
    assert ansible.playbook([task], defaults=tenant_connection(ansible)).result("policies")["changed"] is True
    control.clear_requests()
    control.configure(latency_ms=300)

    result = ansible.playbook([task], defaults=tenant_connection(ansible)).result("policies")
    assert result["changed"] is False and len(result["results"]) == 10
    log = routes(control)
    assert log.count("token") == 1
    assert sorted(graph_routes(control)) == sorted(["policies.list"] + ["policies.get"] * 10)
    assert max_overlap(control, "policies.get") > 1
