# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The whole tenant planned, then applied, without Ansible: b2c_ief_tenant's flow on a real RunContext over fake key
set and policy APIs. Every refusal (a key entry, a key set no policy can find, another tenant, a missing permission,
the 200-policy limit) comes before the first write; the apply writes what the plan listed and reads nothing the plan
read; a refusal half-way is rolled back; messages name the role's variables when the role runs the module."""

from __future__ import annotations

import base64
import json
import threading
import types

import pytest

from ansible_collections.entra.b2c.plugins.module_utils._core.context import RememberedReads, RunContext
from ansible_collections.entra.b2c.plugins.module_utils._core.errors import TaskFailed, UserError
from ansible_collections.entra.b2c.plugins.module_utils._core.graph import GraphError
from ansible_collections.entra.b2c.plugins.module_utils._core.module import GRAPH_ARGUMENT_SPEC
from ansible_collections.entra.b2c.plugins.module_utils._keysets.api import KeysetGraph
from ansible_collections.entra.b2c.plugins.module_utils._policies.api import PolicyGraph
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import policy_key
from ansible_collections.entra.b2c.plugins.module_utils._tenant.flow import ensure_tenant
from ansible_collections.entra.b2c.plugins.module_utils._tenant.plan import (
    app_settings,
    key_entries,
    planned_writes,
    worded,
)

TENANT = "contoso.onmicrosoft.com"
TENANT_ID = "8d0b4c1e-3f6a-4b2d-9e7c-5a1f2b3c4d5e"
NOW = 1_800_000_000
BASE, EXT, RP = "B2C_1A_Base", "B2C_1A_Ext", "B2C_1A_SignIn"
CHAIN = {BASE: None, EXT: BASE, RP: EXT}
ALL_ROLES = ("TrustFrameworkKeySet.ReadWrite.All", "Policy.ReadWrite.TrustFramework")


def xml(policy_id: str, version: str = "v1", keyset: str | None = None, tenant: str = TENANT) -> str:
    base = CHAIN.get(policy_id)
    base_block = f"<BasePolicy><TenantId>{tenant}</TenantId><PolicyId>{base}</PolicyId></BasePolicy>" if base else ""
    key = (f"<ClaimsProviders><ClaimsProvider><DisplayName>JWT</DisplayName><TechnicalProfiles><TechnicalProfile Id="
           f'"JwtIssuer"><CryptographicKeys><Key Id="issuer_secret" StorageReferenceId="{keyset}"/></CryptographicKeys>'
           f"</TechnicalProfile></TechnicalProfiles></ClaimsProvider></ClaimsProviders>") if keyset else ""
    return (f'<TrustFrameworkPolicy xmlns="http://schemas.microsoft.com/online/cpim/schemas/2013/06" '
            f'PolicySchemaVersion="0.3.0.0" TenantId="{tenant}" PolicyId="{policy_id}" '
            f'PublicPolicyUri="http://{tenant}/{version}/{policy_id}">{base_block}{key}</TrustFrameworkPolicy>')


def encoded(part: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")


def token(roles: tuple | None) -> str:
    claims = {"tid": TENANT_ID, **({"roles": list(roles)} if roles is not None else {})}
    return f"{encoded({'alg': 'none'})}.{encoded(claims)}.sig"


class Tenant:
    """The key set and policy APIs of one fake tenant: every call recorded, writes in order."""

    def __init__(self, policies: dict[str, str] | None = None, keysets: tuple = (), refuse: str | None = None):
        self.policies = {policy_key(policy_id): (policy_id, content.encode()) for policy_id, content in (policies or {}).items()}
        self.keysets = {name: [{"kid": f"{name}-1", "use": "sig", "kty": "RSA", "nbf": NOW - 10, "exp": NOW + 400 * 86400}]
                        for name in keysets}
        self.refuse = refuse
        self.calls: list[tuple] = []
        self.lock = threading.Lock()

    def record(self, *call) -> None:
        with self.lock:
            self.calls.append(call)

    def writes(self) -> list[tuple]:
        return [call for call in self.calls if call[0] in ("put", "delete", "create_keyset", "add_key")]

    def reads(self, name: str) -> list[tuple]:
        return [call for call in self.calls if call[0] == name]

    # PolicyGraph
    def list_ids(self):
        self.record("list_ids")
        return [policy_id for policy_id, _content in self.policies.values()]

    def get_xml(self, policy_id):
        self.record("get_xml", policy_id)
        found = self.policies.get(policy_key(policy_id))
        return None if found is None else found[1]

    def put_xml(self, policy_id, body, base_just_uploaded=None, replication=None, present_keysets=frozenset()):
        if policy_id == self.refuse:
            raise GraphError(f"Graph PUT {policy_id} failed: Validation failed", status=400, code="AADB2C")
        self.record("put", policy_id)
        self.policies[policy_key(policy_id)] = (policy_id, body if isinstance(body, bytes) else body.encode())

    def delete(self, policy_id):
        self.record("delete", policy_id)
        return self.policies.pop(policy_key(policy_id), None) is not None

    # KeysetGraph
    def get_keyset(self, keyset_id):
        self.record("get_keyset", keyset_id)
        keys = self.keysets.get(keyset_id)
        return None if keys is None else {"id": keyset_id, "keys": list(keys)}

    def list_keysets(self):
        self.record("list_keysets")
        return [{"id": name} for name in self.keysets]

    def create_keyset(self, name):
        self.record("create_keyset", name)
        self.keysets[name] = []
        return {"id": name, "keys": []}

    def replication_budget(self):
        return types.SimpleNamespace(waited=0)

    def add_key(self, keyset_id, action, body, landed, replication):
        self.record("add_key", keyset_id)
        key = {"kid": f"{keyset_id}-new", "use": body.get("use"), "kty": "RSA", "nbf": body.get("nbf"),
               "exp": body.get("exp")}
        self.keysets[keyset_id].append(key)
        return key


def tenant_run(tenant: Tenant, roles: tuple | None = ALL_ROLES, check_mode: bool = False, **options) -> RunContext:
    params = {name: None for name in GRAPH_ARGUMENT_SPEC}
    params.update(tenant_id=TENANT, policies=[{"content": xml(policy_id), "source": policy_id + ".xml"} for policy_id in CHAIN],
                  state="present", keysets=[], valid_for="365d", renew_before="30d", apps=False, reupload_dependents=False,
                  prune=False, prune_pattern=None, id_prefix=None, role_variables=False, rollback=True, backup=False, backup_dir=None,
                  settings=None, appsettings=None, environment=None)
    params.update(options)
    run = RunContext(params, check_mode=check_mode, now=NOW)
    discovery = types.SimpleNamespace(status_code=200, json=lambda: {"issuer": f"https://login.example/{TENANT_ID}/v2.0"})
    run._client = types.SimpleNamespace(  # pylint: disable=protected-access
        tenant=params["tenant_id"], identity=lambda name: f"unit-{id(tenant)}-{name}",
        wait_budget=lambda *args: types.SimpleNamespace(waited=0),
        tokens=types.SimpleNamespace(token=lambda: token(roles), authority_host="https://login.example",
                                     http_client=types.SimpleNamespace(get=lambda url: discovery)))
    run._apis.update({PolicyGraph: tenant, KeysetGraph: tenant})  # pylint: disable=protected-access
    return run


def failure(run: RunContext) -> TaskFailed:
    with pytest.raises(TaskFailed) as caught:
        ensure_tenant(run)
    return caught.value


SIGNING = {"keyset": "TokenSigningKeyContainer", "use": "sig"}


# ---- plan, then apply -----------------------------------------------------------------------------------------------
def test_a_tenant_with_nothing_to_change_is_read_once_and_never_written():
    tenant = Tenant({policy_id: xml(policy_id) for policy_id in CHAIN}, keysets=("B2C_1A_TokenSigningKeyContainer",))
    result = ensure_tenant(tenant_run(tenant, keysets=[SIGNING]))
    assert result["changed"] is False and result["writes"] == [] and tenant.writes() == []
    assert len(tenant.reads("get_xml")) == 3 and len(tenant.reads("list_ids")) == 1
    assert len(tenant.reads("get_keyset")) == 1


def test_a_first_deploy_writes_what_the_plan_listed_keys_first_and_reads_the_policies_once():
    tenant = Tenant()
    planned = ensure_tenant(tenant_run(tenant, check_mode=True, keysets=[SIGNING]))
    assert tenant.writes() == []
    assert planned["writes"] == ["B2C_1A_TokenSigningKeyContainer: key added (keyset_missing)",
                                 f"{BASE}: uploaded", f"{EXT}: uploaded", f"{RP}: uploaded"]

    tenant = Tenant()
    done = ensure_tenant(tenant_run(tenant, keysets=[SIGNING]))
    assert done["writes"] == planned["writes"]
    assert tenant.writes() == [("create_keyset", "B2C_1A_TokenSigningKeyContainer"),
                               ("add_key", "B2C_1A_TokenSigningKeyContainer"),
                               ("put", BASE), ("put", EXT), ("put", RP)]
    # the apply replays the plan's policy reads; the key set is read again under its lock, as a key needs it
    assert len(tenant.reads("list_ids")) == 1 and tenant.reads("get_xml") == []
    assert len(tenant.reads("get_keyset")) == 2
    assert done["keysets"][0]["changed"] and done["keysets"][0]["kid"] == "B2C_1A_TokenSigningKeyContainer-new"


def test_a_family_whose_plan_writes_nothing_is_not_run_again():
    tenant = Tenant({BASE: xml(BASE), EXT: xml(EXT), RP: xml(RP, "v0")}, keysets=("B2C_1A_TokenSigningKeyContainer",))
    result = ensure_tenant(tenant_run(tenant, keysets=[SIGNING]))
    assert tenant.writes() == [("put", RP)] and result["policies"]["uploaded"] == [RP]
    assert len(tenant.reads("get_keyset")) == 1  # planned unchanged: not read again


# ---- every refusal before the first write -----------------------------------------------------------------------------
def test_a_key_set_no_entry_ensures_is_refused_before_the_keys_are_written():
    policies = [{"content": xml(BASE, keyset="B2C_1A_FacebookSecret"), "source": "Base.xml"}]
    tenant = Tenant()
    error = failure(tenant_run(tenant, keysets=[SIGNING], policies=policies))
    assert "B2C_1A_FacebookSecret" in str(error) and "name it in keysets" in str(error)
    assert tenant.writes() == []


def test_a_token_without_the_policy_permission_is_refused_before_the_keys_are_written():
    tenant = Tenant()
    error = failure(tenant_run(tenant, roles=("TrustFrameworkKeySet.ReadWrite.All",), keysets=[SIGNING]))
    assert "Policy.ReadWrite.TrustFramework" in str(error) and tenant.writes() == []


def test_a_token_without_the_key_set_permission_is_refused_before_any_write():
    tenant = Tenant()
    error = failure(tenant_run(tenant, roles=("Policy.ReadWrite.TrustFramework",), keysets=[SIGNING]))
    assert "TrustFrameworkKeySet.ReadWrite.All" in str(error) and tenant.writes() == []
    assert "nothing was written" in str(error).lower()


def test_the_limit_of_custom_policies_is_counted_before_the_keys_are_written():
    held = {f"B2C_1A_Other{index:03d}": xml(BASE).replace(BASE, f"B2C_1A_Other{index:03d}") for index in range(199)}
    tenant = Tenant(held)
    error = failure(tenant_run(tenant, keysets=[SIGNING]))
    assert "202 custom policies" in str(error) and tenant.writes() == []


def test_policies_of_another_tenant_are_refused_before_the_keys_are_written():
    """The credential's tenant is a GUID; the files name a domain whose discovery answers another tenant's id."""
    tenant = Tenant()
    run = tenant_run(tenant, keysets=[SIGNING], tenant_id="0f0f0f0f-1111-2222-3333-444444444444",
                     policies=[{"content": xml(policy_id), "source": policy_id + ".xml"} for policy_id in CHAIN])
    run._client.tenant = "0f0f0f0f-1111-2222-3333-444444444444"  # pylint: disable=protected-access
    error = failure(run)
    assert TENANT in str(error) and tenant.writes() == []


# ---- a refusal half-way -------------------------------------------------------------------------------------------
def test_a_policy_refused_half_way_is_rolled_back_and_the_summary_says_what_was_written():
    tenant = Tenant({BASE: xml(BASE, "v0"), EXT: xml(EXT, "v0"), RP: xml(RP, "v0")},
                    keysets=("B2C_1A_TokenSigningKeyContainer",))
    tenant.refuse = RP
    error = failure(tenant_run(tenant, keysets=[SIGNING]))
    assert error.result["policies"]["rolled_back"] == [EXT, BASE] or error.result["policies"]["rolled_back"] == [BASE, EXT]
    # bases first: the previous copies put back in the order they were uploaded
    assert tenant.writes() == [("put", BASE), ("put", EXT), ("put", BASE), ("put", EXT)]
    assert tenant.policies[policy_key(BASE)][1] == xml(BASE, "v0").encode()
    assert f"{BASE}: rolled back" in str(error) and f"{RP}" in str(error)


# ---- the pure part ----------------------------------------------------------------------------------------------------
def test_key_entries_are_checked_together_before_any_request():
    with pytest.raises(UserError) as caught:
        key_entries([{"keyset": "A", "use": "sig"}, {"keyset": "B2C_1A_A", "use": "enc"},
                     {"keyset": "C", "type": "secret", "use": "sig"},
                     {"keyset": "D", "type": "certificate", "use": "sig", "certificate_path": "/x"},
                     {"keyset": "E", "type": "certificate"}, {"keyset": "F", "use": "verify"}], "365d", "30d")
    message = str(caught.value)
    assert message.startswith("3 problem(s) in keysets, nothing was sent")
    assert "keysets[1]: key set B2C_1A_A is listed twice (also at keysets[0])" in message
    assert "keysets[3] (D): use not taken by a certificate entry" in message
    assert "keysets[5] (F): use is verify; give sig or enc" in message
    assert "(C)" not in message and "(E)" not in message  # without a value: kept as the tenant holds it


def test_a_secret_or_certificate_entry_without_its_value_keeps_what_the_tenant_holds():
    kept = key_entries([{"keyset": "FacebookSecret", "type": "secret", "use": "sig"},
                        {"keyset": "SamlCert", "type": "certificate"}], "365d", "30d")
    assert [(entry.kind, entry.options["use"]) for entry in kept] == [("kept", "sig"), ("kept", None)]
    tenant = Tenant({policy_id: xml(policy_id) for policy_id in CHAIN}, keysets=("B2C_1A_FacebookSecret",))
    result = ensure_tenant(tenant_run(tenant, keysets=[{"keyset": "FacebookSecret", "type": "secret", "use": "sig"}]))
    assert result["keysets"][0]["reason"] == "kept" and tenant.writes() == []
    error = failure(tenant_run(Tenant(), keysets=[{"keyset": "SamlCert", "type": "certificate"}]))
    assert "B2C_1A_SamlCert does not exist" in str(error) and "give a certificate" in str(error)


def test_key_entries_take_the_defaults_and_lower_case_use():
    entries = key_entries([{"keyset": "TokenSigningKeyContainer", "use": "SIG"},
                           {"keyset": "Secret", "type": "secret", "use": "enc", "secret": "s", "valid_for": "90d"}],
                          "365d", "30d")
    assert entries[0].keyset == "B2C_1A_TokenSigningKeyContainer" and entries[0].options["use"] == "sig"
    assert entries[0].options["kty"] == "RSA" and entries[0].options["valid_for"] == "365d"
    assert entries[1].kind == "secret" and entries[1].options["kty"] == "oct" and entries[1].options["valid_for"] == "90d"
    assert entries[1].options["update_secret"] == "on_create"


def test_the_tenants_app_ids_replace_given_ones_with_a_notice():
    filled, notices = app_settings({"identityExperienceFrameworkAppId": "old", "Tenant": TENANT}, "new-ief", "new-proxy")
    assert filled == {"Tenant": TENANT, "IdentityExperienceFrameworkAppId": "new-ief",
                      "ProxyIdentityExperienceFrameworkAppId": "new-proxy"}
    assert notices == ["settings.IdentityExperienceFrameworkAppId: old replaced by the tenant's new-ief, the "
                       "application id of its app registration"]
    assert app_settings({"IdentityExperienceFrameworkAppId": "NEW-IEF"}, "new-ief", None)[1] == []


def test_planned_writes_in_apply_order():
    lines = planned_writes([{"keyset": "B2C_1A_K", "changed": True, "reason": "keyset_missing"},
                            {"keyset": "B2C_1A_L", "changed": False, "reason": "valid"}],
                           {"identity_experience_framework": {"changes": ["application created"]},
                            "admin_consent_changes": ["a -> b: openid granted"]},
                           {"uploaded": [BASE], "pruned": ["B2C_1A_Old"]})
    assert lines == ["B2C_1A_K: key added (keyset_missing)", "identity_experience_framework: application created",
                     "admin consent: a -> b: openid granted", f"{BASE}: uploaded", "B2C_1A_Old: deleted"]


@pytest.mark.parametrize("message, module, role", [
    ("tenant_domain: required when tenant_id is a GUID", "settings.Tenant: required when tenant_id is a GUID",
     "ief_tenant_settings.Tenant: required when tenant_id is a GUID"),
    ("no setting of that name: set settings.FacebookDisplayName", None,
     "no setting of that name: set ief_tenant_settings.FacebookDisplayName"),
    ("run creates it, name it in ensured_keysets.", "run creates it, name it in keysets.",
     "run creates it, name it in policy_keys_keysets."),
    ("keysets[1] (B2C_1A_X): use: give sig", None, "policy_keys_keysets[1] (B2C_1A_X): use: give sig"),
    ("appsettings: cannot read appsettings.json", None, "ief_tenant_appsettings: cannot read appsettings.json"),
    ("client_secret: is empty", None, "ief_tenant_connection.client_secret: is empty"),
    ("the environment variables and the settings of the state", None, None),
])
def test_messages_name_what_the_user_set(message, module, role):
    assert worded(message, False) == (module or message)
    assert worded(message, True) == (role or module or message)


def test_remembered_reads_answer_as_before_until_the_first_write():
    tenant = Tenant({BASE: xml(BASE)})
    remembered = RememberedReads(tenant, ("get_xml", "list_ids"))
    assert remembered.get_xml(BASE) == remembered.get_xml(BASE) and len(tenant.reads("get_xml")) == 1
    remembered.put_xml(BASE, xml(BASE, "v2"))
    assert b"v2" in remembered.get_xml(BASE) and len(tenant.reads("get_xml")) == 2
