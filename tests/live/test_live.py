# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Live scenarios: what a user does with the collection, against the tenant of the environment (see conftest.py).

Each scenario works on key sets of its own, so one failure leaves the others meaningful; every set is removed at the
end of the session. Keys are made with short lifetimes: B2C keys cannot be deleted, only their sets.
"""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

import pytest
from conftest import BATCH_MODULE, REPO_ROOT
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID


def task(module: str, name: str = "it", **args) -> dict:
    return {"name": name, "entra.b2c." + module: args, "ignore_errors": True}


def ok(run, name: str = "it") -> dict:
    result = run.result(name)
    assert not result.get("failed"), result.get("msg")
    return result


def test_generated_key_is_created_once_then_left_alone(tenant):
    keyset = tenant.name("Sig")
    first = ok(tenant.playbook([task("b2c_keyset_key", keyset=keyset, use="sig", valid_for="2d")]))
    assert first["changed"] is True and first["reason"] == "keyset_missing"
    assert first["keyset"] == tenant.id("Sig") and first["key"]["use"] == "sig"
    second = ok(tenant.playbook([task("b2c_keyset_key", keyset=keyset, use="sig", valid_for="2d")]))
    assert second["changed"] is False and second["reason"] == "valid"
    assert second["key"]["kid"] == first["key"]["kid"] and len(second["keyset_keys"]) == 1


def test_check_mode_and_diff_predict_without_writing(tenant):
    keyset = tenant.name("Check")
    run = tenant.playbook([task("b2c_keyset_key", keyset=keyset, use="enc", valid_for="2d")], check=True, diff=True)
    result = ok(run)
    assert result["changed"] is True and result["reason"] == "keyset_missing" and result["key"] is None
    assert result["diff"]["before"]["keyset"] is None and result["diff"]["after"]["keyset"] == tenant.id("Check")
    assert tenant.id("Check") not in [keyset["id"] for keyset in tenant.keysets()]


def test_renew_before_adds_a_successor_ahead_of_expiry(tenant):
    keyset = tenant.name("Rotate")
    ok(tenant.playbook([task("b2c_keyset_key", keyset=keyset, use="sig", valid_for="2d")]))
    rotated = ok(tenant.playbook([task("b2c_keyset_key", keyset=keyset, use="sig", valid_for="30d", renew_before="3d")]))
    assert rotated["changed"] is True and rotated["reason"] == "expiring"
    assert len(rotated["keyset_keys"]) == 2
    again = ok(tenant.playbook([task("b2c_keyset_key", keyset=keyset, use="sig", valid_for="30d", renew_before="3d")]))
    assert again["changed"] is False and again["reason"] == "valid"


def test_secret_upload_once(tenant):
    value = "live-secret-" + tenant.run_prefix + "-never-printed"
    tenant.secrets.add(value)
    args = {"keyset": tenant.name("Secret"), "use": "sig", "secret": "{{ live_secret }}", "valid_for": "2d"}
    first = ok(tenant.playbook([task("b2c_keyset_secret", **args)], extra_vars={"live_secret": value}))
    assert first["changed"] is True and first["key"]["kty"].lower() == "oct"
    second = ok(tenant.playbook([task("b2c_keyset_secret", **args)], extra_vars={"live_secret": value}))
    assert second["changed"] is False and len(second["keyset_keys"]) == 1


def test_certificate_upload_is_idempotent_by_thumbprint(tenant):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "entra.b2c live test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2)).sign(key, hashes.SHA256()))
    password = "live-pfx-" + tenant.run_prefix
    tenant.secrets.add(password)
    bundle = pkcs12.serialize_key_and_certificates(b"live", key, cert, None,
                                                   serialization.BestAvailableEncryption(password.encode("ascii")))
    path = tenant.workdir / "live.pfx"
    path.write_bytes(bundle)
    args = {"keyset": tenant.name("Cert"), "pkcs12_path": str(path), "pkcs12_password": "{{ live_pfx_password }}"}
    first = ok(tenant.playbook([task("b2c_keyset_certificate", **args)], extra_vars={"live_pfx_password": password}))
    digest = cert.fingerprint(hashes.SHA1())  # nosec - x5t is SHA-1 by definition
    assert first["changed"] is True and first["thumbprint"] == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    second = ok(tenant.playbook([task("b2c_keyset_certificate", **args)], extra_vars={"live_pfx_password": password}))
    assert second["changed"] is False and len(second["keyset_keys"]) == 1


def test_info_reports_the_sets_and_their_active_keys(tenant):
    ok(tenant.playbook([task("b2c_keyset_key", keyset=tenant.name("Info"), use="sig", valid_for="2d")]))
    result = ok(tenant.playbook([task("b2c_keyset_info", keyset=tenant.name("Info"), expiring_within="7d")]))
    assert [keyset["id"] for keyset in result["keysets"]] == [tenant.id("Info")]
    assert result["keysets"][0]["valid"] is True and result["keysets"][0]["active_key"]["use"] == "sig"
    assert [keyset["id"] for keyset in result["expiring"]] == [tenant.id("Info")]


def test_absent_with_purge_backup_leaves_nothing(tenant):
    keyset = tenant.name("Gone")
    ok(tenant.playbook([task("b2c_keyset_key", keyset=keyset, use="sig", valid_for="2d")]))
    deleted = ok(tenant.playbook([task("b2c_keyset", keyset=keyset, state="absent", purge_backup=True)]))
    assert deleted["changed"] is True
    ids = [item["id"] for item in tenant.keysets()]
    assert tenant.id("Gone") not in ids and tenant.id("Gone") + ".bak" not in ids
    again = ok(tenant.playbook([task("b2c_keyset", keyset=keyset, state="absent", purge_backup=True)]))
    assert again["changed"] is False


def test_batch_module_ensures_several_sets_in_one_task(tenant):
    batch = {"name": "it", BATCH_MODULE: {"keysets": [{"keyset": tenant.name("BatchSig"), "use": "sig"},
                                                      {"keyset": tenant.name("BatchEnc"), "use": "enc"}],
                                          "valid_for": "2d"}, "ignore_errors": True}
    first = ok(tenant.playbook([batch]))
    assert first["changed"] is True
    assert [item["reason"] for item in first["results"]] == ["keyset_missing", "keyset_missing"]
    second = ok(tenant.playbook([batch]))
    assert second["changed"] is False and [item["reason"] for item in second["results"]] == ["valid", "valid"]


# The collection's own test set (tests/policies/basic): Base <- Localization <- Extensions <- two relying parties.
POLICY_SET = REPO_ROOT / "tests" / "policies" / "basic"
SET_SIZE = 5


def render_policy_set(tenant, directory: Path, domain: str) -> dict:
    """The test set under ids of this run (B2C_1A_<run id>Basic_...), for this tenant, its key references pointing at
    the run's own key sets; returns the ids by file name."""
    directory.mkdir(parents=True, exist_ok=True)
    replacements = {"{{ b2c_tenant }}": domain, "B2C_1A_Basic_": "B2C_1A_%sBasic_" % tenant.run_prefix,
                    "B2C_1A_TokenSigningKeyContainer": tenant.id("PolSig"),
                    "B2C_1A_TokenEncryptionKeyContainer": tenant.id("PolEnc")}
    ids = {}
    for path in sorted(POLICY_SET.glob("*.xml")):
        text = path.read_text(encoding="utf-8")
        for old, new in replacements.items():
            text = text.replace(old, new)
        (directory / path.name).write_text(text, encoding="utf-8")
        ids[path.name] = text.split('PolicyId="', 1)[1].split('"', 1)[0]
    assert len(ids) == SET_SIZE and all(policy_id.startswith(tenant.id("Basic_")) for policy_id in ids.values())
    return ids


def test_policy_set_uploaded_then_left_alone_then_deleted(tenant):
    """A small set under this run's ids: uploaded bases first, the same run again uploads nothing, then deleted
    relying parties first; the key sets it references are made first, as the policy_keys role would."""
    domain = tenant.tenant_domain
    if domain is None:
        pytest.skip("the policy scenario needs the tenant's domain name for TenantId: set AZURE_TENANT_ID to it "
                    "(contoso.onmicrosoft.com) or ENTRA_B2C_LIVE_TENANT_DOMAIN")
    ids = render_policy_set(tenant, tenant.workdir / "policies", domain)
    keys = {"name": "it", BATCH_MODULE: {"keysets": [{"keyset": tenant.name("PolSig"), "use": "sig"},
                                                     {"keyset": tenant.name("PolEnc"), "use": "enc"}],
                                         "valid_for": "2d"}, "ignore_errors": True}
    ok(tenant.playbook([keys]))
    deploy = task("b2c_policies", path=str(tenant.workdir / "policies"))

    tenant.made_policies = True
    # B2C may not find key sets created moments ago yet (as after generateKey; public tools wait 10 to 30 s): the
    # first upload is retried as a user's playbook would. The base fails first, so the last attempt uploads them all.
    first = ok(tenant.playbook([dict(deploy, register="it", until="it is not failed", retries=6, delay=10)]))
    assert first["changed"] is True and sorted(first["uploaded"]) == sorted(ids.values())
    order = first["uploaded"]
    base, extensions = ids["TrustFrameworkBase.xml"], ids["TrustFrameworkExtensions.xml"]
    assert order[0] == base and order.index(extensions) < order.index(ids["SignIn.xml"])
    assert {entry["reason"] for entry in first["results"]} == {"new"}

    # One play: the same task again (it reads the tenant's copy of each: they are there, and say the same), then the
    # set deleted
    run = tenant.playbook([dict(deploy, name="again"),
                           task("b2c_policies", "removed", path=str(tenant.workdir / "policies"), state="absent")])
    again, removed = ok(run, "again"), ok(run, "removed")
    assert again["changed"] is False and again["uploaded"] == []
    assert {entry["reason"] for entry in again["results"]} == {"unchanged"}
    assert removed["changed"] is True and sorted(removed["deleted"]) == sorted(ids.values())
    assert removed["deleted"][-1] == base  # what inherits goes first
    left = {item["id"].upper() for item in tenant.policies()}
    assert not {policy_id.upper() for policy_id in ids.values()} & left


def test_a_set_b2c_refuses_half_way_is_rolled_back(tenant):
    """The small set deployed, then a release whose Extensions changed and whose SignIn lacks the PolicySchemaVersion
    the IEF schema requires (B2C's own check, which the collection does not repeat): B2C takes the Extensions and the
    relying party beside SignIn, refuses SignIn, and the run puts the tenant back as it was (rollback, the default)."""
    domain = tenant.tenant_domain
    if domain is None:
        pytest.skip("the policy scenarios need the tenant's domain name for TenantId: set AZURE_TENANT_ID to it "
                    "(contoso.onmicrosoft.com) or ENTRA_B2C_LIVE_TENANT_DOMAIN")
    directory = tenant.workdir / "rollback"
    ids = render_policy_set(tenant, directory, domain)
    keys = {"name": "it", BATCH_MODULE: {"keysets": [{"keyset": tenant.name("PolSig"), "use": "sig"},
                                                     {"keyset": tenant.name("PolEnc"), "use": "enc"}],
                                         "valid_for": "2d"}, "ignore_errors": True}
    ok(tenant.playbook([keys]))
    deploy = task("b2c_policies", path=str(directory))
    tenant.made_policies = True
    ok(tenant.playbook([dict(deploy, register="it", until="it is not failed", retries=6, delay=10)]))
    extensions = ids["TrustFrameworkExtensions.xml"]

    release = directory / "TrustFrameworkExtensions.xml"
    release.write_text(release.read_text(encoding="utf-8").replace(">3600<", ">1800<"), encoding="utf-8")
    sign_in = directory / "SignIn.xml"
    sign_in.write_text(sign_in.read_text(encoding="utf-8").replace('PolicySchemaVersion="0.3.0.0"', ""),
                       encoding="utf-8")
    refused = tenant.playbook([deploy]).result("it")
    assert "PolicySchemaVersion" in refused.get("msg", "") and refused["rolled_back"], refused
    assert extensions in refused["rolled_back"] and ids["SignInForApi.xml"] in refused["rolled_back"], refused
    assert ids["SignIn.xml"] not in refused["uploaded"]
    stored = {item["id"].upper(): item["content"] for item in tenant.policies(content=True)}
    assert ">3600<" in stored[extensions.upper()] and ">1800<" not in stored[extensions.upper()]  # the previous copy
    assert "PolicySchemaVersion" in stored[ids["SignIn.xml"].upper()]
