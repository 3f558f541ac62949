# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Deployments that are safe on a real tenant, end to end: drift (extra) and prune, backups (named as Windows accepts)
and the documentation's restore recipes, the rollback of a set refused half-way, localized non-ASCII text, uploads one
at a time unless parallel_uploads opts in."""

from __future__ import annotations

import re
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT, routes
from emulator.policies import reserialize
from policy_helpers import (
    BASE,
    EXTENSIONS,
    LEVELS,
    LOCALIZATION,
    SIGN_IN,
    SIGN_IN_API,
    UPLOAD_ORDER,
    edit,
    graph_routes,
    in_levels,
    max_overlap,
    policies_task,
    puts,
    render,
    seed_keys,
    tenant_connection,
)

OLD_EXT, OLD_RP, OTHER = "B2C_1A_Basic_OldExt", "B2C_1A_Basic_OldRp", "B2C_1A_Other_SignIn"
# Ansible's backup stamp with '-' for ':', which Windows and SMB shares refuse in a file name
STAMPED = r"\.\d{4}-\d\d-\d\d@\d\d-\d\d-\d\d(\.\d+)?\.xml"
WINDOWS_REFUSED = re.compile(r'[<>:"/\\|?*\x00-\x1f]|[. ]$')
NEW_SIGN_IN = "B2C_1A_Basic_NewSignIn"
FENCE = re.compile(r"^```(?P<lang>[a-z]*)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)


@pytest.fixture()
def policy_dir(ansible, tmp_path) -> Path:
    return render(tmp_path / "policies", ansible.emulator.tenant_domain)


@pytest.fixture()
def deployed(ansible, control, policy_dir) -> Path:
    """Keys and the whole set in the tenant; the request log cleared."""
    seed_keys(control)
    run = ansible.playbook([policies_task(path=str(policy_dir))], defaults=tenant_connection(ansible))
    assert run.rc == 0, run.output[-3000:]
    control.clear_requests()
    return policy_dir


def stray(directory: Path, policy_id: str, base: str) -> dict:
    """A relying party outside the set, as someone else left it in the tenant."""
    text = (directory / "SignIn.xml").read_text(encoding="utf-8")
    return {"content": text.replace(SIGN_IN, policy_id).replace("<PolicyId>%s</PolicyId>" % EXTENSIONS,
                                                                "<PolicyId>%s</PolicyId>" % base)}


def deletions(control) -> list:
    return [entry["policy"] for entry in control.requests() if entry["route"] == "policies.delete"]


def tenant_ids(control) -> list:
    return sorted(policy["id"] for policy in control.policies())


def test_drift_is_listed_and_prune_deletes_only_matching_extras_leaves_first(ansible, control, deployed, tmp_path):
    control.seed_policies([stray(deployed, OLD_EXT, BASE), stray(deployed, OLD_RP, OLD_EXT), stray(deployed, OTHER, BASE)])
    control.clear_requests()
    connection = tenant_connection(ansible)

    # Without prune: the drift is reported from the list alone, and nothing else is read or written.
    run = ansible.playbook([policies_task(path=str(deployed)),
                            {"name": "info", "entra.b2c.b2c_policy_info": {"path": str(deployed)}}], defaults=connection)
    result, info = run.result("policies"), run.result("info")
    assert result["changed"] is False and result["extra"] == [OLD_EXT, OLD_RP, OTHER] and result["pruned"] == []
    assert (info["extra"], info["missing"]) == ([OLD_EXT, OLD_RP, OTHER], [])
    assert sorted(graph_routes(control)) == sorted(["policies.list"] * 2 + ["policies.get"] * 5)

    # Check mode predicts the prune (case ignored in the pattern), with a diff; a prune that would orphan a kept
    # policy is refused before any write, naming both.
    control.clear_requests()
    prune = policies_task(path=str(deployed), prune=True, prune_pattern="b2c_1a_basic_*", backup=True,
                          backup_dir=str(tmp_path / "backups"))
    orphan = policies_task("orphan", path=str(deployed), prune=True, prune_pattern=OLD_EXT)
    check = ansible.playbook([prune, orphan], defaults=connection, check=True, diff=True)
    predicted = check.result("policies")
    assert predicted["changed"] is True and predicted["pruned"] == [OLD_RP, OLD_EXT] and predicted["uploaded"] == []
    assert [(diff["before_header"], diff["after"]) for diff in predicted["diff"]] == [
        ("%s (tenant)" % OLD_RP, ""), ("%s (tenant)" % OLD_EXT, "")]
    assert predicted["backup_files"] == [] and not (tmp_path / "backups").exists()
    refused = check.task("orphan")
    assert refused["status"] == "failed"
    assert refused["result"]["msg"].startswith(
        "prune: nothing was changed: %s matches prune_pattern '%s' but %s, which does not match and is kept, extends it"
        % (OLD_EXT, OLD_EXT, OLD_RP))
    assert deletions(control) == [] and puts(control) == []

    # For real: what extends another goes first, one at a time; the other team's policy stays; backups bases first.
    control.clear_requests()
    result = ansible.playbook([prune], defaults=connection).result("policies")
    assert result["changed"] is True and result["pruned"] == predicted["pruned"] and result["extra"] == [OLD_EXT, OLD_RP,
                                                                                                         OTHER]
    assert deletions(control) == [OLD_RP, OLD_EXT]
    assert tenant_ids(control) == sorted(UPLOAD_ORDER + [OTHER])
    assert [Path(path).name.split(".")[0] for path in result["backup_files"]] == [OLD_EXT, OLD_RP]
    assert OLD_RP in Path(result["backup_files"][1]).read_text(encoding="utf-8")

    again = ansible.playbook([prune], defaults=connection).result("policies")
    assert again["changed"] is False and again["pruned"] == [] and again["extra"] == [OTHER]

    # An upload B2C refuses stops the run before any deletion.
    edit(deployed / "SignIn.xml", "<DisplayName>PolicyProfile</DisplayName>", "<DisplayName>Policy profile</DisplayName>")
    control.clear_requests()
    refusal = ('Validation failed: 1 validation error(s) found in policy "%s" of tenant "%s".Claim type "NoSuchClaim" '
               "is not defined." % (SIGN_IN.upper(), ansible.emulator.tenant_domain))
    control.add_fault("policies.put", [{"status": 400, "code": "AADB2C", "message": refusal}], keyset=SIGN_IN)
    stopped = ansible.playbook([policies_task(path=str(deployed), prune=True, prune_pattern="B2C_1A_Other_*")],
                               defaults=connection).task("policies")
    assert stopped["status"] == "failed" and stopped["result"]["msg"].endswith("Nothing was pruned.")
    assert stopped["result"]["pruned"] == [] and deletions(control) == [] and OTHER in tenant_ids(control)


def yaml_block_after(path: Path, marker: str) -> str:
    text = path.read_text(encoding="utf-8")
    assert marker in text, "%r is not in %s" % (marker, path.name)
    match = FENCE.search(text, text.index(marker))
    assert match and match.group("lang") == "yaml", "no YAML block after %r in %s" % (marker, path.name)
    return match.group("body")


def test_backups_are_written_before_the_write_and_the_documented_recipe_restores_them(ansible, control, deployed,
                                                                                      tmp_path):
    edit(deployed / "TrustFrameworkExtensions.xml", ">3600<", ">1800<")
    backups = tmp_path / "backups" / "b2c"  # missing: created
    deploy, restore = yaml.safe_load(yaml_block_after(REPO_ROOT / "docs" / "policies.md", "**Restore in one task:**"))
    deploy["entra.b2c.b2c_policies"].update(path=str(deployed), backup_dir=str(backups))
    connection = tenant_connection(ansible)

    check = ansible.playbook([deploy], defaults=connection, check=True).result(deploy["name"])
    assert check["uploaded"] == [EXTENSIONS, SIGN_IN, SIGN_IN_API] and check["backup_files"] == []
    assert not backups.exists()

    run = ansible.playbook([deploy, restore], defaults=connection)  # the two tasks as the chapter writes them
    assert run.rc == 0, run.output[-3000:]
    files = [Path(path) for path in run.result(deploy["name"])["backup_files"]]
    assert [path.parent for path in files] == [backups] * 3
    for path, policy_id in zip(files, [EXTENSIONS, SIGN_IN, SIGN_IN_API]):
        assert re.fullmatch(re.escape(policy_id) + STAMPED, path.name), path.name
        assert not WINDOWS_REFUSED.search(path.name), path.name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(backups.stat().st_mode) == 0o700
    assert ">3600<" in files[0].read_text(encoding="utf-8")  # the tenant's copy before the upload
    uploads = [entry for entry in control.requests() if entry["route"] == "policies.put"]
    assert [entry["policy"] for entry in uploads] == [EXTENSIONS, SIGN_IN, SIGN_IN_API, EXTENSIONS]
    assert all(path.stat().st_mtime <= uploads[0]["ts"] for path in files)  # written before the first write
    # restored: the upload of the old Extensions, and the relying parties compared unchanged
    assert [item["changed"] for item in run.result(restore["name"])["results"]] == [True, False, False]
    stored = {policy["id"]: policy["content"] for policy in control.policies(content=True)}
    assert ">3600<" in stored[EXTENSIONS]

    # A backup that cannot be written stops the task before the write it protects; b2c_policy backs up a deletion.
    control.clear_requests()
    blocked = policies_task("blocked", path=str(deployed), backup=True,
                            backup_dir=str(deployed / "TrustFrameworkBase.xml" / "backups"))
    retire = {"name": "retire",
              "entra.b2c.b2c_policy": {"policy": SIGN_IN_API, "state": "absent", "backup": True, "backup_dir": str(backups)}}
    run = ansible.playbook([blocked, retire], defaults=connection)
    message = run.task("blocked")["result"]["msg"]
    assert message.startswith("backup_dir: cannot write a backup in %s" % (deployed / "TrustFrameworkBase.xml" / "backups"))
    assert "nothing was changed in the tenant" in message and puts(control) == []
    [retired] = run.result("retire")["backup_files"]
    assert re.fullmatch(re.escape(SIGN_IN_API) + STAMPED, Path(retired).name)
    assert Path(retired).read_text(encoding="utf-8") == stored[SIGN_IN_API]
    assert deletions(control) == [SIGN_IN_API]


def stored_xml(control) -> dict:
    return {policy["id"]: policy["content"] for policy in control.policies(content=True)}


def says_the_same(stored: dict) -> dict:
    """Each stored policy in C14N 2.0 with its comments: what it says, whatever the order of its attributes (the
    emulator stores every upload in its own form, attributes in reverse order, as a service may)."""
    return {policy_id: ET.canonicalize(content, with_comments=True) for policy_id, content in stored.items()}


def release(directory: Path) -> None:
    """The next release of the deployed set: a changed base and extensions, a changed sign-in, a new relying party."""
    edit(directory / "TrustFrameworkBase.xml", "User object id", "Object id")
    edit(directory / "TrustFrameworkExtensions.xml", ">3600<", ">1800<")
    edit(directory / "SignIn.xml", "<DisplayName>PolicyProfile</DisplayName>",
         "<DisplayName>Policy profile</DisplayName>")
    (directory / "NewSignIn.xml").write_text((directory / "SignIn.xml").read_text(encoding="utf-8").replace(
        SIGN_IN, NEW_SIGN_IN), encoding="utf-8")


def refuse_sign_in(ansible, control) -> None:
    """B2C refuses the changed sign-in, of the last level, in its own words."""
    refusal = ('Validation failed: 1 validation error(s) found in policy "%s" of tenant "%s".Claim type "NoSuchClaim" '
               "is not defined." % (SIGN_IN.upper(), ansible.emulator.tenant_domain))
    control.add_fault("policies.put", [{"status": 400, "code": "AADB2C", "message": refusal}], keyset=SIGN_IN)


def writes(control) -> list:
    return [(entry["route"].split(".")[1], entry["policy"]) for entry in control.requests()
            if entry["route"] in ("policies.put", "policies.delete") and entry["status"] < 400]


# Level by level; the last level (NewSignIn, SignIn, SignInForApi by id) one at a time: SignIn refused, the others done.
# Localization and SignInForApi are uploaded for reupload_dependents (their base changed).
RELEASE_UPLOADS = [BASE, LOCALIZATION, EXTENSIONS, NEW_SIGN_IN, SIGN_IN_API]


def test_a_refusal_half_way_puts_the_previous_version_back_and_removes_what_the_run_created(
        ansible, control, deployed, tmp_path):
    before = stored_xml(control)
    release(deployed)
    refuse_sign_in(ansible, control)
    backups = tmp_path / "backups"
    entry = ansible.playbook([policies_task(path=str(deployed), backup=True, backup_dir=str(backups))],
                             defaults=tenant_connection(ansible)).task("policies")
    result = entry["result"]
    assert entry["status"] == "failed"
    assert result["uploaded"] == RELEASE_UPLOADS
    assert result["rolled_back"] == [BASE, LOCALIZATION, EXTENSIONS, SIGN_IN_API, NEW_SIGN_IN]
    # B2C's refusal, then what the rollback did
    assert result["msg"].startswith("a policy was not uploaded: %s (%s): " % (SIGN_IN, deployed / "SignIn.xml"))
    assert 'Claim type "NoSuchClaim" is not defined. (HTTP 400, AADB2C)' in result["msg"]
    assert result["msg"].endswith(
        "Rolled back: put back the previous version of %s, %s, %s, %s and deleted %s, which this run had created, so "
        "the tenant holds the policies it held before this run. Fix the cause and run again."
        % (BASE, LOCALIZATION, EXTENSIONS, SIGN_IN_API, NEW_SIGN_IN))
    assert result["error"]["status"] == 400

    # The tenant holds what it held and nothing else: the refused SignIn untouched, the others put back as the very
    # bytes it answered before (stored once more in the emulator's own form), NewSignIn gone.
    after = stored_xml(control)
    assert sorted(after) == sorted(before) and after[SIGN_IN] == before[SIGN_IN]
    for policy_id in (BASE, LOCALIZATION, EXTENSIONS, SIGN_IN_API):
        assert after[policy_id] == reserialize(before[policy_id].encode("utf-8")).decode("utf-8"), policy_id
    assert says_the_same(after) == says_the_same(before)
    # The uploads of the refused level completed first; then the previous copies, bases first; then what was new.
    assert writes(control) == [("put", policy_id) for policy_id in RELEASE_UPLOADS] + [
        ("put", BASE), ("put", LOCALIZATION), ("put", EXTENSIONS), ("put", SIGN_IN_API), ("delete", NEW_SIGN_IN)]

    # Backups of what was replaced only (not of the refused SignIn), named as Windows accepts, holding what is back.
    files = [Path(path) for path in result["backup_files"]]
    assert [path.name.split(".")[0] for path in files] == [BASE, LOCALIZATION, EXTENSIONS, SIGN_IN_API]
    assert sorted(path.name for path in backups.iterdir()) == sorted(path.name for path in files)
    for path in files:
        assert re.fullmatch(r"B2C_1A_\w+" + STAMPED, path.name) and not WINDOWS_REFUSED.search(path.name), path.name
        assert path.read_text(encoding="utf-8") == before[path.name.split(".")[0]]

    # Fixed (the fault is spent): the next run deploys the whole release.
    control.clear_requests()
    again = ansible.playbook([policies_task(path=str(deployed))],
                             defaults=tenant_connection(ansible)).result("policies")
    assert again["uploaded"] == [BASE, LOCALIZATION, EXTENSIONS, NEW_SIGN_IN, SIGN_IN, SIGN_IN_API]
    assert "rolled_back" not in again


def test_without_rollback_the_uploads_before_a_refusal_stay_and_the_backups_restore_them(
        ansible, control, deployed, tmp_path):
    before = stored_xml(control)
    release(deployed)
    refuse_sign_in(ansible, control)
    # the chapter's recipe: a release's backups in a directory of their own, put back by one b2c_policies task
    deploy, restore = yaml.safe_load(yaml_block_after(REPO_ROOT / "docs" / "policies.md",
                                                      "**Restore a release in one task:**"))
    backups = tmp_path / "backups" / "release-7"
    deploy["entra.b2c.b2c_policies"].update(path=str(deployed), rollback=False, backup_dir=str(backups))
    deploy["ignore_errors"] = True
    restore["entra.b2c.b2c_policies"].update(path=str(backups))
    connection = tenant_connection(ansible)

    run = ansible.playbook([deploy], defaults=connection)
    entry = run.task(deploy["name"])
    result = entry["result"]
    assert entry["status"] == "failed" and result["uploaded"] == RELEASE_UPLOADS and result["rolled_back"] == []
    assert result["msg"].endswith("Already uploaded in this run: %s. Not attempted: none." % ", ".join(RELEASE_UPLOADS))
    assert "Rolled back" not in result["msg"] and ("delete", NEW_SIGN_IN) not in writes(control)
    now = stored_xml(control)
    assert NEW_SIGN_IN in now and "Object id" in now[BASE] and now[SIGN_IN] == before[SIGN_IN]  # half-deployed
    assert [Path(path).name.split(".")[0] for path in result["backup_files"]] == [BASE, LOCALIZATION, EXTENSIONS,
                                                                                  SIGN_IN_API]

    # The restore: what the release replaced is back; what it created stays (a restore deletes nothing).
    restored = ansible.playbook([restore], defaults=connection).result(restore["name"])
    # Base and Extensions differ; Localization and SignInForApi compare equal but extend them (reupload_dependents)
    assert restored["uploaded"] == [BASE, LOCALIZATION, EXTENSIONS, SIGN_IN_API]
    now = stored_xml(control)
    assert says_the_same({policy_id: now[policy_id] for policy_id in before}) == says_the_same(before)
    assert NEW_SIGN_IN in now

    # state absent keeps a copy too, of every policy it deletes, bases first
    control.clear_requests()
    removed = ansible.playbook([policies_task(path=str(deployed), state="absent", backup=True,
                                              backup_dir=str(tmp_path / "removed"))], defaults=connection)
    result = removed.result("policies")
    assert result["deleted"] == [NEW_SIGN_IN, SIGN_IN, SIGN_IN_API, EXTENSIONS, LOCALIZATION, BASE]
    assert [Path(path).name.split(".")[0] for path in result["backup_files"]] == [  # level by level, bases first
        BASE, LOCALIZATION, EXTENSIONS, NEW_SIGN_IN, SIGN_IN, SIGN_IN_API]
    assert all(Path(path).read_text(encoding="utf-8") == now[Path(path).name.split(".")[0]]
               for path in result["backup_files"])
    assert control.policies() == []


GERMAN, JAPANESE, LATIN1 = "Anmelden – Größe, Straße, Ärger", "サインイン（メールアドレスを確認）", "Objektkennung für Größe"


def test_localized_text_round_trips_and_compares_equal_on_the_next_run(ansible, control, policy_dir):
    seed_keys(control)
    resources = "".join(
        '<LocalizedResources Id="api.signin.%s"><LocalizedStrings><LocalizedString ElementType="UxElement" '
        'StringId="heading">%s</LocalizedString></LocalizedStrings></LocalizedResources>' % (language, text)
        for language, text in (("de", GERMAN), ("ja", JAPANESE)))
    edit(policy_dir / "TrustFrameworkLocalization.xml", "</Localization>", resources + "</Localization>")
    base = policy_dir / "TrustFrameworkBase.xml"  # a file in another encoding, saying so
    text = base.read_text(encoding="utf-8").replace("User object id", LATIN1)
    base.write_bytes(text.replace('encoding="utf-8"', 'encoding="ISO-8859-1"').encode("iso-8859-1"))
    task = policies_task(path=str(policy_dir))

    first = ansible.playbook([task], defaults=tenant_connection(ansible)).result("policies")
    assert first["uploaded"] == UPLOAD_ORDER
    uploads = [entry for entry in control.requests() if entry["route"] == "policies.put"]
    assert {entry["content_type"] for entry in uploads} == {"application/xml; charset=utf-8"}
    stored = {policy["id"]: policy["content"] for policy in control.policies(content=True)}
    assert GERMAN in stored["B2C_1A_Basic_Localization"] and JAPANESE in stored["B2C_1A_Basic_Localization"]
    assert LATIN1 in stored[BASE] and "\ufffd" not in "".join(stored.values())

    control.clear_requests()
    again = ansible.playbook([task], defaults=tenant_connection(ansible)).result("policies")
    assert again["changed"] is False and {entry["reason"] for entry in again["results"]} == {"unchanged"}
    assert "policies.put" not in routes(control)


def test_uploads_run_one_at_a_time_unless_parallel_uploads_opts_in(ansible, control, policy_dir):
    seed_keys(control)
    control.configure(latency_ms=300)
    first = ansible.playbook([policies_task(path=str(policy_dir))], defaults=tenant_connection(ansible))
    assert first.rc == 0, first.output[-3000:]
    assert puts(control) == UPLOAD_ORDER and max_overlap(control, "policies.put") == 1

    # The opt-in: a changed base re-uploads its two relying parties, which share a level and go side by side.
    edit(policy_dir / "TrustFrameworkExtensions.xml", ">3600<", ">1200<")
    control.clear_requests()
    result = ansible.playbook([policies_task(path=str(policy_dir), parallel_uploads=4)],
                              defaults=tenant_connection(ansible)).result("policies")
    assert result["uploaded"] == [EXTENSIONS, SIGN_IN, SIGN_IN_API]
    assert in_levels(puts(control), LEVELS[2:]) and max_overlap(control, "policies.put") == 2
