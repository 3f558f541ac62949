# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Certificate and PKCS#12 parsing, checks and thumbprints (plugins/module_utils/_keysets/certs.py), on certificates made here."""

from __future__ import annotations

import base64
import calendar
import datetime
import hashlib
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.entra.b2c.plugins.module_utils._keysets import certs as _certs
from ansible_collections.entra.b2c.plugins.module_utils._keysets.certs import (
    MAX_FILE_BYTES,
    CertificateError,
    CertificateRule,
    certificate_upload,
    check_validity,
    decode_base64,
    find_certificate_key,
    key_thumbprint,
    load_certificate,
    load_pkcs12,
    pkcs12_upload,
    planned_key,
    private_key_blocks,
    read_file,
    same_thumbprint,
    thumbprint,
)
from ansible_collections.entra.b2c.plugins.module_utils._keysets.keys import KeyInputError, Plan

PASSWORD = "Unit-pfx-pass-31"
NOT_BEFORE = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
NOT_AFTER = datetime.datetime(2027, 1, 1, tzinfo=datetime.timezone.utc)
NOW = calendar.timegm((2026, 6, 1, 12, 0, 0))  # inside [NOT_BEFORE, NOT_AFTER)
PROPERTY = settings(database=None, deadline=None, max_examples=200)


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_certificate(key, not_before=NOT_BEFORE, not_after=NOT_AFTER, name="unit.example"):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))


@pytest.fixture(scope="module")
def cert(rsa_key):
    return make_certificate(rsa_key)


def der(certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def pem(certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def expected_x5t(certificate) -> str:
    return base64.urlsafe_b64encode(hashlib.sha1(der(certificate)).digest()).decode("ascii").rstrip("=")


def bundle(key, certificate, password=PASSWORD, extra=None) -> bytes:
    encryption = serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    return pkcs12.serialize_key_and_certificates(b"unit", key, certificate, extra, encryption)


# -- thumbprints ---------------------------------------------------------------------------------------------------

def test_thumbprint_is_base64url_sha1_without_padding(cert):
    value = thumbprint(der(cert))
    assert value == expected_x5t(cert)
    assert len(value) == 27 and "=" not in value


@PROPERTY
@given(digest=st.binary(min_size=20, max_size=20), padding=st.integers(min_value=0, max_value=2))
def test_thumbprints_compare_equal_whatever_padding_or_alphabet(digest, padding):
    url = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    standard = base64.b64encode(digest).decode()
    assert same_thumbprint(url, url + "=" * padding)
    assert same_thumbprint(standard, url)
    assert same_thumbprint(" %s " % url, standard)


@PROPERTY
@given(left=st.binary(min_size=20, max_size=20), right=st.binary(min_size=20, max_size=20))
def test_different_thumbprints_never_compare_equal(left, right):
    assert same_thumbprint(base64.urlsafe_b64encode(left).decode(), base64.b64encode(right).decode()) == (left == right)


@pytest.mark.parametrize("missing", [None, "", "   ", 42, ["x"]])
def test_absent_thumbprints_never_match(missing):
    assert not same_thumbprint(missing, missing)
    assert not same_thumbprint("abc", missing)


def test_key_thumbprint_falls_back_to_the_first_x5c_certificate(cert):
    chain = [base64.b64encode(der(cert)).decode("ascii"), "ignored"]
    assert key_thumbprint({"x5t": "given"}) == "given"
    assert key_thumbprint({"x5c": chain}) == expected_x5t(cert)
    assert key_thumbprint({"x5t": "", "x5c": chain}) == expected_x5t(cert)
    assert key_thumbprint({"x5c": ["%%%"]}) is None
    assert key_thumbprint({"x5c": []}) is None
    assert key_thumbprint({"kty": "RSA"}) is None


def test_find_certificate_key_picks_the_key_with_that_thumbprint(cert):
    wanted = expected_x5t(cert)
    keys = [{"kid": "a", "x5t": "AAAA"}, {"kid": "b", "kty": "oct"}, {"kid": "c", "x5t": wanted + "="},
            {"kid": "d", "x5t": wanted}]
    assert find_certificate_key(keys, wanted)["kid"] == "c"
    assert find_certificate_key(keys[:2], wanted) is None
    assert find_certificate_key([], wanted) is None


# -- reading -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["QUJD", "QUJD\n", "Q U\nJD", "QUJD===", " QUJD\r\n"])
def test_decode_base64_tolerates_whitespace_and_padding(text):
    assert decode_base64(text, "pkcs12") == b"ABC"


def test_decode_base64_accepts_both_alphabets():
    data = bytes(range(250, 256)) * 3
    assert decode_base64(base64.urlsafe_b64encode(data).decode(), "pkcs12") == data
    assert decode_base64(base64.b64encode(data).decode(), "pkcs12") == data


@pytest.mark.parametrize("text", ["", "   ", "!!!", "QUJD$", 12])
def test_decode_base64_refuses_what_is_not_base64(text):
    with pytest.raises(CertificateError, match="^pkcs12: ") as caught:
        decode_base64(text, "pkcs12")
    assert caught.value.option == "pkcs12"
    assert isinstance(caught.value, KeyInputError)  # reported by GraphModule.run like every input error


def test_read_file(tmp_path):
    path = tmp_path / "cert.cer"
    path.write_bytes(b"\x30\x82data")
    assert read_file(str(path), "certificate_path") == b"\x30\x82data"


def test_read_file_refuses_missing_empty_and_huge_files(tmp_path):
    with pytest.raises(CertificateError, match=r"^certificate_path: cannot read .*absent"):
        read_file(str(tmp_path / "absent"), "certificate_path")
    empty = tmp_path / "empty"
    empty.write_bytes(b"\n")
    with pytest.raises(CertificateError, match="is empty"):
        read_file(str(empty), "certificate_path")
    huge = tmp_path / "huge"
    huge.write_bytes(b"0" * (MAX_FILE_BYTES + 1))
    with pytest.raises(CertificateError, match="larger than"):
        read_file(str(huge), "pkcs12_path")


def test_private_key_blocks_finds_each_kind(rsa_key, cert):
    pkcs8 = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode()
    traditional = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                        serialization.NoEncryption()).decode()
    encrypted = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(b"pw")).decode()
    text = pkcs8 + pem(cert) + traditional + encrypted
    assert private_key_blocks(text) == [pkcs8.strip(), traditional.strip(), encrypted.strip()]
    assert private_key_blocks(text.encode()) == private_key_blocks(text)
    assert private_key_blocks(pem(cert)) == []


# -- certificates --------------------------------------------------------------------------------------------------

def test_load_certificate_from_pem_der_and_base64(cert):
    for data in (pem(cert), pem(cert).encode(), der(cert), base64.b64encode(der(cert)).decode(),
                 base64.encodebytes(der(cert)), pem(cert).replace("\n", "\r\n")):
        facts = load_certificate(data, "certificate")
        assert facts.der == der(cert)
        assert facts.thumbprint == expected_x5t(cert)
        assert facts.not_before == calendar.timegm((2026, 1, 1, 0, 0, 0))
        assert facts.not_after == calendar.timegm((2027, 1, 1, 0, 0, 0))
        assert facts.subject == "CN=unit.example"


def test_load_certificate_takes_the_first_of_a_pem_bundle_and_skips_a_private_key(rsa_key, cert):
    other = make_certificate(rsa_key, name="second.example")
    key_pem = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    facts = load_certificate(key_pem + pem(cert) + pem(other), "certificate")
    assert facts.thumbprint == expected_x5t(cert)


def test_load_certificate_refuses_what_is_not_one(rsa_key):
    key_pem = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    with pytest.raises(CertificateError, match="no '-----BEGIN CERTIFICATE-----' block"):
        load_certificate(key_pem, "certificate")
    for junk in ("hello", b"\x30\x03\x02\x01\x01", "QUJD", "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----"):
        with pytest.raises(CertificateError, match="^certificate_path: ") as caught:
            load_certificate(junk, "certificate_path")
        assert caught.value.option == "certificate_path"


def test_load_certificate_refuses_a_non_rsa_key():
    ec_key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(CertificateError, match=r"non-RSA \(EC\) public key"):
        load_certificate(pem(make_certificate(ec_key)), "certificate")


def test_check_validity(cert, rsa_key):
    facts = load_certificate(pem(cert), "certificate")
    check_validity(facts, NOW, "certificate")
    check_validity(facts, facts.not_before, "certificate")  # valid from its first second
    with pytest.raises(CertificateError, match=r"^certificate: .* expired at 2027-01-01T00:00:00Z"):
        check_validity(facts, facts.not_after, "certificate")  # not after <= now: expired
    with pytest.raises(CertificateError, match=r"^pkcs12_path: .* not valid before 2026-01-01T00:00:00Z"):
        check_validity(facts, facts.not_before - 1, "pkcs12_path")
    with pytest.raises(CertificateError, match=expected_x5t(cert)):
        check_validity(facts, NOW + 400 * 86400, "certificate")


def test_certificate_upload_and_planned_key(cert):
    facts = load_certificate(pem(cert), "certificate")
    upload = certificate_upload(facts)
    assert upload.action == "uploadCertificate"
    assert upload.body == {"key": base64.b64encode(der(cert)).decode("ascii")}
    planned = planned_key(facts)
    assert planned["x5t"] == expected_x5t(cert)
    assert planned["x5c"] == [upload.body["key"]]
    assert (planned["kty"], planned["use"]) == ("RSA", "sig")
    assert (planned["not_before"], planned["expires"]) == ("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z")
    assert "kid" not in planned


# -- PKCS#12 -------------------------------------------------------------------------------------------------------

def test_load_pkcs12_with_and_without_password(rsa_key, cert):
    assert load_pkcs12(bundle(rsa_key, cert), PASSWORD, "pkcs12").thumbprint == expected_x5t(cert)
    for password in (None, ""):
        assert load_pkcs12(bundle(rsa_key, cert, password=None), password, "pkcs12_path").der == der(cert)


def test_pkcs12_upload_sends_the_bundle_and_only_a_given_password(rsa_key, cert):
    data = bundle(rsa_key, cert)
    facts = load_pkcs12(data, PASSWORD, "pkcs12")
    upload = pkcs12_upload(data, PASSWORD, facts)
    assert upload.action == "uploadPkcs12"
    assert base64.b64decode(upload.body["key"]) == data and upload.body["password"] == PASSWORD
    assert PASSWORD not in repr(upload)  # the body is left out of the repr
    assert "password" not in pkcs12_upload(data, None, facts).body


@pytest.mark.parametrize("password", ["wrong", ""])
def test_wrong_pkcs12_password_says_so_without_the_password(rsa_key, cert, password):
    with pytest.raises(CertificateError) as caught:
        load_pkcs12(bundle(rsa_key, cert), password, "pkcs12_path")
    message = str(caught.value)
    assert message.startswith("pkcs12_password does not open the PKCS#12 bundle in pkcs12_path")
    assert caught.value.option == "pkcs12_password"
    assert PASSWORD not in message and (not password or password not in message)


def test_a_password_for_an_unprotected_bundle_is_refused(rsa_key, cert):
    with pytest.raises(CertificateError, match="pkcs12_password does not open"):
        load_pkcs12(bundle(rsa_key, cert, password=None), "unexpected", "pkcs12")


def test_missing_pkcs12_password_is_asked_for(rsa_key, cert):
    with pytest.raises(CertificateError, match="password protected; give pkcs12_password"):
        load_pkcs12(bundle(rsa_key, cert), None, "pkcs12")


@pytest.mark.parametrize("data", [b"", b"garbage", b"\x30\x03\x02\x01\x01", b"\x30\x80\x02\x01\x03",
                                  b"\x30\x05\x02\x01\x03\x00\x00\x00"])
def test_what_is_not_a_pkcs12_bundle_is_not_blamed_on_the_password(data):
    with pytest.raises(CertificateError, match=r"^pkcs12: is not a PKCS#12 \(.pfx/.p12\) bundle"):
        load_pkcs12(data, PASSWORD, "pkcs12")


def test_a_truncated_bundle_is_not_blamed_on_the_password(rsa_key, cert):
    with pytest.raises(CertificateError, match="is not a PKCS#12"):
        load_pkcs12(bundle(rsa_key, cert)[:-40], PASSWORD, "pkcs12")


def test_pkcs12_without_private_key_or_certificate_is_refused(rsa_key, other_rsa_key, cert):
    cert_only = pkcs12.serialize_key_and_certificates(b"c", None, None, [cert],
                                                      serialization.BestAvailableEncryption(PASSWORD.encode()))
    with pytest.raises(CertificateError, match="holds no private key"):
        load_pkcs12(cert_only, PASSWORD, "pkcs12")
    key_only = bundle(rsa_key, None)
    with pytest.raises(CertificateError, match="holds no certificate"):
        load_pkcs12(key_only, PASSWORD, "pkcs12")
    foreign_only = bundle(other_rsa_key, None, extra=[cert])
    with pytest.raises(CertificateError, match="holds no certificate that matches its private key"):
        load_pkcs12(foreign_only, PASSWORD, "pkcs12")


def test_pkcs12_with_a_non_rsa_key_is_refused():
    ec_key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(CertificateError, match=r"non-RSA \(EC\) private key"):
        load_pkcs12(bundle(ec_key, make_certificate(ec_key)), PASSWORD, "pkcs12")


def test_pkcs12_key_must_belong_to_its_certificate(monkeypatch, rsa_key, other_rsa_key, cert):
    # cryptography pairs key and certificate itself; should a bundle still pair a foreign certificate, say so.
    real = pkcs12.load_key_and_certificates

    def mismatched(data, password):
        private_key, _cert, chain = real(data, password)
        return private_key, cert, chain

    monkeypatch.setattr(pkcs12, "load_key_and_certificates", mismatched)
    foreign = bundle(other_rsa_key, make_certificate(other_rsa_key))
    with pytest.raises(CertificateError, match="does not belong to its certificate"):
        load_pkcs12(foreign, PASSWORD, "pkcs12")


def test_missing_cryptography_is_reported_with_missing_required_lib(monkeypatch, cert):
    for name in [name for name in sys.modules if name == "cryptography" or name.startswith("cryptography.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(CertificateError) as caught:
        load_certificate(pem(cert), "certificate")
    assert "Failed to import the required Python library (cryptography)" in str(caught.value)
    with pytest.raises(CertificateError, match=r"\(cryptography\)"):
        load_pkcs12(b"", None, "pkcs12")
    # Thumbprints need no third-party library.
    assert _certs.thumbprint(der(cert)) == expected_x5t(cert)


# -- the rule of b2c_keyset_certificate ----------------------------------------------------------------------------

def test_certificate_rule_is_satisfied_by_the_thumbprint_whatever_the_key_status(cert):
    rule = CertificateRule(certificate_upload(load_certificate(pem(cert), "certificate")))
    held = {"kid": "held", "use": "sig", "kty": "RSA", "x5t": expected_x5t(cert), "status": "disabled", "exp": 1}
    other = {"kid": "other", "use": "sig", "kty": "RSA", "x5t": "another-thumbprint"}
    assert rule.action == "uploadCertificate" and rule.facts() == {"thumbprint": expected_x5t(cert)}
    assert rule.plan(False, [], NOW) == Plan(True, "keyset_missing", None)
    assert rule.plan(True, [other], NOW) == Plan(True, "no_key", None)
    assert rule.plan(True, [other, held], NOW) == Plan(False, "valid", held)
    assert rule.landed([], [other], NOW) is None and rule.landed([], [other, held], NOW) == held
    warning = rule.notice(held, "B2C_1A_Saml")
    assert "held of B2C_1A_Saml" in warning and "disabled" in warning and expected_x5t(cert) in warning
    assert rule.notice(other, "B2C_1A_Saml") is None


def test_certificate_rule_refuses_a_set_of_another_kind_with_its_own_advice(cert):
    rule = CertificateRule(certificate_upload(load_certificate(pem(cert), "certificate")))
    assert rule.conflict([{"use": "sig", "kty": "RSA"}], "B2C_1A_Saml") is None
    refusal = rule.conflict([{"use": "enc", "kty": "oct"}], "B2C_1A_Saml")
    assert "AADB2C95032" in refusal and "AADB2C95042" in refusal and "request kty=" not in refusal
    assert refusal.endswith("Use another key set: B2C makes an uploaded certificate an RSA sig key.")


def test_certificate_rule_body_and_plan_never_show_the_bundle_or_its_password(rsa_key, cert):
    data = bundle(rsa_key, cert)
    rule = CertificateRule(pkcs12_upload(data, PASSWORD, load_pkcs12(data, PASSWORD, "pkcs12")))
    assert rule.action == "uploadPkcs12" and rule.body(NOW)["password"] == PASSWORD
    assert rule.planned(NOW) == planned_key(load_certificate(pem(cert), "certificate"))
    assert PASSWORD not in repr(rule) and base64.b64encode(data).decode() not in repr(rule)
