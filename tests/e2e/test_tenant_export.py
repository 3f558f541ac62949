# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""b2c_tenant_export end to end against the emulator: a live tenant (set up from our pack-shaped LocalAccounts set,
plus policies, a secret and a certificate made by hand) exported to a repository; the ief_tenant role run from that
repository writes nothing; a second export changes nothing; check mode writes no file; the inventory names every
policy, key set and endpoint; a value standing inside a longer word is refused before any file is written."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import TENANT_APP, TESTS_DIR, routes
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from policy_helpers import tenant_connection

STARTER = TESTS_DIR / "policies" / "LocalAccounts"
REST_HOST = "api.contoso-rewards.example"
READ_ROUTES = {"token", "discovery", "jwks"}


def remote_writes(control) -> list:
    return [entry["route"] for entry in control.requests() if entry["method"] not in ("GET", "HEAD")
            and entry["route"] not in READ_ROUTES]


def certificate_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "saml.contoso.example")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=300)).sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def rewards_policy(domain: str) -> str:
    """A relying party made by hand in the portal: a REST call to the rewards API, signed with the client secret."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<TrustFrameworkPolicy xmlns="http://schemas.microsoft.com/online/cpim/schemas/2013/06" PolicySchemaVersion="0.3.0.0"
  TenantId="{domain}" PolicyId="B2C_1A_Rewards_SignIn" PublicPolicyUri="http://{domain}/B2C_1A_Rewards_SignIn">
  <BasePolicy>
    <TenantId>{domain}</TenantId>
    <PolicyId>B2C_1A_TrustFrameworkExtensions</PolicyId>
  </BasePolicy>
  <ClaimsProviders>
    <ClaimsProvider>
      <DisplayName>Rewards API</DisplayName>
      <TechnicalProfiles>
        <TechnicalProfile Id="REST-Rewards">
          <DisplayName>Read the member's rewards</DisplayName>
          <Protocol Name="Proprietary" Handler="Web.TPEngine.Providers.RestfulProvider, Web.TPEngine, Version=1.0.0.0, Culture=neutral, PublicKeyToken=null" />
          <Metadata>
            <Item Key="ServiceUrl">https://{REST_HOST}/rewards</Item>
            <Item Key="AuthenticationType">ClientCertificate</Item>
            <Item Key="SendClaimsIn">Body</Item>
          </Metadata>
          <CryptographicKeys>
            <Key Id="ClientCertificate" StorageReferenceId="B2C_1A_RewardsClientCert" />
          </CryptographicKeys>
          <UseTechnicalProfileForSessionManagement ReferenceId="SM-Noop" />
        </TechnicalProfile>
      </TechnicalProfiles>
    </ClaimsProvider>
  </ClaimsProviders>
  <RelyingParty>
    <DefaultUserJourney ReferenceId="SignUpOrSignIn" />
    <TechnicalProfile Id="PolicyProfile">
      <DisplayName>PolicyProfile</DisplayName>
      <Protocol Name="OpenIdConnect" />
      <OutputClaims>
        <OutputClaim ClaimTypeReferenceId="objectId" PartnerClaimType="sub" />
      </OutputClaims>
      <SubjectNamingInfo ClaimType="sub" />
    </TechnicalProfile>
  </RelyingParty>
</TrustFrameworkPolicy>
"""


def export_task(dest, **args) -> dict:
    return {"name": "export", "entra.b2c.b2c_tenant_export": dict(dest=str(dest), **args), "register": "exported"}


def deploy_from(ansible, repository: Path, check: bool = False) -> subprocess.CompletedProcess:
    """cd repository && ansible-playbook entra.b2c.ief_tenant -e @ief_tenant.yml, the credential from the
    environment as AWX injects it and the emulator's endpoints as the connection."""
    emulator = ansible.emulator
    env = ansible.env({"AZURE_TENANT_ID": emulator.tenant_domain, "AZURE_CLIENT_ID": TENANT_APP["client_id"],
                       "AZURE_CLIENT_SECRET": TENANT_APP["client_secret"], "REQUESTS_CA_BUNDLE": emulator.ca_path})
    connection = {"ief_tenant_connection": {"graph_endpoint": emulator.url, "authority_host": emulator.url}}
    argv = [str(ansible.bin_dir / "ansible-playbook"), "entra.b2c.ief_tenant", "-e", "@ief_tenant.yml",
            "-e", json.dumps(connection)] + (["--check", "--diff"] if check else [])
    done = subprocess.run(argv, cwd=repository, env=env, capture_output=True, text=True, timeout=300, check=False)
    ansible.assert_no_secret_in(done.stdout + done.stderr)
    return done


@pytest.fixture
def live_tenant(ansible, control, tmp_path):
    """The tenant a team runs: the pack-shaped set deployed by the role, then by hand a REST relying party, a secret
    key set and a certificate key set (the REST profile's client certificate)."""
    policies = tmp_path / "pack"
    shutil.copytree(STARTER, policies, ignore=shutil.ignore_patterns("*.license"))
    domain = ansible.emulator.tenant_domain
    connection = tenant_connection(ansible, tenant_id=domain)
    include = {"name": "role", "ansible.builtin.include_role": {"name": "entra.b2c.ief_tenant"},
               "vars": {"ief_tenant_policies_dir": str(policies)}}
    secret = "rewards-api-Secret-7f3a9c"
    ansible.secrets.add(secret)
    by_hand = [
        {"name": "secret", "entra.b2c.b2c_keyset_secret": {"keyset": "RewardsApiKey", "use": "sig", "secret": secret}},
        {"name": "cert", "entra.b2c.b2c_keyset_certificate": {"keyset": "RewardsClientCert",
                                                              "certificate": certificate_pem()}},
        {"name": "rp", "entra.b2c.b2c_policy": {"content": rewards_policy(domain)}},
    ]
    run = ansible.playbook([include] + by_hand, defaults=connection)
    assert run.rc == 0, run.output[-4000:]
    return connection


def test_the_role_run_from_an_export_writes_nothing_and_a_second_export_changes_nothing(ansible, control, tmp_path,
                                                                                        live_tenant):
    repository = tmp_path / "repository"
    control.clear_requests()
    run = ansible.playbook([export_task(repository, settings={"RewardsApiHost": REST_HOST})], defaults=live_tenant)
    assert run.rc == 0, run.output[-4000:]
    result = run.result("export")
    assert result["changed"] is True and remote_writes(control) == []
    # one token and the reads: the list, one read per policy, the key set list, the two apps by name
    found = routes(control)
    assert found.count("token") == 1 and found.count("policies.get") == 7 and found.count("keysets.list") == 1
    assert found.count("policies.list") == 1 and found.count("applications.list") == 2, found

    assert sorted(result["policies"]) == sorted(["B2C_1A_TrustFrameworkBase", "B2C_1A_TrustFrameworkLocalization",
                                                 "B2C_1A_TrustFrameworkExtensions", "B2C_1A_PasswordReset",
                                                 "B2C_1A_ProfileEdit", "B2C_1A_signup_signin", "B2C_1A_Rewards_SignIn"])
    kinds = {entry["keyset"]: entry["kind"] for entry in result["keysets"]}
    assert kinds == {"TokenSigningKeyContainer": "generated", "TokenEncryptionKeyContainer": "generated",
                     "RewardsApiKey": "secret", "RewardsClientCert": "certificate"}, kinds
    domain = ansible.emulator.tenant_domain
    rewards = (repository / "policies" / "Rewards_SignIn.xml").read_text(encoding="utf-8")
    assert domain not in rewards and "{Settings:Tenant}" in rewards
    assert "https://{Settings:RewardsApiHost}/rewards" in rewards
    extensions = (repository / "policies" / "TrustFrameworkExtensions.xml").read_text(encoding="utf-8")
    assert "{Settings:IdentityExperienceFrameworkAppId}" in extensions
    appsettings = json.loads((repository / "appsettings.json").read_text(encoding="utf-8"))
    (production,) = appsettings["Environments"]
    assert production["Name"] == "Production" and production["Tenant"] == domain
    assert production["PolicySettings"]["RewardsApiHost"] == REST_HOST
    inventory = (repository / "README.md").read_text(encoding="utf-8")
    for name in result["policies"] + ["B2C_1A_RewardsApiKey", "B2C_1A_RewardsClientCert",
                                      "B2C_1A_TokenSigningKeyContainer", f"https://{REST_HOST}/rewards"]:
        assert name in inventory, name
    assert "```mermaid" in inventory and "B2C_1A_TrustFrameworkExtensions --> B2C_1A_Rewards_SignIn" in inventory
    for text in [path.read_text(encoding="utf-8") for path in repository.rglob("*") if path.is_file()]:
        ansible.assert_no_secret_in(text)

    # the round trip: the check shows no change, the run writes nothing
    control.clear_requests()
    checked = deploy_from(ansible, repository, check=True)
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
    assert "changed=0" in checked.stdout, checked.stdout[-4000:]
    deployed = deploy_from(ansible, repository)
    assert deployed.returncode == 0, deployed.stdout[-4000:] + deployed.stderr[-2000:]
    assert "changed=0" in deployed.stdout and remote_writes(control) == [], deployed.stdout[-4000:]

    # a second export changes nothing; check mode into a new directory writes no file
    again = ansible.playbook([export_task(repository, settings={"RewardsApiHost": REST_HOST})], defaults=live_tenant)
    assert again.result("export")["changed"] is False, again.output[-3000:]
    fresh = tmp_path / "fresh"
    checked = ansible.playbook([export_task(fresh)], defaults=live_tenant, check=True, diff=True)
    assert checked.result("export")["changed"] is True and not fresh.exists()


def test_a_value_inside_a_longer_word_is_refused_before_any_file_is_written(ansible, control, tmp_path, live_tenant):
    repository = tmp_path / "repository"
    run = ansible.playbook([export_task(repository, settings={"Rewards": "rewards"})], defaults=live_tenant)
    failed = run.task("export")
    assert failed["status"] == "failed"
    message = failed["result"]["msg"]
    assert "'rewards' (settings.Rewards) stands inside" in message and "policies/Rewards_SignIn.xml:" in message, message
    assert not repository.exists()
    twice = ansible.playbook([export_task(repository, settings={"A": REST_HOST, "B": REST_HOST})], defaults=live_tenant)
    assert "one value under two names" in twice.task("export")["result"]["msg"]
