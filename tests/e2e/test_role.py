# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The role entra.b2c.policy_keys and the playbook entra.b2c.policy_keys, end to end against the emulator."""

from __future__ import annotations

import ast
import base64
import datetime
import hashlib
import json
import re
import time

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from conftest import REPO_ROOT, keyset_keys, routes

DAY = 86400
WRITE_ROUTES = {"keysets.create", "keys.generate", "keysets.replace", "keysets.delete", "keys.uploadSecret",
                "keys.uploadCertificate", "keys.uploadPkcs12", "keys_v2.patch"}
STARTER_PACK = {"B2C_1A_TokenSigningKeyContainer": "sig", "B2C_1A_TokenEncryptionKeyContainer": "enc"}
UPLOADED_SECRET = "rest-api-key-4f1e0c9a-never-printed"
PKCS12_PASSWORD = "pfx-pass-7d2b-never-printed"


def writes(control) -> list:
    return [route for route in routes(control) if route in WRITE_ROUTES]


def role_play(variables=None) -> list:
    """The role, then a task that copies its fact into the recorded results."""
    include = {"name": "policy_keys", "ansible.builtin.include_role": {"name": "entra.b2c.policy_keys"}}
    if variables:
        include["vars"] = variables
    return [include, {"name": "summary", "ansible.builtin.debug": {"var": "policy_keys_result"}}]


def summary(run) -> dict:
    """policy_keys_result by service key set id."""
    assert run.rc == 0, run.output[-4000:]
    return {entry["keyset"]: entry for entry in run.result("summary")["policy_keys_result"]}


CHECK_TASK = "Check the variables and every entry before any request"
# What the role's check prints at most: one line per problem, not the role's whole argument specification.
READABLE_LIMIT = 2500


def validation_failure(run) -> str:
    """The message of the role's check, the one failed task of the run, which sent no request."""
    failed = [entry for entry in run.results if entry["status"] == "failed"]
    assert len(failed) == 1, run.output[-3000:]
    assert failed[0]["task"].endswith(CHECK_TASK), failed[0]["task"]
    message = failed[0]["result"]["msg"]
    assert message.startswith("entra.b2c.policy_keys sent no request: fix these variables first\n- "), message
    assert "argument_spec_data" not in run.output
    return message


def make_certificate(common_name="saml-signing"):
    """A self-signed RSA certificate valid from yesterday for a year: (private key, certificate)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365)).sign(key, hashes.SHA256()))
    return key, cert


def thumbprint(cert) -> str:
    """x5t: base64url SHA-1 of the certificate's DER, without padding."""
    digest = hashlib.sha1(cert.public_bytes(serialization.Encoding.DER)).digest()  # nosec - x5t is SHA-1
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@pytest.mark.compat
def test_default_list_check_then_apply_then_nothing_to_do(ansible, control):
    checked = summary(ansible.playbook(role_play(), check=True))
    assert set(checked) == set(STARTER_PACK)
    assert all(entry["changed"] and entry["reason"] == "keyset_missing" and entry["kid"] is None
               for entry in checked.values()), checked
    assert writes(control) == []

    first = summary(ansible.playbook(role_play()))
    assert set(first) == set(STARTER_PACK)
    for keyset_id, use in STARTER_PACK.items():
        entry = first[keyset_id]
        assert entry["changed"] is True and entry["reason"] == "keyset_missing", entry
        stored = keyset_keys(control, keyset_id)
        assert [(key["kid"], key["use"], key["kty"]) for key in stored] == [(entry["kid"], use, "RSA")]
        # The role's default lifetime, 365 days from now.
        assert stored[0]["exp"] - stored[0]["nbf"] == 365 * DAY
        assert entry["expires"].endswith("Z")

    control.clear_requests()
    second = summary(ansible.playbook(role_play()))
    assert {keyset_id: (entry["changed"], entry["reason"], entry["kid"]) for keyset_id, entry in second.items()} == {
        keyset_id: (False, "valid", first[keyset_id]["kid"]) for keyset_id in STARTER_PACK}
    assert writes(control) == []
    assert all(len(keyset_keys(control, keyset_id)) == 1 for keyset_id in STARTER_PACK)


def test_key_inside_the_renewal_margin_gets_a_successor(ansible, control):
    now = int(time.time())
    control.seed([
        {"id": "B2C_1A_TokenSigningKeyContainer",
         "keys": [{"use": "sig", "kty": "RSA", "nbf": now - 350 * DAY, "exp": now + 10 * DAY}]},
        {"id": "B2C_1A_TokenEncryptionKeyContainer",
         "keys": [{"use": "enc", "kty": "RSA", "nbf": now - 300 * DAY, "exp": now + 60 * DAY}]},
    ])
    result = summary(ansible.playbook(role_play()))
    signing, encryption = result["B2C_1A_TokenSigningKeyContainer"], result["B2C_1A_TokenEncryptionKeyContainer"]
    assert (signing["changed"], signing["reason"]) == (True, "expiring")
    assert (encryption["changed"], encryption["reason"]) == (False, "valid")
    assert len(keyset_keys(control, "B2C_1A_TokenSigningKeyContainer")) == 2
    assert len(keyset_keys(control, "B2C_1A_TokenEncryptionKeyContainer")) == 1

    # A margin of 5 days leaves the 60-day key alone; 90 days asks for its successor too.
    narrow = summary(ansible.playbook(role_play({"policy_keys_renew_before": "5d"})))
    assert not any(entry["changed"] for entry in narrow.values())
    wide = summary(ansible.playbook(role_play({"policy_keys_renew_before": "90d", "policy_keys_valid_for": "400d"})))
    assert wide["B2C_1A_TokenEncryptionKeyContainer"]["reason"] == "expiring"
    assert wide["B2C_1A_TokenEncryptionKeyContainer"]["changed"] is True


def test_mixed_list_of_generated_secret_and_certificate_keys(ansible, control, tmp_path):
    _key, cert = make_certificate()
    pfx_key, pfx_cert = make_certificate("saml-encryption")
    pfx_path = tmp_path / "saml.pfx"
    pfx_path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"saml", pfx_key, pfx_cert, None, serialization.BestAvailableEncryption(PKCS12_PASSWORD.encode())))
    keysets = [
        {"keyset": "RestApiKey", "type": "secret", "use": "enc", "secret": UPLOADED_SECRET, "valid_for": "90d"},
        {"keyset": "SamlSigningCert", "type": "certificate",
         "certificate": cert.public_bytes(serialization.Encoding.PEM).decode()},
        {"keyset": "TokenSigningKeyContainer", "use": "sig"},
        {"keyset": "SamlPfx", "type": "certificate", "pkcs12_path": str(pfx_path), "pkcs12_password": PKCS12_PASSWORD},
        {"keyset": "LegacyHmac", "type": "generated", "use": "sig", "kty": "oct", "valid_for": "30d",
         "renew_before": "7d"},
    ]
    variables = {"policy_keys_keysets": keysets}

    run = ansible.playbook(role_play(variables))
    first = summary(run)
    # policy_keys_result lists generated keys, then secrets, then certificates, each in the order given.
    assert [entry["keyset"] for entry in run.result("summary")["policy_keys_result"]] == [
        "B2C_1A_TokenSigningKeyContainer", "B2C_1A_LegacyHmac", "B2C_1A_RestApiKey", "B2C_1A_SamlSigningCert",
        "B2C_1A_SamlPfx"]
    assert set(first) == {"B2C_1A_TokenSigningKeyContainer", "B2C_1A_LegacyHmac", "B2C_1A_RestApiKey",
                          "B2C_1A_SamlSigningCert", "B2C_1A_SamlPfx"}
    assert all(entry["changed"] and entry["reason"] == "keyset_missing" and entry["kid"] for entry in first.values())
    assert sorted(writes(control)) == sorted(["keysets.create"] * 5 + ["keys.generate"] * 2 + [
        "keys.uploadSecret", "keys.uploadCertificate", "keys.uploadPkcs12"])

    hmac = keyset_keys(control, "B2C_1A_LegacyHmac")
    assert [(k["kty"].lower(), k["use"], k["exp"] - k["nbf"]) for k in hmac] == [("oct", "sig", 30 * DAY)]
    secret = keyset_keys(control, "B2C_1A_RestApiKey")
    assert [(k["kty"].lower(), k["use"], k["exp"] - k["nbf"]) for k in secret] == [("oct", "enc", 90 * DAY)]
    assert [k.get("x5t", "").rstrip("=") for k in keyset_keys(control, "B2C_1A_SamlSigningCert")] == [thumbprint(cert)]
    assert [k.get("x5t", "").rstrip("=") for k in keyset_keys(control, "B2C_1A_SamlPfx")] == [thumbprint(pfx_cert)]

    # Second run, at the highest verbosity: nothing to do, and no secret anywhere in the output.
    control.clear_requests()
    run = ansible.playbook(role_play(variables), verbosity=4)
    second = summary(run)
    assert {keyset_id: (entry["changed"], entry["reason"]) for keyset_id, entry in second.items()} == {
        keyset_id: (False, "valid") for keyset_id in first}
    assert {keyset_id: entry["kid"] for keyset_id, entry in second.items()} == {
        keyset_id: entry["kid"] for keyset_id, entry in first.items()}
    assert writes(control) == []
    assert UPLOADED_SECRET not in run.output
    assert PKCS12_PASSWORD not in run.output
    assert UPLOADED_SECRET not in json.dumps(run.results)


BAD = "policy_keys_keysets[1] (Bad): "


@pytest.mark.parametrize("entry, line", [
    ({"keyset": "Bad", "type": "bogus", "use": "sig"},
     BAD + "type: 'bogus' is not a type of entry; use generated (the default), secret or certificate"),
    ({"keyset": "Bad", "type": "generated"}, BAD + "use: is missing; give sig or enc"),
    ({"keyset": "Bad", "use": "sideways"},
     BAD + "use: 'sideways' is not supported; choose one of sig, enc (case does not matter)"),
    ({"keyset": "Bad", "type": "secret", "use": "enc"},
     BAD + "secret: is missing; give the value to upload (from Ansible Vault)"),
    ({"keyset": "Bad", "type": "secret", "use": "enc", "secret": 123},
     BAD + "secret: expected text, got a number; quote the value in YAML"),
    ({"keyset": "Bad", "type": "certificate"},
     BAD + "give exactly one of certificate, certificate_path, pkcs12, pkcs12_path"),
    ({"keyset": "Bad", "type": "certificate", "certificate": "x", "pkcs12_path": "/tmp/x.pfx"},
     BAD + "certificate and pkcs12_path are mutually exclusive; give exactly one of certificate, certificate_path, "
           "pkcs12, pkcs12_path"),
    ({"keyset": "Bad", "use": "sig", "valid_fro": "30d"},
     BAD + "valid_fro (did you mean valid_for?) is not an option of a generated entry, which takes keyset, type, use, "
           "kty, valid_for, renew_before"),
    ({"keyset": "Bad", "use": "sig", "secret": UPLOADED_SECRET},
     BAD + "secret (an option of secret entries) is not an option of a generated entry, which takes keyset, type, "
           "use, kty, valid_for, renew_before"),
    ({"keyset": "Bad", "type": "certificate", "certificate_path": "/tmp/x.pem", "valid_for": "30d"},
     BAD + "valid_for (an option of generated entries) is not an option of a certificate entry, which takes keyset, "
           "type, certificate, certificate_path, pkcs12, pkcs12_path, pkcs12_password"),
    ({"keyset": "Bad", "use": "sig", "valid_for": "1y"},
     BAD + "valid_for: '1y' is not a valid duration; use seconds or a number with a unit s, m, h, d or w, such as "
           "3600, 90d, 12w, 36h or 45m"),
    ({"keyset": "Bad", "use": "sig", "renew_before": "400d"},
     BAD + "renew_before: '400d' reaches past the new key's expiry"),
    ({"keyset": "Bad", "use": "sig", "valid_for": None},
     BAD + "valid_for: is empty; give a duration, or leave valid_for out to use policy_keys_valid_for"),
    ({"use": "sig"}, "policy_keys_keysets[1]: keyset is missing; give the key set's name, such as "
                     "TokenSigningKeyContainer"),
    ({"keyset": "B2C_1A_fine", "use": "sig"},
     "policy_keys_keysets[1] (B2C_1A_fine): key set B2C_1A_fine is listed twice (also at policy_keys_keysets[0]); list "
     "each once"),
    ("TokenSigningKeyContainer", "policy_keys_keysets[1]: expected a dictionary with keyset and its options, got text"),
])
def test_a_bad_entry_is_refused_before_any_request(ansible, control, entry, line):
    secret_entry = {"keyset": "Fine", "type": "secret", "use": "sig", "secret": UPLOADED_SECRET}
    run = ansible.playbook(role_play({"policy_keys_keysets": [secret_entry, entry]}))
    assert run.rc != 0
    message = validation_failure(run)
    assert message.split("\n- ")[1:] == [line] or line in message.split("\n- ")[1], message
    assert len(message.split("\n- ")) == 2, message  # the one problem, once
    assert control.requests() == []
    assert UPLOADED_SECRET not in run.output


def test_mixed_entries_with_one_bad_write_nothing(ansible, control, tmp_path):
    """Generated keys, a good secret and certificate, and one secret entry with a bad lifetime: the role used to
    write the generated keys and then fail on the secret; now nothing at all is sent."""
    _key, cert = make_certificate()
    keysets = [
        {"keyset": "TokenSigningKeyContainer", "use": "sig"},
        {"keyset": "TokenEncryptionKeyContainer", "use": "enc"},
        {"keyset": "SamlSigningCert", "type": "certificate",
         "certificate": cert.public_bytes(serialization.Encoding.PEM).decode()},
        {"keyset": "RestApiKey", "type": "secret", "use": "enc", "secret": UPLOADED_SECRET, "valid_for": "1y"},
        {"keyset": "Facebook Secret", "type": "secret", "use": "sig", "secret": UPLOADED_SECRET},
    ]
    run = ansible.playbook(role_play({"policy_keys_keysets": keysets}))
    assert run.rc != 0
    assert validation_failure(run).split("\n- ")[1:] == [
        "policy_keys_keysets[3] (RestApiKey): valid_for: '1y' is not a valid duration; use seconds or a number with a "
        "unit s, m, h, d or w, such as 3600, 90d, 12w, 36h or 45m",
        "policy_keys_keysets[4] (Facebook Secret): keyset: 'Facebook Secret' contains ' '; use 1 to 120 ASCII letters, "
        "digits, '_', '-' or '.' after the optional B2C_1A_ prefix",
    ]
    assert control.requests() == []  # not even a token
    assert control.state()["keysets"] == []
    assert UPLOADED_SECRET not in run.output


@pytest.mark.parametrize("variables, line", [
    ({"policy_keys_valid_for": "1y"},
     "policy_keys_valid_for: '1y' is not a valid duration; use seconds or a number with a unit s, m, h, d or w, such "
     "as 3600, 90d, 12w, 36h or 45m"),
    ({"policy_keys_valid_for": ""}, "policy_keys_valid_for: is empty; give a duration such as 365d"),
    ({"policy_keys_renew_before": "400d"},
     "policy_keys_valid_for and policy_keys_renew_before: renew_before: '400d' reaches past the new key's expiry"),
    ({"policy_keys_no_log": "maybe"}, "policy_keys_no_log: must be true or false"),
    ({"policy_keys_keysets": {"keyset": "TokenSigningKeyContainer", "use": "sig"}},
     "policy_keys_keysets: expected a list of entries, got a dictionary"),
    ({"policy_keys_connection": ["tenant_id"]},
     "policy_keys_connection: expected a dictionary of connection options, got a list"),
])
def test_a_bad_role_variable_is_refused_before_any_request(ansible, control, variables, line):
    message = validation_failure(ansible.playbook(role_play(variables)))
    problems = message.split("\n- ")[1:]
    assert len(problems) == 1 and problems[0].startswith(line), message
    assert control.requests() == []


def test_a_misspelt_role_variable_is_refused_not_ignored(ansible, control):
    """policy_keys_keyset (no s) used to be ignored silently, and the role ensured its default starter pack."""
    run = ansible.playbook(role_play({"policy_keys_keyset": [{"keyset": "MyOwnKey", "use": "sig"}]}))
    assert validation_failure(run).split("\n- ")[1:] == [
        "policy_keys_keyset is not a variable of the role entra.b2c.policy_keys, which would ignore it; did you mean "
        "policy_keys_keysets? (its variables: policy_keys_keysets, policy_keys_valid_for, policy_keys_renew_before, "
        "policy_keys_connection, policy_keys_no_log)"]
    assert control.requests() == []
    assert control.state()["keysets"] == []


def test_the_check_prints_one_readable_message(ansible, control):
    """Many problems at once: the run prints one line per problem and not the role's specification (which the
    ansible-core check of meta/argument_specs.yml prints with its message: over 8 KB)."""
    keysets = [{"keyset": "Bad %d" % index, "use": "sig", "valid_for": "1y"} for index in range(3)]
    # Deprecation notices are ansible-core's, not the collection's (2.16.20 added one before every role's argument
    # check): the length measured is the collection's message and the play's own lines.
    run = ansible.playbook(role_play({"policy_keys_keysets": keysets, "policy_keys_connection": {"graph_endpont": "x"}}),
                           extra_env={"ANSIBLE_DEPRECATION_WARNINGS": "0"})
    message = validation_failure(run)
    assert len(message.split("\n- ")) == 1 + 3 * 2 + 1, message
    assert len(message) < READABLE_LIMIT, len(message)
    # The whole run's output holds the message (twice at most: the error line and the result) and little else.
    assert len(run.output) < 2 * len(message) + READABLE_LIMIT, len(run.output)
    assert '"description"' not in run.output and "argument_spec_data" not in run.output
    assert control.requests() == []


def test_a_misspelt_connection_option_is_refused_before_any_request(ansible, control):
    connection = {"graph_endpont": "https://127.0.0.1:1", "secret": UPLOADED_SECRET, "timeout": "soon"}
    run = ansible.playbook(role_play({"policy_keys_connection": connection}))
    assert run.rc != 0
    problems = validation_failure(run).split("\n- ")[1:]
    assert problems[0].startswith("policy_keys_connection: graph_endpont (did you mean graph_endpoint?) and secret (did "
                                  "you mean client_secret?) are not connection options; the options of "
                                  "group/entra.b2c.graph are tenant_id, "), problems
    # ansible-core's own words, which name the type as str (2.19 on) or <class 'str'>.
    assert re.match(r"policy_keys_connection: argument 'timeout' is of type (str|<class 'str'>) and we were unable to "
                    r"convert to float", problems[1]), problems
    assert len(problems) == 2
    assert control.requests() == []
    assert UPLOADED_SECRET not in run.output


def test_entry_use_and_kty_in_any_case(ansible, control):
    """The check accepts what the modules accept: use and kty in any case (the role passes use in lower case)."""
    keysets = [{"keyset": "Upper", "use": "SIG", "kty": "rsa"},
               {"keyset": "UpperSecret", "type": "secret", "use": "Enc", "secret": UPLOADED_SECRET}]
    result = summary(ansible.playbook(role_play({"policy_keys_keysets": keysets})))
    assert {keyset_id: entry["changed"] for keyset_id, entry in result.items()} == {
        "B2C_1A_Upper": True, "B2C_1A_UpperSecret": True}
    assert [(key["use"], key["kty"]) for key in keyset_keys(control, "B2C_1A_Upper")] == [("sig", "RSA")]


def test_connection_options_match_the_modules_shared_options():
    """policy_keys_connection validates against a copy of the shared options: a new module option must be added there."""
    fragment = (REPO_ROOT / "plugins" / "doc_fragments" / "graph.py").read_text(encoding="utf-8")
    documentation = next(node.value.value for node in ast.walk(ast.parse(fragment))
                         if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION")
    shared = set(yaml.safe_load(documentation)["options"])
    specs = yaml.safe_load((REPO_ROOT / "roles" / "policy_keys" / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    connection = specs["argument_specs"]["main"]["options"]["policy_keys_connection"]["options"]
    assert set(connection) == shared
    assert {name for name, spec in connection.items() if spec.get("no_log")} == {
        "client_secret", "client_certificate_password", "access_token"}


def test_connection_overrides_the_play_defaults_option_by_option(ansible, control):
    # The play's defaults point Graph at a closed port; the role's connection corrects only graph_endpoint.
    play_defaults = ansible.connection(graph_endpoint="https://127.0.0.1:9")
    run = ansible.playbook(role_play({"policy_keys_connection": {"graph_endpoint": ansible.emulator.url}}),
                           defaults=play_defaults)
    assert all(entry["changed"] for entry in summary(run).values())
    assert sorted(writes(control)) == sorted(["keysets.create", "keys.generate"] * 2)


@pytest.mark.compat
def test_collection_playbook_with_credentials_from_the_environment(ansible, control):
    emulator = ansible.emulator
    environment = {
        "AZURE_TENANT_ID": emulator.tenant_id,
        "AZURE_CLIENT_ID": emulator.client_id,
        "AZURE_CLIENT_SECRET": emulator.client_secret,
        "REQUESTS_CA_BUNDLE": emulator.ca_path,
    }
    connection = json.dumps({"policy_keys_connection": {"graph_endpoint": emulator.url,
                                                        "authority_host": emulator.url}})
    argv = [str(ansible.bin_dir / "ansible-playbook"), "entra.b2c.policy_keys", "-e", connection]

    first = ansible._execute(argv, environment)  # pylint: disable=protected-access
    assert first.rc == 0, first.output[-4000:]
    assert "changed=1" in first.stdout  # one loop task generated both keys
    for keyset_id, use in STARTER_PACK.items():
        assert [key["use"] for key in keyset_keys(control, keyset_id)] == [use]
        assert "%s: changed (keyset_missing)" % keyset_id in first.stdout
    assert "token" in routes(control)
    assert emulator.client_secret not in first.output

    control.clear_requests()
    again = ansible._execute(argv + ["--check"], environment)  # pylint: disable=protected-access
    assert again.rc == 0, again.output[-4000:]
    assert "changed=0" in again.stdout
    assert "B2C_1A_TokenSigningKeyContainer: unchanged (valid)" in again.stdout
    assert writes(control) == []
