# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""b2c_keyset_certificate end to end: real ansible-playbook runs against the emulator, certificates made here."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from conftest import keyset_keys, routes

# Distinctive, so a leak anywhere in the output is found by a plain search.
PFX_PASSWORD = "pfx-Pass-4e2b7d"
WRONG_PASSWORD = "not-the-Password-93"
WRITE_ROUTES = {"keysets.create", "keys.generate", "keysets.replace", "keysets.delete", "keys.uploadSecret",
                "keys.uploadCertificate", "keys.uploadPkcs12", "keys_v2.patch"}


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_certificate(key, days_before=1, days_after=30, name="partner.example"):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=days_before))
            .not_valid_after(now + datetime.timedelta(days=days_after)).sign(key, hashes.SHA256()))


def der(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def pem(cert) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def x5t(cert) -> str:
    """The thumbprint computed independently of the module: base64url SHA-1 of the DER, no padding."""
    return base64.urlsafe_b64encode(hashlib.sha1(der(cert)).digest()).decode("ascii").rstrip("=")


def pfx(key, cert, password=PFX_PASSWORD) -> bytes:
    encryption = serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    return pkcs12.serialize_key_and_certificates(b"b2c", key, cert, None, encryption)


def play(ansible, tasks, secrets=None, **kwargs):
    """Run a play with the passwords (and any other secret) in an extra-vars file, as a vault would hold them.

    A literal value in a play would be shown by ansible-core itself (2.19+ quotes the play's source around a failed
    task); the harness scans every run for these values like for the emulator's own secrets.
    """
    variables = {"pfx_password": PFX_PASSWORD, "wrong_password": WRONG_PASSWORD, **(secrets or {})}
    path = ansible.workdir / "secrets.json"
    path.write_text(json.dumps(variables), encoding="utf-8")
    ansible.secrets.update(variables.values())
    return ansible.playbook(tasks, extra_args=["-e", "@%s" % path], **kwargs)


def cert_task(name="cert", **args) -> dict:
    """A b2c_keyset_certificate task that never aborts the play, so later tasks and assertions still see its result."""
    return {"name": name, "entra.b2c.b2c_keyset_certificate": args, "ignore_errors": True}


def writes(control) -> list:
    return [route for route in routes(control) if route in WRITE_ROUTES]


def seed(control, name, *keys):
    control.seed([{"id": name, "keys": list(keys)}])


def test_pem_content_check_apply_check_apply_sequence(ansible, control, rsa_key):
    cert = make_certificate(rsa_key)
    task = cert_task(keyset="PartnerCert", certificate=pem(cert))

    first_check = play(ansible, [task], check=True, diff=True).result("cert")
    assert first_check["changed"] is True
    assert first_check["reason"] == "keyset_missing"
    assert first_check["key"] is None
    assert first_check["thumbprint"] == x5t(cert)
    planned = first_check["diff"]["after"]["keyset_keys"]
    assert [key["x5t"] for key in planned] == [x5t(cert)]
    assert control.state()["keysets"] == []
    assert writes(control) == []

    applied = play(ansible, [task]).result("cert")
    assert applied["changed"] is True
    assert applied["reason"] == "keyset_missing"
    key = applied["key"]
    assert key["x5t"].rstrip("=") == x5t(cert) == applied["thumbprint"]
    assert base64.b64decode(key["x5c"][0]) == der(cert)
    assert key["kty"] == "RSA" and key["use"] == "sig" and key["kid"]
    assert key["exp"] == int(cert.not_valid_after_utc.timestamp())
    assert writes(control) == ["keysets.create", "keys.uploadCertificate"]
    assert applied["keyset_keys"] == [key] and "keys" not in applied  # one name for the list

    control.clear_requests()
    second_check = play(ansible, [task], check=True).result("cert")
    assert second_check["changed"] is False
    assert second_check["reason"] == "valid"
    assert second_check["key"]["kid"] == key["kid"]

    again = play(ansible, [task]).result("cert")
    assert again["changed"] is False and again["reason"] == "valid"
    assert again["key"]["kid"] == key["kid"]
    assert writes(control) == []
    assert len(keyset_keys(control, "B2C_1A_PartnerCert")) == 1


def test_der_file_then_the_same_certificate_as_pem_or_base64_is_not_changed(ansible, control, rsa_key, tmp_path):
    cert = make_certificate(rsa_key)
    cer = tmp_path / "partner.cer"
    cer.write_bytes(der(cert))
    run = play(ansible, [
        cert_task(name="der-file", keyset="Partner", certificate_path=str(cer)),
        cert_task(name="pem", keyset="Partner", certificate=pem(cert)),
        cert_task(name="base64", keyset="Partner", certificate=base64.b64encode(der(cert)).decode("ascii")),
    ])
    first = run.result("der-file")
    assert first["changed"] is True, first
    assert first["key"]["x5t"].rstrip("=") == x5t(cert)
    for name in ("pem", "base64"):
        result = run.result(name)
        assert result["changed"] is False, result
        assert result["reason"] == "valid" and result["key"]["kid"] == first["key"]["kid"]
    assert routes(control).count("keys.uploadCertificate") == 1


def test_pkcs12_file_with_password(ansible, control, rsa_key, tmp_path):
    cert = make_certificate(rsa_key)
    bundle = tmp_path / "signing.pfx"
    bundle.write_bytes(pfx(rsa_key, cert))
    task = cert_task(keyset="SamlSigning", pkcs12_path=str(bundle), pkcs12_password="{{ pfx_password }}")

    applied = play(ansible, [task], verbosity=3)
    result = applied.result("cert")
    assert result["changed"] is True, result
    assert result["key"]["x5t"].rstrip("=") == x5t(cert)
    expected_n = rsa_key.public_key().public_numbers().n
    assert int.from_bytes(base64.urlsafe_b64decode(result["key"]["n"] + "=="), "big") == expected_n
    assert writes(control) == ["keysets.create", "keys.uploadPkcs12"]
    assert PFX_PASSWORD not in applied.output and PFX_PASSWORD not in json.dumps(applied.results)
    for private in ("d", "p", "q", "dp", "dq", "qi", "k"):
        assert private not in result["key"]

    # The same bundle again, from a file or as base64 content: nothing to do.
    encoded = base64.b64encode(bundle.read_bytes()).decode("ascii")
    again = play(ansible, [task, cert_task(name="content", keyset="SamlSigning", pkcs12="{{ pfx_content }}",
                                           pkcs12_password="{{ pfx_password }}")], secrets={"pfx_content": encoded},
                 verbosity=3)
    for name in ("cert", "content"):
        assert again.result(name)["changed"] is False, again.result(name)
        assert again.result(name)["key"]["kid"] == result["key"]["kid"]
    assert encoded not in again.output and PFX_PASSWORD not in again.output
    assert routes(control).count("keys.uploadPkcs12") == 1


def test_wrong_pkcs12_password_is_refused_with_no_request(ansible, control, rsa_key, tmp_path):
    bundle = tmp_path / "signing.pfx"
    bundle.write_bytes(pfx(rsa_key, make_certificate(rsa_key)))
    run = play(ansible, [
        cert_task(name="wrong", keyset="SamlSigning", pkcs12_path=str(bundle), pkcs12_password="{{ wrong_password }}"),
        cert_task(name="missing", keyset="SamlSigning", pkcs12_path=str(bundle)),
    ], verbosity=3)
    wrong = run.task("wrong")
    assert wrong["status"] == "failed"
    assert "pkcs12_password does not open the PKCS#12 bundle" in wrong["result"]["msg"]
    missing = run.task("missing")
    assert missing["status"] == "failed" and "give pkcs12_password" in missing["result"]["msg"]
    assert WRONG_PASSWORD not in run.output and WRONG_PASSWORD not in json.dumps(run.results)
    assert control.requests() == []


def test_unusable_certificates_are_refused_with_no_request(ansible, control, rsa_key, tmp_path):
    expired = make_certificate(rsa_key, days_before=60, days_after=-1)
    future = make_certificate(rsa_key, days_before=-5, days_after=60)
    key_only = tmp_path / "key-only.pfx"
    key_only.write_bytes(pkcs12.serialize_key_and_certificates(b"k", rsa_key, None, None,
                                                               serialization.NoEncryption()))
    cases = [
        (dict(certificate=pem(expired)), "expired"),
        (dict(certificate=pem(future)), "not valid before"),
        (dict(certificate="not a certificate"), "certificate: is not a certificate"),
        (dict(certificate_path=str(tmp_path / "absent.cer")), "certificate_path: cannot read"),
        (dict(pkcs12="!!!"), "pkcs12: is not valid base64"),
        (dict(pkcs12=base64.b64encode(b"garbage bytes").decode()), "pkcs12: is not a PKCS#12"),
        (dict(pkcs12_path=str(key_only)), "holds no certificate"),
        (dict(certificate=pem(expired), pkcs12_path=str(key_only)), "mutually exclusive"),
        (dict(), "one of the following is required"),
    ]
    run = play(ansible, [cert_task(name="case-%d" % i, keyset="Partner", **args)
                         for i, (args, _text) in enumerate(cases)])
    for i, (_args, text) in enumerate(cases):
        entry = run.task("case-%d" % i)
        assert entry["status"] == "failed", entry
        assert text in entry["result"]["msg"], entry["result"]["msg"]
    assert control.requests() == []


def test_a_private_key_next_to_the_certificate_is_masked_and_not_uploaded(ansible, control, rsa_key):
    cert = make_certificate(rsa_key)
    key_pem = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode("ascii")
    # One base64 line of the key: output shows the PEM JSON-escaped, so the whole block would never match.
    key_line = key_pem.splitlines()[5]
    ansible.secrets.add(key_line)
    # From the extra-vars file, not literal in the play: ansible-core 2.19+ quotes the play's source around a task
    # that fails (a slow run under load), which would show a literal key and hide what really happened.
    run = play(ansible, [cert_task(keyset="Combined", certificate="{{ combined_pem }}")],
               secrets={"combined_pem": key_pem + pem(cert)}, verbosity=3)
    entry = run.task("cert")
    assert entry["status"] == "ok" and entry["result"]["changed"] is True, entry
    assert any("only the certificate is uploaded" in warning for warning in entry["result"]["warnings"])
    assert entry["result"]["key"]["x5t"].rstrip("=") == x5t(cert)
    assert routes(control).count("keys.uploadCertificate") == 1
    # ansible-core before 2.19 returns the module arguments (invocation) and shows them at -vvv: masked there.
    assert key_line not in run.output and key_line not in json.dumps(run.results)


def test_key_sets_of_another_kind_are_refused_before_any_write(ansible, control, rsa_key):
    seed(control, "B2C_1A_Oct", {"use": "sig", "kty": "oct"})
    seed(control, "B2C_1A_Enc", {"use": "enc", "kty": "RSA", "status": "disabled"})
    certificate = pem(make_certificate(rsa_key))
    run = play(ansible, [cert_task(name="oct", keyset="Oct", certificate=certificate),
                         cert_task(name="enc", keyset="Enc", certificate=certificate)])
    for name, code in (("oct", "AADB2C95032"), ("enc", "AADB2C95042")):
        entry = run.task(name)
        assert entry["status"] == "failed", entry
        assert code in entry["result"]["msg"]
        assert "request kty=" not in entry["result"]["msg"] and "request use=" not in entry["result"]["msg"]
    assert writes(control) == []


def test_thumbprint_match_tolerates_padding(ansible, control, rsa_key):
    cert = make_certificate(rsa_key)
    seed(control, "B2C_1A_Seeded", {"use": "sig", "kty": "RSA", "x5t": x5t(cert) + "="})
    result = play(ansible, [cert_task(keyset="Seeded", certificate=pem(cert))]).result("cert")
    assert result["changed"] is False, result
    assert result["reason"] == "valid"
    assert writes(control) == []


def test_another_certificate_is_added_next_to_the_first(ansible, control, rsa_key):
    first, successor = make_certificate(rsa_key, name="one"), make_certificate(rsa_key, name="two")
    seed(control, "B2C_1A_Rolling", {"use": "sig", "kty": "RSA", "x5t": x5t(first)})
    result = play(ansible, [cert_task(keyset="Rolling", certificate=pem(successor))]).result("cert")
    assert result["changed"] is True and result["reason"] == "no_key"
    assert [key.get("x5t", "").rstrip("=") for key in result["keyset_keys"]] == [x5t(first), x5t(successor)]


def test_commit_then_fail_on_upload_leaves_exactly_one_key(ansible, control, rsa_key, tmp_path):
    seed(control, "B2C_1A_Flaky")
    bundle = tmp_path / "signing.pfx"
    cert = make_certificate(rsa_key)
    bundle.write_bytes(pfx(rsa_key, cert))
    control.add_fault("keys.uploadPkcs12", [{"commit": True, "status": 500}])
    result = play(ansible, [cert_task(keyset="Flaky", pkcs12_path=str(bundle),
                                      pkcs12_password="{{ pfx_password }}")]).result("cert")
    assert result["changed"] is True, result
    stored = keyset_keys(control, "B2C_1A_Flaky")
    assert len(stored) == 1
    assert result["key"]["kid"] == stored[0]["kid"] and result["key"]["x5t"].rstrip("=") == x5t(cert)
    assert routes(control).count("keys.uploadPkcs12") == 1
