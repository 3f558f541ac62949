# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Key sets before policies (plugins/module_utils/_policies/keysets.py): which key sets are missing, the refusal, and the
upload sent again while B2C replicates a key set that exists (scripted session; e2e covers the emulator)."""

from __future__ import annotations

import pytest

from ansible_collections.entra.b2c.plugins.module_utils._keysets.api import REPLICATION_BUDGET, replication_budget
from ansible_collections.entra.b2c.plugins.module_utils._core.graph import GraphClient, GraphError
from ansible_collections.entra.b2c.plugins.module_utils._keysets.keys import KeyInputError
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import PolicyError, parse_policy
from ansible_collections.entra.b2c.plugins.module_utils._policies.api import PolicyGraph
from ansible_collections.entra.b2c.plugins.module_utils._policies.keysets import (
    awaits_keyset_replication,
    check_keysets,
    ensured_keyset_ids,
    missing_keysets,
    missing_message,
    refused_keysets,
)

from ansible_collections.entra.b2c.tests.unit.plugins.module_utils.test_graph import (
    FakeResponse,
    ScriptedSession,
    Tokens,
    graph_error,
)

TENANT = "contoso.onmicrosoft.com"
NAMESPACE = "http://schemas.microsoft.com/online/cpim/schemas/2013/06"
SIGNING, ENCRYPTION = "B2C_1A_TokenSigningKeyContainer", "B2C_1A_TokenEncryptionKeyContainer"


def refusal(*keysets: str) -> str:
    return (f'Validation failed: {len(keysets)} validation error(s) found in policy "B2C_1A_BASE" of tenant "{TENANT}".' +
            "".join(f'Tenant "{TENANT}" does not have CryptographicKey referenced by storageReferenceId "{name}".'
                    for name in keysets))


def policy(policy_id: str, *keysets: str, source: str = "content"):
    keys = "".join(f'<Key StorageReferenceId="{name}"/>' for name in keysets)
    return parse_policy(f'<TrustFrameworkPolicy xmlns="{NAMESPACE}" PolicySchemaVersion="0.3.0.0" TenantId="{TENANT}" '
                        f'PolicyId="{policy_id}" PublicPolicyUri="http://{TENANT}/{policy_id}">{keys}'
                        "</TrustFrameworkPolicy>", source)


def test_missing_key_sets_name_every_policy_that_references_them():
    base = policy("B2C_1A_Base", SIGNING, ENCRYPTION, source="dir/TrustFrameworkBase.xml")
    extensions = policy("B2C_1A_Ext", SIGNING, "B2C_1A_Facebook")
    missing = missing_keysets([base, extensions], present=["b2c_1a_tokenencryptionkeycontainer"], ensured=[])
    assert {name: [item.policy_id for item in items] for name, items in missing.items()} == {
        SIGNING: ["B2C_1A_Base", "B2C_1A_Ext"], "B2C_1A_Facebook": ["B2C_1A_Ext"]}
    lines = missing_message(missing).splitlines()
    assert lines[0].startswith("2 key set(s) the policies reference (StorageReferenceId) do not exist in the tenant")
    assert lines[1] == f"{SIGNING}: referenced by B2C_1A_Base (dir/TrustFrameworkBase.xml), B2C_1A_Ext (content)"
    assert lines[2] == "B2C_1A_Facebook: referenced by B2C_1A_Ext (content)"
    assert "policy_keys role" in lines[3] and "ensured_keysets" in lines[3]


def test_ensured_key_sets_count_as_present_with_or_without_prefix():
    ensured = ensured_keyset_ids(["TokenSigningKeyContainer", "B2C_1A_TokenEncryptionKeyContainer"])
    assert ensured == [SIGNING, ENCRYPTION]
    assert missing_keysets([policy("B2C_1A_Base", SIGNING, ENCRYPTION)], present=[], ensured=ensured) == {}
    with pytest.raises(KeyInputError, match=r"ensured_keysets\[1\]"):
        ensured_keyset_ids(["Good", "bad/name"])


def test_refused_key_sets_are_read_from_b2cs_message():
    assert refused_keysets(refusal(SIGNING, ENCRYPTION)) == [SIGNING, ENCRYPTION]
    assert refused_keysets("Policy with 'policyId': B2C_1A_EXT cannot be found") == []


@pytest.mark.parametrize("status, keysets, present, waits", [
    (400, (SIGNING,), {SIGNING.upper()}, True),
    (400, (SIGNING, ENCRYPTION), {SIGNING.upper()}, False),  # one of them is not known to exist: no use waiting
    (400, (), {SIGNING.upper()}, False),
    (403, (SIGNING,), {SIGNING.upper()}, False),
])
def test_an_upload_waits_only_for_key_sets_known_to_exist(status, keysets, present, waits):
    error = GraphError(refusal(*keysets) if keysets else "other", status=status, code="AADB2C")
    assert awaits_keyset_replication(error, present) is waits


def graph(*script):
    sleeps = []
    client = GraphClient(ScriptedSession(*script), "https://graph.example", Tokens(), sleep=sleeps.append,
                         rand=lambda: 1.0)
    return PolicyGraph(client), client, sleeps


def test_an_upload_refused_for_a_replicating_key_set_is_sent_again_and_the_wait_reported():
    policies, client, sleeps = graph(graph_error(400, "AADB2C", refusal(SIGNING)),
                                     graph_error(400, "AADB2C", refusal(SIGNING)), FakeResponse(200, {}))
    replication = replication_budget(client)
    policies.put_xml("B2C_1A_Base", b"<p/>", replication=replication, present_keysets=frozenset({SIGNING.upper()}))
    assert len(sleeps) == 2 and replication.waited == pytest.approx(sum(sleeps)) and replication.waited > 0


def test_a_key_set_that_never_replicates_fails_within_the_budget_saying_so():
    policies, client, sleeps = graph(*[graph_error(400, "AADB2C", refusal(SIGNING))] * 40)
    with pytest.raises(GraphError) as caught:
        policies.put_xml("B2C_1A_Base", b"<p/>", replication=replication_budget(client),
                         present_keysets=frozenset({SIGNING.upper()}))
    assert sum(sleeps) <= REPLICATION_BUDGET
    assert "has not made it usable for policies yet (created moments ago, or it holds no key yet): gave up after" in str(
        caught.value)


def test_an_unknown_key_set_is_not_waited_for():
    policies, client, sleeps = graph(graph_error(400, "AADB2C", refusal(SIGNING)))
    with pytest.raises(GraphError) as caught:
        policies.put_xml("B2C_1A_Base", b"<p/>", replication=replication_budget(client), present_keysets=frozenset())
    assert sleeps == [] and "create it first" in str(caught.value)


class FakeModule:
    """What check_keysets uses of a module: params, warn and a client whose key set list is scripted."""

    def __init__(self, listed=None, error=None, ensured=()):
        self.params = {"ensured_keysets": list(ensured)}
        self.warnings = []
        self.lists = 0
        self.listed, self.error = listed or [], error

    def warn(self, message):
        self.warnings.append(message)

    def api(self, _factory):  # the key set API
        return self

    def list_keysets(self):
        self.lists += 1
        if self.error is not None:
            raise self.error
        return [{"id": name, "keys": []} for name in self.listed]


def test_check_keysets_lists_once_and_refuses_what_is_missing():
    module = FakeModule(listed=[SIGNING], ensured=["TokenEncryptionKeyContainer"])
    assert check_keysets(module, [policy("B2C_1A_Base", SIGNING, ENCRYPTION)]) == {SIGNING.upper(), ENCRYPTION.upper()}
    assert module.lists == 1 and module.warnings == []
    module = FakeModule(listed=[SIGNING])
    with pytest.raises(PolicyError) as caught:
        check_keysets(module, [policy("B2C_1A_Base", SIGNING, ENCRYPTION)])
    assert caught.value.problems == [f"{ENCRYPTION}: referenced by B2C_1A_Base (content)"]


def test_check_keysets_makes_no_request_without_references_and_warns_when_it_may_not_list():
    module = FakeModule(error=GraphError("denied", status=403))
    assert check_keysets(module, [policy("B2C_1A_Rp")]) == frozenset() and module.lists == 0
    assert check_keysets(module, [policy("B2C_1A_Base", SIGNING)]) == frozenset()
    assert module.lists == 1 and "TrustFrameworkKeySet.Read.All" in module.warnings[0]
    with pytest.raises(GraphError):
        check_keysets(FakeModule(error=GraphError("down", status=500)), [policy("B2C_1A_Base", SIGNING)])


def test_check_keysets_makes_no_request_when_every_referenced_key_set_is_ensured():
    module = FakeModule(error=GraphError("no list expected", status=500),
                        ensured=["TokenSigningKeyContainer", ENCRYPTION.lower()])
    assert check_keysets(module, [policy("B2C_1A_Base", SIGNING, ENCRYPTION)]) == {SIGNING.upper(), ENCRYPTION.upper()}
    assert module.lists == 0
    # one key set more than the ensured ones: listed, and refused when the tenant lacks it
    with pytest.raises(PolicyError):
        check_keysets(FakeModule(ensured=["TokenSigningKeyContainer"]), [policy("B2C_1A_Base", SIGNING, ENCRYPTION)])
