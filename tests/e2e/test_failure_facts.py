# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a failure gives a playbook: `error: {status, code, message, request_id, date}` beside `msg` when Graph answered
(a key set module and a policy module, tested the way a playbook tests them: failed_when and when), and policy files
with a DOCTYPE refused before any request."""

from __future__ import annotations

import json
import re

import yaml

from conftest import REPO_ROOT
from policy_helpers import BASE, edit, render, tenant_connection

ERROR_KEYS = {"status", "code", "message", "request_id", "date"}
GRAPH_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
LAUGHS = "<!DOCTYPE TrustFrameworkPolicy [\n  <!ENTITY lol0 \"lol\">\n" + "".join(
    "  <!ENTITY lol%d \"%s\">\n" % (n, "&lol%d;" % (n - 1) * 10) for n in range(1, 11)) + "]>"
EXTERNAL = '<!DOCTYPE TrustFrameworkPolicy [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>'
DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'


def test_policy_files_with_a_doctype_are_refused_before_any_request(ansible, control, tmp_path):
    laughs = render(tmp_path / "laughs", ansible.emulator.tenant_domain)
    edit(laughs / "TrustFrameworkBase.xml", DECLARATION, DECLARATION + "\n" + LAUGHS)
    edit(laughs / "TrustFrameworkBase.xml", "<DisplayName>User object id</DisplayName>",
         "<DisplayName>&lol10;</DisplayName>")
    external = render(tmp_path / "external", ansible.emulator.tenant_domain) / "SignIn.xml"
    edit(external, DECLARATION, DECLARATION + "\n" + EXTERNAL)
    edit(external, "</TrustFrameworkPolicy>", "<!-- &secret; --></TrustFrameworkPolicy>")
    control.clear_requests()
    run = ansible.playbook([
        {"name": "set", "entra.b2c.b2c_policies": {"path": str(laughs)}, "ignore_errors": True},
        {"name": "one", "entra.b2c.b2c_policy": {"path": str(external)}, "ignore_errors": True},
    ], defaults=tenant_connection(ansible))
    set_result, one_result = run.result("set"), run.result("one")
    assert run.task("set")["status"] == "failed" and run.task("one")["status"] == "failed"
    assert "%s: it has a DOCTYPE declaration" % (laughs / "TrustFrameworkBase.xml") in set_result["msg"]
    assert "%s: it has a DOCTYPE declaration" % external in one_result["msg"]
    for result in (set_result, one_result):
        assert "remove the DOCTYPE" in result["msg"] and "error" not in result
        assert "lollol" not in json.dumps(result) and "root:" not in json.dumps(result)
    assert control.requests() == []  # not even a token: refused before any request


def test_graph_errors_are_fields_a_playbook_tests(ansible, control):
    reader = control.register_app(permissions=["TrustFrameworkKeySet.Read.All"])
    tenant = ansible.emulator.tenant_domain

    def policy(policy_id):
        return ('<TrustFrameworkPolicy xmlns="http://schemas.microsoft.com/online/cpim/schemas/2013/06" '
                'PolicySchemaVersion="0.3.0.0" TenantId="%s" PolicyId="%s" PublicPolicyUri="http://%s/%s">'
                '<ClaimsProviders><ClaimsProvider><DisplayName>x</DisplayName><TechnicalProfiles>'
                '<TechnicalProfile Id="t" /></TechnicalProfiles></ClaimsProvider></ClaimsProviders>'
                '</TrustFrameworkPolicy>' % (tenant, policy_id, tenant, policy_id))

    # What the collection checks before a write passes; the service refuses each upload in its own words.
    for policy_id in (BASE + "A", BASE + "B"):
        control.add_fault("policies.put", [{"status": 400, "code": "AADB2C", "message": (
            'Validation failed: 1 validation error(s) found in policy "%s" of tenant "%s".Claim type "NoSuchClaim%s" '
            "is not defined." % (policy_id.upper(), tenant, policy_id[-1]))}], keyset=policy_id)

    tasks = [
        # A key set module with an app that may only read: tolerated when, and only when, Graph says 403.
        {"name": "batch", "register": "batch",
         "entra.b2c.b2c_keyset_key_batch": {"keysets": [{"keyset": "FactsA", "use": "sig"},
                                                        {"keyset": "FactsB", "use": "enc"}],
                                            "client_id": reader["client_id"],
                                            # from the environment: Ansible shows the play's source around an error
                                            "client_secret": "{{ lookup('env', 'E2E_READER_SECRET') }}"},
         "failed_when": "batch.error is not defined or batch.error.status != 403"},
        # A policy module: two policies of one level, each refused by the service.
        {"name": "policies", "register": "policies", "ignore_errors": True,
         "entra.b2c.b2c_policies": {"policies": [{"content": policy(BASE + "A")}, {"content": policy(BASE + "B")}]}},
        {"name": "when", "ansible.builtin.debug": {
            "msg": "{{ policies.results | selectattr('failed', 'defined') | map(attribute='error.code') | list }}"},
         "when": "policies.error is defined and policies.error.status == 400"},
        {"name": "not-graph", "register": "not_graph", "ignore_errors": True,
         "entra.b2c.b2c_keyset_key": {"keyset": "FactsC", "use": "sig", "valid_for": "soon"}},
    ]
    run = ansible.playbook(tasks, defaults=tenant_connection(ansible),
                           extra_env={"E2E_READER_SECRET": reader["client_secret"]})

    batch = run.task("batch")
    assert batch["status"] == "ok", run.output[-3000:]  # failed_when found error.status 403: the play goes on
    result = batch["result"]
    entries = result["results"]
    assert [entry["error"]["status"] for entry in entries] == [403, 403]
    for entry in entries:
        assert set(entry["error"]) == ERROR_KEYS
        assert entry["error"]["code"] == "Authorization_RequestDenied"
        assert entry["error"]["message"] == "Insufficient privileges to complete the operation."
        assert entry["error"]["request_id"] in entry["msg"] and GRAPH_DATE.match(entry["error"]["date"])
    assert entries[0]["error"]["request_id"] != entries[1]["error"]["request_id"]  # each its own
    assert result["error"] == entries[0]["error"]  # the task's: the first

    policies = run.task("policies")
    assert policies["status"] == "failed"
    result = policies["result"]
    refused = [entry for entry in result["results"] if entry.get("failed")]
    assert [entry["policy"] for entry in refused] == [BASE + "A", BASE + "B"]
    for entry in refused:
        assert set(entry["error"]) == ERROR_KEYS and entry["error"]["status"] == 400
        assert entry["error"]["code"].startswith("AADB2C")
        assert 'Claim type "NoSuchClaim%s"' % entry["policy"][-1] in entry["error"]["message"]
        assert entry["error"]["request_id"] in entry["msg"] and GRAPH_DATE.match(entry["error"]["date"])
    assert refused[0]["error"]["request_id"] != refused[1]["error"]["request_id"]
    assert result["error"] == refused[0]["error"]
    assert "was not uploaded" not in result["error"]["message"]  # Graph's words only; msg has the module's

    when = run.task("when")
    assert when["status"] == "ok" and when["result"]["msg"] == [refused[0]["error"]["code"], refused[1]["error"]["code"]]

    not_graph = run.task("not-graph")
    assert not_graph["status"] == "failed" and "error" not in not_graph["result"]  # refused before any request
    assert "valid_for" in not_graph["result"]["msg"]

    secret_values = control.secrets()
    assert not [value for value in secret_values if value in json.dumps(run.results)]


def test_the_user_guide_example_tolerates_a_403_and_names_the_request(ansible, control):
    """The example of docs/user-guide.md, as written, run by an app without any permission."""
    guide = (REPO_ROOT / "docs" / "user-guide.md").read_text(encoding="utf-8")
    section = guide.split("### Testing a failure in a playbook: `error`", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    nobody = control.register_app(permissions=[])
    defaults = ansible.connection(client_id=nobody["client_id"],
                                  client_secret="{{ lookup('env', 'E2E_NOBODY_SECRET') }}")
    run = ansible.playbook(yaml.safe_load(block), defaults=defaults,
                           extra_env={"E2E_NOBODY_SECRET": nobody["client_secret"]})
    assert run.rc == 0, run.output[-3000:]
    read = run.task("Read a key set that may not be readable yet")
    assert read["status"] == "ok" and read["result"]["error"]["status"] == 403
    said = run.task("Say what a missing permission looks like")
    assert said["status"] == "ok"
    assert said["result"]["msg"] == "Grant the app its Graph permission (request %s)" % read["result"]["error"]["request_id"]
