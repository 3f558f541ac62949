# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests for the role's check (plugins/filter/policy_keys_problems.py); tests/e2e/test_role.py runs it for real."""

from __future__ import annotations

import base64
import datetime
import re

import pytest
from ansible_collections.entra.b2c.plugins.filter.policy_keys_problems import (
    ENTRY_OPTIONS,
    KNOWN_NAMES,
    FilterModule,
    policy_keys_problems,
)
from ansible_collections.entra.b2c.plugins.module_utils._core.module import GRAPH_ARGUMENT_SPEC

SECRET = "never-shown-0d5e"
DEFAULTS = {
    "policy_keys_keysets": [{"keyset": "TokenSigningKeyContainer", "use": "sig"},
                            {"keyset": "TokenEncryptionKeyContainer", "use": "enc"}],
    "policy_keys_valid_for": "365d",
    "policy_keys_renew_before": "30d",
    "policy_keys_connection": {},
    "policy_keys_no_log": True,
}


def problems(names=(), **variables):
    return policy_keys_problems(dict(DEFAULTS, **variables), list(names) or list(DEFAULTS))


def entries(*keysets):
    return problems(policy_keys_keysets=list(keysets))


def test_the_defaults_pass():
    assert problems() == []
    assert FilterModule().filters()["policy_keys_problems"] is policy_keys_problems


def test_every_entry_type_with_every_option_passes():
    assert entries(
        {"keyset": "B2C_1A_Signing", "type": "generated", "use": "SIG", "kty": "oct", "valid_for": 86400 * 30,
         "renew_before": "7d"},
        {"keyset": "Api", "type": "secret", "use": "enc", "secret": SECRET, "update_secret": "always",
         "valid_for": "90d", "renew_before": "14d"},
        {"keyset": "Saml", "type": "certificate", "pkcs12_path": "/etc/b2c/saml.pfx", "pkcs12_password": SECRET},
        {"keyset": "SamlCert", "type": "certificate", "certificate_path": "/etc/b2c/saml.pem"},
    ) == []


def test_an_unknown_role_variable_names_the_closest_known_one():
    found = problems(names=list(DEFAULTS) + ["policy_keys_keyset", "policy_keys_result", "policy_keys_zzz",
                                             "policy_keys_renewbefore", "policy_keys_tenant_id"])
    variables = " (its variables: " + ", ".join(DEFAULTS) + ")"
    assert found == [  # sorted by name; policy_keys_result is the role's own fact
        "policy_keys_keyset is not a variable of the role entra.b2c.policy_keys, which would ignore it; did you mean "
        "policy_keys_keysets?" + variables,
        "policy_keys_renewbefore is not a variable of the role entra.b2c.policy_keys, which would ignore it; did you "
        "mean policy_keys_renew_before?" + variables,
        "policy_keys_tenant_id is not a variable of the role entra.b2c.policy_keys, which would ignore it; connection "
        "options go in policy_keys_connection ({'tenant_id': ...})" + variables,
        "policy_keys_zzz is not a variable of the role entra.b2c.policy_keys, which would ignore it" + variables,
    ]


def test_the_known_names_are_the_documented_variables():
    import pathlib  # noqa: PLC0415

    import yaml  # noqa: PLC0415

    specs = pathlib.Path(__file__).parents[4] / "roles" / "policy_keys" / "meta" / "argument_specs.yml"
    documented = yaml.safe_load(specs.read_text(encoding="utf-8"))["argument_specs"]["main"]["options"]
    assert set(KNOWN_NAMES) == set(documented) | {"policy_keys_result"}
    keysets = documented["policy_keys_keysets"]["options"]
    assert set(keysets) == {option for options in ENTRY_OPTIONS.values() for option in options}


@pytest.mark.parametrize("entry, expected", [
    ({"keyset": "Bad Name", "use": "sig"},
     "policy_keys_keysets[0] (Bad Name): keyset: 'Bad Name' contains ' '; use 1 to 120 ASCII letters, digits, '_', '-' "
     "or '.' after the optional B2C_1A_ prefix"),
    ({"keyset": "K", "use": "sig", "valid_for": "1y"},
     "policy_keys_keysets[0] (K): valid_for: '1y' is not a valid duration; use seconds or a number with a unit s, m, h, "
     "d or w, such as 3600, 90d, 12w, 36h or 45m"),
    ({"keyset": "K", "use": "sig", "valid_for": "0"},
     "policy_keys_keysets[0] (K): valid_for: '0' is zero; a key needs a lifetime of at least one second"),
    ({"keyset": "K", "use": "sig", "kty": "EC"},
     "policy_keys_keysets[0] (K): kty: 'EC' is not supported; choose one of RSA, oct (case does not matter)"),
    ({"keyset": "K", "type": "secret", "use": "sig", "secret": "  "},
     "policy_keys_keysets[0] (K): secret: is empty; give the value to upload (an undefined vault variable often "
     "renders empty)"),
    ({"keyset": "K", "type": "secret", "use": "sig", "secret": SECRET, "update_secret": "sometimes"},
     "policy_keys_keysets[0] (K): update_secret: 'sometimes' is not supported; use on_create or always"),
    ({"keyset": "K", "type": "secret", "use": "sig", "secret": SECRET, "kty": "oct"},
     "policy_keys_keysets[0] (K): kty (an option of generated entries) is not an option of a secret entry, which takes "
     "keyset, type, use, secret, update_secret, valid_for, renew_before"),
    ({"keyset": "K", "type": "certificate", "certificate_path": "/x.pem", "pkcs12_password": SECRET},
     "policy_keys_keysets[0] (K): pkcs12_password only opens pkcs12 or pkcs12_path; remove it"),
    ({"keyset": "K", "type": "certificate", "pkcs12": "not base64!"},
     "policy_keys_keysets[0] (K): pkcs12: is not valid base64; give the file content base64-encoded (for example with "
     "the b64encode filter or 'base64 -w0 FILE')"),
    ({"keyset": "K", "type": "certificate", "certificate_path": ""},
     "policy_keys_keysets[0] (K): certificate_path: expected a path as text, got nothing"),
    ({"keyset": "K", "type": None, "use": "sig"},
     "policy_keys_keysets[0] (K): type: None is not a type of entry; use generated (the default), secret or "
     "certificate"),
])
def test_one_bad_entry_gives_one_message(entry, expected):
    assert entries(entry) == [expected]


def test_messages_never_hold_a_secret():
    found = entries({"keyset": "K", "type": "certificate", "pkcs12": base64.b64encode(b"junk").decode(),
                     "pkcs12_password": SECRET},
                    {"keyset": "K2", "type": "secret", "use": SECRET, "secret": SECRET},
                    {"keyset": "K3", "use": "sig", "secret": SECRET})
    assert len(found) == 3 and not any(SECRET in line for line in found), found
    assert "use: '********' is not supported" in found[1]
    connection = problems(policy_keys_connection={"client_secret": SECRET, "secret": SECRET, "timeout": "x"})
    assert connection and not any(SECRET in line for line in connection)


def test_duplicates_are_found_with_or_without_the_prefix_and_in_any_case():
    secret_entry = {"keyset": "Api", "type": "secret", "use": "sig", "secret": SECRET}
    assert entries({"keyset": "Signing", "use": "sig"}, secret_entry, {"keyset": "b2c_1a_SIGNING", "use": "sig"}) == [
        "policy_keys_keysets[2] (b2c_1a_SIGNING): key set B2C_1A_SIGNING is listed twice (also at "
        "policy_keys_keysets[0]); list each once"]


def test_a_wrong_role_wide_duration_is_reported_once_not_per_entry():
    found = problems(policy_keys_valid_for="1y")
    assert found == ["policy_keys_valid_for: '1y' is not a valid duration; use seconds or a number with a unit s, m, "
                     "h, d or w, such as 3600, 90d, 12w, 36h or 45m"]
    found = problems(policy_keys_renew_before="400d")
    assert len(found) == 1 and found[0].startswith(
        "policy_keys_valid_for and policy_keys_renew_before: renew_before: '400d' reaches past the new key's expiry")
    # An entry with its own lifetime is checked with it.
    assert problems(policy_keys_renew_before="400d", policy_keys_keysets=[
        {"keyset": "K", "use": "sig", "valid_for": "800d"}])[1:] == []


def test_connection_options_are_the_modules_options_with_their_aliases_and_types():
    assert problems(policy_keys_connection={"tenant": "contoso.onmicrosoft.com", "validate_certs": "yes",
                                            "timeout": "12.5", "ca_path": "/etc/ssl/ca.pem"}) == []
    found = problems(policy_keys_connection={"graph_endpont": "x", "validate_certs": "perhaps"})
    assert found[0] == ("policy_keys_connection: graph_endpont (did you mean graph_endpoint?) is not a connection "
                        "option; the options of group/entra.b2c.graph are " + ", ".join(GRAPH_ARGUMENT_SPEC))
    assert re.match(r"policy_keys_connection: argument 'validate_certs' is of type (str|<class 'str'>) and we were "
                    r"unable to convert to bool", found[1]), found


def test_inline_certificates_are_parsed_and_must_be_current():
    pytest.importorskip("cryptography")
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old")])
    now = datetime.datetime.now(datetime.timezone.utc)
    expired = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(1).not_valid_before(now - datetime.timedelta(days=30))
               .not_valid_after(now - datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    found = entries({"keyset": "Old", "type": "certificate",
                     "certificate": expired.public_bytes(serialization.Encoding.PEM).decode()})
    assert len(found) == 1 and found[0].startswith("policy_keys_keysets[0] (Old): certificate: the certificate (CN=old")
    assert "expired at" in found[0]


@pytest.mark.parametrize("value, words", [
    ("TokenSigningKeyContainer", "policy_keys_keysets: expected a list of entries, got text"),
    (None, "policy_keys_keysets: expected a list of entries, got null"),
    ([["keyset", "K"]], "policy_keys_keysets[0]: expected a dictionary with keyset and its options, got a list"),
])
def test_the_list_itself_must_be_a_list_of_dictionaries(value, words):
    assert problems(policy_keys_keysets=value) == [words]


def test_no_log_must_be_a_boolean():
    assert problems(policy_keys_no_log="false") == []
    assert problems(policy_keys_no_log="maybe") == ["policy_keys_no_log: must be true or false"]
