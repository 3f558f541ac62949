# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""id_prefix end to end: a new version of the test policy set beside the live one, chained to itself, then the old
version pruned, leaves first - the release recipe of docs/policies.md, its tasks as the chapter writes them, through
the real ansible-playbook."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT, routes
from policy_helpers import (
    BASE,
    EXTENSIONS,
    LEVELS,
    SIGN_IN,
    SIGN_IN_API,
    UPLOAD_ORDER,
    in_levels,
    policies_task,
    puts,
    render,
    seed_keys,
    tenant_connection,
)

NAMESPACE = "{http://schemas.microsoft.com/online/cpim/schemas/2013/06}"
FENCE = re.compile(r"^```(?P<lang>[a-z]*)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)


def v2(policy_id: str, prefix: str = "V2_") -> str:
    return policy_id.replace("B2C_1A_", "B2C_1A_" + prefix, 1)


@pytest.fixture()
def deployed(ansible, control, tmp_path) -> Path:
    """Keys and the whole set in the tenant as the live version (no prefix); the request log cleared."""
    policy_dir = render(tmp_path / "policies", ansible.emulator.tenant_domain)
    seed_keys(control)
    run = ansible.playbook([policies_task(path=str(policy_dir))], defaults=tenant_connection(ansible))
    assert run.rc == 0, run.output[-3000:]
    control.clear_requests()
    return policy_dir


def stored(control) -> dict:
    """The tenant's policies: {id: (PublicPolicyUri, BasePolicy PolicyId or None, the XML as the tenant answers it)}."""
    held = {}
    for policy in control.policies(content=True):
        root = ET.fromstring(policy["content"])
        base = root.find(NAMESPACE + "BasePolicy")
        held[policy["id"]] = (root.get("PublicPolicyUri"), None if base is None else base.findtext(NAMESPACE + "PolicyId"),
                              policy["content"])
    return held


def recipe_task(marker: str, policy_dir: Path) -> dict:
    """The task of the YAML block after `marker` in docs/policies.md, for the test set: its directory, and the pattern
    of its ids (B2C_1A_Basic_...) for the chapter's B2C_1A_Contoso_..."""
    text = (REPO_ROOT / "docs" / "policies.md").read_text(encoding="utf-8")
    assert marker in text, "%r is not in policies.md" % marker
    match = FENCE.search(text, text.index(marker))
    assert match and match.group("lang") == "yaml", "no YAML block after %r in policies.md" % marker
    [task] = yaml.safe_load(match.group("body").replace("B2C_1A_Contoso_", "B2C_1A_Basic_"))
    task["entra.b2c.b2c_policies"]["path"] = str(policy_dir)
    return task


def deletions(control) -> list:
    return [entry["policy"] for entry in control.requests() if entry["route"] == "policies.delete"]


def test_a_new_version_goes_in_beside_the_live_one_and_then_retires_it_leaves_first(ansible, control, deployed):
    connection = tenant_connection(ansible)
    live = stored(control)
    task = recipe_task("**1. Deploy the new version beside the live one.**", deployed)
    assert task["entra.b2c.b2c_policies"]["id_prefix"] == "V2_"

    # The same files with id_prefix: a second set, chained to itself; the live one is neither read nor written.
    result = ansible.playbook([task], defaults=connection).result(task["name"])
    assert result["changed"] is True and result["uploaded"] == [v2(policy_id) for policy_id in UPLOAD_ORDER]
    assert result["levels"] == [[v2(policy_id) for policy_id in level] for level in LEVELS]
    assert result["extra"] == sorted(UPLOAD_ORDER, key=str.upper)
    assert in_levels(puts(control), [[v2(policy_id) for policy_id in level] for level in LEVELS])
    assert "policies.get" not in routes(control)
    held = stored(control)
    assert sorted(held) == sorted(UPLOAD_ORDER + [v2(policy_id) for policy_id in UPLOAD_ORDER])
    assert {policy_id: held[policy_id] for policy_id in UPLOAD_ORDER} == live
    domain = ansible.emulator.tenant_domain
    for policy_id in UPLOAD_ORDER:
        uri, base, content = held[v2(policy_id)]
        assert uri == "http://%s/%s" % (domain, v2(policy_id))
        assert base == (v2(live[policy_id][1]) if live[policy_id][1] else None)
        # nothing else changed (the key sets' names, B2C_1A_TokenSigningKeyContainer, included)
        assert content.replace("B2C_1A_V2_", "B2C_1A_") == live[policy_id][2]

    # A second run of the new version compares equal and writes nothing.
    control.clear_requests()
    again = ansible.playbook([task], defaults=connection).result(task["name"])
    assert again["changed"] is False and again["uploaded"] == [] and puts(control) == []
    assert [entry["reason"] for entry in again["results"]] == ["unchanged"] * len(UPLOAD_ORDER)

    # Once the applications use the new version: prune the old one (its ids, B2C_1A_Basic_*, and not the new
    # B2C_1A_V2_Basic_*), what extends another first; check mode predicts it.
    retire = recipe_task("**4. Retire the old version**", deployed)
    assert retire["entra.b2c.b2c_policies"]["prune_pattern"] == "B2C_1A_Basic_*"
    control.clear_requests()
    predicted = ansible.playbook([retire], defaults=connection, check=True).result(retire["name"])
    assert deletions(control) == []
    result = ansible.playbook([retire], defaults=connection).result(retire["name"])
    assert result["changed"] is True and result["uploaded"] == []
    assert result["pruned"] == predicted["pruned"] == deletions(control)
    assert in_levels(deletions(control), list(reversed(LEVELS)))
    assert sorted(policy["id"] for policy in control.policies()) == sorted(v2(policy_id) for policy_id in UPLOAD_ORDER)


def test_a_base_outside_the_set_keeps_its_id_and_absent_removes_only_the_prefixed_set(ansible, control, deployed):
    connection = tenant_connection(ansible)
    relying_parties = deployed / "relying_parties"
    render(relying_parties, ansible.emulator.tenant_domain)
    for path in relying_parties.glob("*.xml"):
        if path.name not in ("SignIn.xml", "SignInForApi.xml"):
            path.unlink()
    task = policies_task(path=str(relying_parties), id_prefix="V3_")

    # New relying parties on the live bases: the base lives only in the tenant, so the reference to it stays.
    result = ansible.playbook([task], defaults=connection).result("policies")
    assert result["uploaded"] == [v2(SIGN_IN, "V3_"), v2(SIGN_IN_API, "V3_")]
    assert [entry["base_policy"] for entry in result["results"]] == [EXTENSIONS, EXTENSIONS]
    assert stored(control)[v2(SIGN_IN, "V3_")][1] == EXTENSIONS

    # state=absent with the prefix deletes the prefixed set and nothing of the live one.
    control.clear_requests()
    gone = ansible.playbook([policies_task(path=str(relying_parties), id_prefix="V3_", state="absent")],
                            defaults=connection).result("policies")
    assert gone["deleted"] == [v2(SIGN_IN, "V3_"), v2(SIGN_IN_API, "V3_")] == deletions(control)
    assert sorted(policy["id"] for policy in control.policies()) == sorted(UPLOAD_ORDER)

    # A prefix that repeats B2C_1A_ is refused before any request, saying what to give.
    control.clear_requests()
    refused = ansible.playbook([policies_task(path=str(deployed), id_prefix="B2C_1A_V2_")], defaults=connection)
    assert refused.task("policies")["status"] == "failed"
    assert refused.result("policies")["msg"] == ("id_prefix: 'B2C_1A_V2_' begins with B2C_1A_, which every policy id "
                                                 "already has; give only what goes after it, V2_")
    assert routes(control) == [] and BASE in [policy["id"] for policy in control.policies()]
