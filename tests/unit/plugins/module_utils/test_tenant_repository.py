# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure part of b2c_tenant_export: values put back as placeholders exactly (proven by filling them again with the
role's code), the refusals, appsettings.json merged, the role's variables and the inventory."""

from __future__ import annotations

import json

import pytest
import yaml

from ansible_collections.entra.b2c.plugins.module_utils._tenant.repository import (
    ExportError,
    appsettings_text,
    keyset_entries,
    policy_facts,
    policy_file,
    put_back,
    readme_text,
    round_trip_problem,
    short_name,
    substitutions,
    variables_text,
)

DOMAIN = "contoso.onmicrosoft.com"
IEF, PROXY = "6c3e8a56-1f5b-4a4e-9a57-0f5d2e1c9b10", "0b7f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
APPS = {"IdentityExperienceFrameworkAppId": IEF, "ProxyIdentityExperienceFrameworkAppId": PROXY}
NOW = 1_800_000_000
DAY = 86400
POLICY = f"""<TrustFrameworkPolicy xmlns="http://schemas.microsoft.com/online/cpim/schemas/2013/06" TenantId="{DOMAIN}"
 PolicyId="B2C_1A_SignIn" PublicPolicyUri="http://{DOMAIN}/B2C_1A_SignIn">
  <BasePolicy><TenantId>{DOMAIN}</TenantId><PolicyId>B2C_1A_Ext</PolicyId></BasePolicy>
  <ClaimsProviders><ClaimsProvider><TechnicalProfiles>
    <TechnicalProfile Id="login-NonInteractive"><Protocol Name="OpenIdConnect" />
      <Metadata><Item Key="client_id">{PROXY}</Item><Item Key="IdpResourceId">{IEF}</Item>
      <Item Key="METADATA">https://contoso.b2clogin.com/{DOMAIN}/v2.0/.well-known/openid-configuration</Item></Metadata>
    </TechnicalProfile>
    <TechnicalProfile Id="REST-Points"><Protocol Name="Proprietary" Handler="Web.TPEngine.Providers.RestfulProvider" />
      <Metadata><Item Key="ServiceUrl">https://api.contoso.example/points</Item></Metadata>
      <CryptographicKeys><Key Id="x" StorageReferenceId="B2C_1A_PointsKey" /></CryptographicKeys>
    </TechnicalProfile>
  </TechnicalProfiles></ClaimsProvider></ClaimsProviders>
  <RelyingParty><DefaultUserJourney ReferenceId="SignUpOrSignIn" />
    <TechnicalProfile Id="PolicyProfile"><Protocol Name="OpenIdConnect" /></TechnicalProfile></RelyingParty>
</TrustFrameworkPolicy>
"""


def exported(text: str = POLICY, settings=None):
    subs = substitutions(DOMAIN, APPS, settings or {})
    result, problems = put_back(text, "policies/SignIn.xml", subs)
    return result, problems, subs


def test_the_tenants_values_become_the_placeholders_the_role_fills_and_fill_back_exactly():
    result, problems, subs = exported(settings={"PointsApiHost": "api.contoso.example"})
    assert problems == []
    assert DOMAIN not in result and IEF not in result and PROXY not in result and "api.contoso.example" not in result
    assert 'TenantId="{Settings:Tenant}"' in result
    assert "https://{Settings:TenantName}.b2clogin.com/{Settings:Tenant}/v2.0" in result
    assert "<Item Key=\"client_id\">{Settings:ProxyIdentityExperienceFrameworkAppId}</Item>" in result
    assert "https://{Settings:PointsApiHost}/points" in result
    assert round_trip_problem(POLICY, result, "policies/SignIn.xml", subs) is None


def test_a_value_inside_a_longer_word_is_refused_naming_where():
    _result, problems, _subs = exported(settings={"Points": "Points"})
    assert problems and all("'Points' (settings.Points) stands inside" in problem for problem in problems)
    assert "policies/SignIn.xml:9:" in problems[0] and "'REST-Points'" in problems[0]


def test_a_domain_inside_a_longer_domain_is_refused():
    text = POLICY.replace("https://api.contoso.example", f"https://login.{DOMAIN}")
    _result, problems, _subs = exported(text)
    assert problems == [f"policies/SignIn.xml:10: '{DOMAIN}' (the tenant's domain) stands inside 'https://login.{DOMAIN}/points'"]


@pytest.mark.parametrize("settings, words", [
    ({"Host": IEF}, "one value under two names"),
    ({"A": "same-value", "B": "same-value"}, "is settings.A and settings.B"),
    ({"Tenant": "x.example"}, "Tenant and TenantName are the export's own"),
    ({"Id": "ab"}, "too short to stand for one value only"),
])
def test_values_that_cannot_be_put_back_exactly_are_refused(settings, words):
    with pytest.raises(ExportError) as caught:
        substitutions(DOMAIN, APPS, settings)
    assert words in str(caught.value) and "the export wrote nothing" in str(caught.value)


def test_text_the_role_would_fill_is_found_by_the_round_trip():
    text = POLICY.replace("https://api.contoso.example/points", "https://yourtenant.example/points")
    result, problems, subs = exported(text)
    assert problems == []
    problem = round_trip_problem(text, result, "policies/SignIn.xml", subs)
    assert problem.startswith("policies/SignIn.xml:10: deploying the exported file would change this line")


def test_short_names_only_of_initial_domains():
    assert short_name("contoso.onmicrosoft.com") == "contoso" and short_name("login.contoso.com") is None
    assert short_name("a.b.onmicrosoft.com") is None


def test_policy_files_are_named_by_id_without_the_prefix():
    assert policy_file("B2C_1A_TrustFrameworkBase") == "policies/TrustFrameworkBase.xml"
    assert policy_file("b2c_1a_signup_signin") == "policies/signup_signin.xml"


def test_appsettings_keeps_the_other_environments_and_the_keys_of_its_own():
    existing = json.dumps({"Environments": [
        {"Name": "Test", "Tenant": "contosotest.onmicrosoft.com", "PolicySettings": {"PointsApiHost": "test.example"}},
        {"Name": "Production", "Production": True, "Tenant": "old.onmicrosoft.com", "PolicySettings": {"Extra": "x"}}]})
    subs = substitutions(DOMAIN, APPS, {"PointsApiHost": "api.contoso.example"})
    data = json.loads(appsettings_text(existing, "Production", subs, "appsettings.json"))
    test, production = data["Environments"]
    assert test["Tenant"] == "contosotest.onmicrosoft.com" and test["PolicySettings"] == {"PointsApiHost": "test.example"}
    assert production["Production"] is True and production["Tenant"] == DOMAIN
    assert production["PolicySettings"] == {"Extra": "x", "TenantName": "contoso", "IdentityExperienceFrameworkAppId": IEF,
                                            "ProxyIdentityExperienceFrameworkAppId": PROXY,
                                            "PointsApiHost": "api.contoso.example"}
    with pytest.raises(ExportError):
        appsettings_text("{not json", "Production", subs, "appsettings.json")


def keyset(name, *keys):
    return {"id": name, "keys": list(keys)}


def test_key_sets_are_described_without_a_secret_and_so_that_the_first_run_writes_nothing():
    signing = {"kid": "a", "use": "sig", "kty": "RSA", "nbf": NOW - DAY, "exp": NOW + 300 * DAY}
    sets = [keyset("B2C_1A_TokenSigningKeyContainer", signing),
            keyset("B2C_1A_Soon", {"kid": "b", "use": "enc", "kty": "RSA", "nbf": NOW - DAY, "exp": NOW + 10 * DAY}),
            keyset("B2C_1A_FacebookSecret", {"kid": "c", "use": "sig", "kty": "oct", "k": None}),
            keyset("B2C_1A_SamlCert", {"kid": "d", "use": "sig", "kty": "RSA", "x5t": "thumb", "nbf": NOW - DAY,
                                       "exp": NOW + 90 * DAY}),
            keyset("B2C_1A_Expired", {"kid": "e", "use": "sig", "kty": "RSA", "nbf": NOW - 9 * DAY, "exp": NOW - DAY}),
            keyset("B2C_1A_TokenSigningKeyContainer.bak", {"kid": "f", "use": "sig", "kty": "RSA"})]
    entries = keyset_entries(sets, NOW)
    assert [(entry.keyset, entry.kind) for entry in entries] == [
        ("Expired", ""), ("FacebookSecret", "secret"), ("SamlCert", "certificate"), ("Soon", "generated"),
        ("TokenSigningKeyContainer", "generated")]
    text = variables_text(DOMAIN, "Production", entries, True, NOW)
    variables = yaml.safe_load(text)
    assert variables["ief_tenant_policies_dir"] == "policies" and variables["ief_tenant_template"] is False
    assert "ief_tenant_apps" not in variables
    assert variables["policy_keys_keysets"] == [
        {"keyset": "FacebookSecret", "type": "secret", "use": "sig"},
        {"keyset": "SamlCert", "type": "certificate"},
        {"keyset": "Soon", "use": "enc", "kty": "RSA", "renew_before": "0"},
        {"keyset": "TokenSigningKeyContainer", "use": "sig", "kty": "RSA"}]
    assert "# Expired: holds no valid key" in text
    assert yaml.safe_load(variables_text(DOMAIN, "Production", [], False, NOW))["ief_tenant_apps"] is False


def test_the_inventory_names_policies_journeys_key_sets_endpoints_and_providers():
    facts = [policy_facts("B2C_1A_SignIn", "B2C_1A_Ext", POLICY)]
    entries = keyset_entries([keyset("B2C_1A_PointsKey", {"kid": "a", "use": "sig", "kty": "oct"})], NOW)
    text = readme_text(DOMAIN, "Production", facts, entries)
    assert "B2C_1A_Ext_not_exported" not in text and 'B2C_1A_Ext["B2C_1A_Ext (not exported)"]' in text
    assert "B2C_1A_Ext --> B2C_1A_SignIn" in text
    assert "| B2C_1A_SignIn | SignUpOrSignIn |" in text
    assert "| B2C_1A_PointsKey | secret | sig | oct | never | B2C_1A_SignIn |" in text
    assert "| REST-Points | B2C_1A_SignIn | https://api.contoso.example/points |" in text
    assert "| login-NonInteractive | B2C_1A_SignIn | OpenIdConnect |" in text
    assert "PolicyProfile" not in text  # the relying party's own profile calls nothing
    assert readme_text(DOMAIN, "Production", facts, entries) == text  # nothing of the moment: a second export is equal
