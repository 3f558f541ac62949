# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for the settings of the policy modules (plugins/module_utils/_policies/settings.py)."""

from __future__ import annotations

import json

import pytest
from ansible_collections.entra.b2c.plugins.module_utils._policies.policy import PolicyError
from ansible_collections.entra.b2c.plugins.module_utils._policies.settings import (
    appsettings_values,
    empty_warning,
    explicit_settings,
    facebook_warning,
    file_name,
    fill,
    fill_all,
    filled_empty,
    optional_left,
    policy_settings,
    setting_text,
)

TENANT = "contoso.onmicrosoft.com"
GUID = "8c9a4a5e-3f6b-4a7d-9e2f-1b2c3d4e5f60"
IEF = "11111111-2222-3333-4444-555555555555"
PROXY = "66666666-7777-8888-9999-000000000000"

# The starter packs' shape (written for these tests): the tenant literal, the two app id literals, a comment.
STARTER = """<?xml version="1.0" encoding="utf-8" ?>
<TrustFrameworkPolicy xmlns="http://schemas.microsoft.com/online/cpim/schemas/2013/06" PolicySchemaVersion="0.3.0.0"
  TenantId="yourtenant.onmicrosoft.com" PolicyId="B2C_1A_TrustFrameworkExtensions"
  PublicPolicyUri="http://yourtenant.onmicrosoft.com/B2C_1A_TrustFrameworkExtensions">
  <!-- replace yourtenant and ProxyIdentityExperienceFrameworkAppId before uploading -->
  <Item Key="client_id">ProxyIdentityExperienceFrameworkAppId</Item>
  <Item Key="IdTokenAudience">IdentityExperienceFrameworkAppId</Item>
  <Item Key="issuer">https://yourtenant.b2clogin.com/</Item>
</TrustFrameworkPolicy>
"""

APPSETTINGS = {
    "PoliciesFolder": ".",
    "EnvironmentsFolder": "Environments",
    "Environments": [
        {"Name": "Development", "Production": False, "Tenant": "contosodev.onmicrosoft.com",
         "PolicySettings": {"IdentityExperienceFrameworkAppId": IEF, "ProxyIdentityExperienceFrameworkAppId": PROXY,
                            "FacebookAppId": 0, "Tenant": "ignored.onmicrosoft.com", "Flag": True}},
        {"Name": "Production", "Tenant": TENANT, "PolicySettings": {"FacebookAppId": "1234"}},
        {"Name": "Broken", "Tenant": TENANT},
    ],
}


def settings(**values):
    return explicit_settings(values)


def test_starter_literals_are_filled_from_settings_and_the_task_tenant():
    filled, left = fill(STARTER, "TrustFrameworkExtensions.xml",
                        settings(IdentityExperienceFrameworkAppId=IEF, ProxyIdentityExperienceFrameworkAppId=PROXY), TENANT)
    assert left == []
    assert 'TenantId="contoso.onmicrosoft.com"' in filled
    assert 'PublicPolicyUri="http://contoso.onmicrosoft.com/B2C_1A_TrustFrameworkExtensions"' in filled
    assert f'<Item Key="client_id">{PROXY}</Item>' in filled and f'<Item Key="IdTokenAudience">{IEF}</Item>' in filled
    assert "https://contoso.b2clogin.com/" in filled
    assert "yourtenant" not in filled and "IdentityExperienceFrameworkAppId<" not in filled


def test_settings_tenant_wins_over_the_task_tenant_and_fills_a_guid_task():
    given = settings(Tenant="fabrikam.onmicrosoft.com", IdentityExperienceFrameworkAppId=IEF,
                     ProxyIdentityExperienceFrameworkAppId=PROXY)
    filled, left = fill(STARTER, "x.xml", given, GUID)
    assert left == [] and 'TenantId="fabrikam.onmicrosoft.com"' in filled and "fabrikam.b2clogin.com" in filled


def test_leftovers_are_listed_with_file_and_line_comments_ignored():
    filled, left = fill(STARTER, "dir/TrustFrameworkExtensions.xml", {}, GUID)
    assert filled is STARTER  # nothing filled: the very same content
    assert [entry.split(": ", maxsplit=1)[0] for entry in left] == [
        "dir/TrustFrameworkExtensions.xml:3", "dir/TrustFrameworkExtensions.xml:4",
        "dir/TrustFrameworkExtensions.xml:6", "dir/TrustFrameworkExtensions.xml:7", "dir/TrustFrameworkExtensions.xml:8"]
    assert left[0].startswith("dir/TrustFrameworkExtensions.xml:3: yourtenant.onmicrosoft.com: ")
    assert "tenant_id is a GUID: set settings.Tenant" in left[0]
    assert left[2].startswith("dir/TrustFrameworkExtensions.xml:6: ProxyIdentityExperienceFrameworkAppId: ")
    assert "set settings.ProxyIdentityExperienceFrameworkAppId" in left[2]
    assert "set settings.IdentityExperienceFrameworkAppId" in left[3]
    assert left[4].startswith("dir/TrustFrameworkExtensions.xml:8: yourtenant: ")


def test_fill_all_refuses_every_leftover_of_every_file_one_per_line():
    sources = [("a.xml", STARTER), ("b.xml", b'<X a="{Settings:Tenant}" b="{settings:facebookappid}"/>')]
    with pytest.raises(PolicyError) as caught:
        fill_all(sources, settings(ProxyIdentityExperienceFrameworkAppId=PROXY), TENANT, "appsettings.json")
    lines = str(caught.value).splitlines()
    assert lines[0] == "3 placeholder(s) left after filling the settings, nothing was sent:"
    assert lines[1].startswith("a.xml:7: IdentityExperienceFrameworkAppId: ")
    assert lines[2].startswith("b.xml:1: {Settings:Tenant}: set settings.Tenant")
    assert "or Tenant in the environment of appsettings.json" in lines[2]
    assert lines[3].startswith("b.xml:1: {settings:facebookappid}: no setting of that name: set settings.facebookappid, "
                               "or PolicySettings.facebookappid in the environment of appsettings.json")
    assert caught.value.problems == lines[1:]


def test_a_deletion_fills_what_it_can_and_refuses_no_leftover():
    """state=absent reads only each file's PolicyId: an app id nothing fills is no reason to keep a policy."""
    sources = fill_all([("a.xml", STARTER)], {}, TENANT, refuse_left=False)
    assert 'TenantId="contoso.onmicrosoft.com"' in sources[0][1]
    assert "<Item Key=\"client_id\">ProxyIdentityExperienceFrameworkAppId</Item>" in sources[0][1]


def test_settings_placeholders_ignore_case_and_bytes_stay_bytes():
    content = '\ufeff<X t="{Settings:Tenant}" f="{SETTINGS:facebookAppId}" n="{Settings:Filename}" ' \
              'p="{Settings:PolicyFilename}" e="{Settings:Environment}"/>'.encode("utf-8")
    filled, left = fill(content, "policies/B2C_1A_SignIn.xml",
                        settings(Tenant=TENANT, FacebookAppId=42, Environment="Test"), None)
    assert left == [] and isinstance(filled, bytes) and filled.startswith("\ufeff".encode("utf-8"))
    assert filled.decode("utf-8") == ('\ufeff<X t="contoso.onmicrosoft.com" f="42" n="B2C_1A_SignIn" p="SignIn" '
                                      'e="Test"/>')


def test_values_are_inserted_as_written_and_not_filled_again():
    filled, left = fill("<X a='{Settings:A}'/>", "x.xml", settings(A="$& {Settings:B} $1"), TENANT)
    assert filled == "<X a='$& {Settings:B} $1'/>" and left == []


def test_a_bare_word_inside_a_longer_name_is_not_an_app_id():
    text = "<X a='MyIdentityExperienceFrameworkAppIdX' b='IdentityExperienceFrameworkAppId_2'/>"
    assert fill(text, "x.xml", {}, TENANT) == (text, [])


def test_content_without_a_file_name_cannot_fill_filename():
    _filled, left = fill("<X n='{Settings:Filename}'/>", "policies[0]", {}, TENANT)
    assert len(left) == 1 and "comes from no file: give the entry a source" in left[0]
    assert file_name("policies[0]") is None and file_name("content") is None
    assert file_name("a/b/TrustFrameworkBase.xml") == "TrustFrameworkBase"


def test_a_tenant_that_is_no_initial_domain_leaves_yourtenant_alone():
    filled, left = fill("<X a='yourtenant.onmicrosoft.com' b='yourtenant.b2clogin.com'/>", "x.xml",
                        settings(Tenant="login.contoso.com"), None)
    assert "login.contoso.com" in filled and len(left) == 1 and "short name is unknown" in left[0]


def test_not_utf8_with_a_placeholder_is_refused_without_it_untouched():
    latin = "<X a='\xe9' t='yourtenant.onmicrosoft.com'/>".encode("latin-1")
    refused = "x.xml: not UTF-8 text, so its placeholders cannot be filled; save it as UTF-8"
    assert fill(latin, "x.xml", {}, TENANT) == (latin, [refused])
    plain = "<X a='\xe9'/>".encode("latin-1")
    assert fill(plain, "x.xml", {}, TENANT) == (plain, [])


@pytest.mark.parametrize("value, text", [("a", "a"), (True, "true"), (False, "false"), (0, "0"), (1.0, "1"),
                                         (1.5, "1.5")])
def test_setting_text_writes_scalars_as_the_extension_does(value, text):
    assert setting_text(value, "x") == text


@pytest.mark.parametrize("value", [None, [1], {"a": 1}, float("nan")])
def test_setting_text_refuses_what_is_not_a_scalar(value):
    with pytest.raises(PolicyError, match="a setting is text"):
        setting_text(value, "settings.X")


def test_explicit_settings_refuse_names_that_differ_only_in_case_and_bad_names():
    with pytest.raises(PolicyError) as caught:
        explicit_settings({"AppId": "1", "appid": "2", "a{b": "3", "N": None})
    text = str(caught.value)
    assert text.startswith("3 bad setting(s), nothing was sent:\n")
    assert "'AppId' and 'appid' name the same placeholder" in text and "'a{b' cannot name a setting" in text
    assert "settings.N: the value is null" in text


def test_appsettings_of_one_environment_as_the_extension_fills_them():
    values = appsettings_values(json.dumps(APPSETTINGS), "Development", "appsettings.json")
    assert {key: value for key, (_name, value) in values.items()} == {
        "tenant": "contosodev.onmicrosoft.com", "environment": "Development", "identityexperienceframeworkappid": IEF,
        "proxyidentityexperienceframeworkappid": PROXY, "facebookappid": "0", "flag": "true"}


def test_appsettings_with_a_bom_and_explicit_settings_win():
    read = {"app.json": b"\xef\xbb\xbf" + json.dumps(APPSETTINGS).encode("utf-8")}.__getitem__
    values = policy_settings({"FacebookAppId": "99"}, "app.json", "Production", read)
    assert values["facebookappid"] == ("FacebookAppId", "99") and values["tenant"] == ("Tenant", TENANT)


@pytest.mark.parametrize("text, environment, words", [
    ("{not json", "Development", ["appsettings: app.json is not valid JSON"]),
    (json.dumps({"Environments": {}}), "Development", ["has no Environments list"]),
    (json.dumps(APPSETTINGS), "Staging", ["no environment named 'Staging'", "it has: Development, Production, Broken"]),
    (json.dumps(APPSETTINGS), "development", ["did you mean 'Development'?"]),
    (json.dumps(APPSETTINGS), None, ["environment: give the Name", "it has: Development, Production, Broken"]),
    (json.dumps(APPSETTINGS), "Broken", ["environment 'Broken': it has no PolicySettings object"]),
])
def test_bad_appsettings_are_refused_with_what_to_change(text, environment, words):
    with pytest.raises(PolicyError) as caught:
        appsettings_values(text, environment, "app.json")
    for word in words:
        assert word in str(caught.value)


def test_environment_without_appsettings_is_refused():
    with pytest.raises(PolicyError, match="give appsettings too"):
        policy_settings(None, None, "Development", lambda path: b"")


def test_an_empty_tenant_setting_falls_back_to_the_task_tenant_for_yourtenant():
    filled, left = fill("<X t='yourtenant.onmicrosoft.com'/>", "x.xml", settings(Tenant=" "), TENANT)
    assert (filled, left) == ("<X t='contoso.onmicrosoft.com'/>", [])


# The social packs' Facebook placeholder (written for these tests in their shape): filled from FacebookAppId, else left
# with a warning, never refused (local accounts work without Facebook).
SOCIAL = """<TrustFrameworkPolicy TenantId="yourtenant.onmicrosoft.com">
  <!-- set facebook_clientid to your Facebook app's id -->
  <Item Key="client_id">facebook_clientid</Item>
  <Item Key="scope">email</Item>
  <Item Key="other">my_facebook_clientid facebook_clientid2</Item>
</TrustFrameworkPolicy>
"""


def test_the_facebook_placeholder_is_filled_from_facebook_app_id_ignoring_the_setting_case():
    filled, left = fill(SOCIAL, "x.xml", settings(facebookappid="1234567890123456"), TENANT)
    assert left == [] and '<Item Key="client_id">1234567890123456</Item>' in filled
    assert "my_facebook_clientid facebook_clientid2" in filled  # only the whole word
    assert "<!-- set 1234567890123456 to" in filled  # comments are filled like the rest (and never reported)
    assert optional_left([("x.xml", filled)]) == []


def test_a_placeholder_filled_with_an_empty_value_is_listed_with_its_line_and_setting():
    text = SOCIAL + '<Item Key="lifetime">{Settings:Lifetime}</Item><!-- {Settings:Lifetime} -->\n'
    given = settings(FacebookAppId="", Lifetime=" ", Other="x")
    places = filled_empty([("social/TrustFrameworkExtensions.xml", text), ("b.xml", text.encode("utf-8"))], given)
    assert places == ["social/TrustFrameworkExtensions.xml:3: facebook_clientid (FacebookAppId)",
                      "social/TrustFrameworkExtensions.xml:7: {Settings:Lifetime} (Lifetime)",
                      "b.xml:3: facebook_clientid (FacebookAppId)", "b.xml:7: {Settings:Lifetime} (Lifetime)"]
    assert filled_empty([("x.xml", text)], settings(FacebookAppId="123", Lifetime="3600")) == []
    warning = empty_warning(places[:1])
    assert warning.startswith("1 placeholder(s) filled with an empty value, which B2C accepts and sign-in then fails "
                              "on: social/TrustFrameworkExtensions.xml:3: facebook_clientid (FacebookAppId); ")
    assert empty_warning([]) is None


def test_the_facebook_placeholder_left_is_not_refused_but_listed_with_its_line_outside_comments():
    sources = fill_all([("social/TrustFrameworkExtensions.xml", SOCIAL), ("b.xml", SOCIAL.encode("utf-8"))], {}, TENANT)
    assert sources[0][1] == SOCIAL.replace("yourtenant.onmicrosoft.com", TENANT)
    places = optional_left(sources)
    assert places == ["social/TrustFrameworkExtensions.xml:3", "b.xml:3"]
    warning = facebook_warning(places)
    assert warning.startswith("facebook_clientid, the starter packs' placeholder for the Facebook app's id, is left as "
                              "it is in social/TrustFrameworkExtensions.xml:3, b.xml:3: ")
    assert "set settings.FacebookAppId (ief_tenant_settings.FacebookAppId with the ief_tenant role)" in warning
    assert facebook_warning([]) is None
