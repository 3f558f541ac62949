# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Certificates and PKCS#12 bundles for B2C key sets: parse, check, thumbprint, and the upload request.

Internal use only: this module may change without notice.

``cryptography`` is imported inside the functions that parse, so modules that never read a certificate do not need
it; a missing library is reported with missing_required_lib. Thumbprint helpers need only the standard library. No
clock reads: callers pass ``now`` as epoch seconds. Nothing here puts a password or private key part in a message.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from ansible_collections.entra.b2c.plugins.module_utils._core.files import FileTooLarge, read_bounded
from ansible_collections.entra.b2c.plugins.module_utils._keysets.keys import (
    KeyInputError,
    KeyRequest,
    KeyRule,
    Plan,
    conflict,
    iso_utc,
    public_facts,
)

# A certificate or .pfx is a few KiB; reading stops here so a wrong path (a disk image, /dev/zero) fails fast.
MAX_FILE_BYTES = 1024 * 1024
# What B2C makes of an uploaded certificate or PKCS#12 bundle (AADB2C95032/95042 refuse anything else in the set).
UPLOADED_KTY = "RSA"
UPLOADED_USE = "sig"
# What an uploaded certificate becomes, for the check that the set holds no key of another kind.
UPLOADED = KeyRequest(use=UPLOADED_USE, kty=UPLOADED_KTY, nbf=None, exp=None, renew_before=0)
# The module has neither kty nor use: the advice after a refusal cannot be "request kty=...".
UPLOADED_ADVICE = "Use another key set: B2C makes an uploaded certificate an RSA sig key."

_PEM_CERTIFICATE = re.compile(
    r"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----(?P<body>[A-Za-z0-9+/=\s]*?)-----END (?:X509 |TRUSTED )?CERTIFICATE-----")
_PEM_PRIVATE_KEY = re.compile(r"-----BEGIN (?P<kind>[A-Z0-9 ]*)PRIVATE KEY-----.*?-----END (?P=kind)PRIVATE KEY-----", re.DOTALL)


class CertificateError(KeyInputError):
    """A certificate or PKCS#12 input the module refuses; the message names the option and never holds a secret."""


@dataclass(frozen=True)
class Certificate:
    """The public facts of a certificate that matter to B2C."""

    der: bytes = field(repr=False)
    thumbprint: str  # x5t: base64url SHA-1 of the DER, no padding
    not_before: int
    not_after: int
    subject: str


@dataclass(frozen=True)
class Upload:
    """A key-adding POST: the Graph action and its body (which may hold a password: never shown)."""

    action: str
    body: dict = field(repr=False)
    certificate: Certificate


def _cryptography() -> SimpleNamespace:
    """The parts of cryptography this file uses, or a CertificateError carrying missing_required_lib's message."""
    try:
        # pylint: disable=import-outside-toplevel  # only modules that read certificates need the library
        from cryptography import x509
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
        from cryptography.hazmat.primitives.serialization import Encoding, pkcs12
    except ImportError:
        from ansible.module_utils.basic import missing_required_lib  # pylint: disable=import-outside-toplevel

        raise CertificateError(missing_required_lib("cryptography")) from None
    kinds = (
        ("EC", (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey)),
        ("DSA", (dsa.DSAPublicKey, dsa.DSAPrivateKey)),
        ("Ed25519", (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey)),
        ("Ed448", (ed448.Ed448PublicKey, ed448.Ed448PrivateKey)),
    )
    return SimpleNamespace(x509=x509, rsa=rsa, pkcs12=pkcs12, Encoding=Encoding, kinds=kinds,
                           UnsupportedAlgorithm=UnsupportedAlgorithm)


# -- thumbprints (standard library only) ---------------------------------------------------------------------------

def thumbprint(der: bytes) -> str:
    """The JOSE x5t of a DER certificate: base64url SHA-1, no padding (SHA-1 by definition, not a security choice)."""
    return base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode("ascii").rstrip("=")  # nosec


def _normalize_thumbprint(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    # Padding and the standard alphabet are tolerated: some tools write x5t as plain base64.
    return value.strip().rstrip("=").replace("+", "-").replace("/", "_")


def same_thumbprint(left: Any, right: Any) -> bool:
    """True when both are the same x5t, ignoring base64 padding and alphabet."""
    normalized = _normalize_thumbprint(left)
    return normalized is not None and normalized == _normalize_thumbprint(right)


def key_thumbprint(key: Mapping[str, Any]) -> str | None:
    """A key's x5t, or the one of the first certificate of its x5c when the service left x5t out."""
    if _normalize_thumbprint(key.get("x5t")):
        return key["x5t"]
    chain = key.get("x5c")
    if isinstance(chain, list) and chain and isinstance(chain[0], str):
        try:
            return thumbprint(_b64decode(chain[0]))
        except ValueError:
            return None
    return None


def find_certificate_key(keys: Iterable[Mapping[str, Any]], wanted: str) -> dict | None:
    """The first key carrying the thumbprint `wanted`, else None."""
    for key in keys:
        if same_thumbprint(key_thumbprint(key), wanted):
            return dict(key)
    return None


# -- reading inputs ------------------------------------------------------------------------------------------------

def _b64decode(text: str) -> bytes:
    """Strict base64 (standard or URL-safe alphabet, padding optional, whitespace ignored); ValueError otherwise."""
    compact = "".join(text.split()).replace("-", "+").replace("_", "/").rstrip("=")
    if not compact:
        raise ValueError("empty")
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None


def decode_base64(text: Any, option: str) -> bytes:
    """The bytes of a base64 option value, or a CertificateError naming the option."""
    if not isinstance(text, str):
        raise CertificateError(f"{option}: expected base64 text, got {type(text).__name__}", option=option)
    try:
        return _b64decode(text)
    except ValueError:
        raise CertificateError(f"{option}: is not valid base64; give the file content base64-encoded (for example "
                               f"with the b64encode filter or 'base64 -w0 FILE')", option=option) from None


def read_file(path: str, option: str) -> bytes:
    """A certificate or bundle file's bytes (at most MAX_FILE_BYTES)."""
    try:
        data = read_bounded(path, MAX_FILE_BYTES)
    except FileTooLarge:
        raise CertificateError(f"{option}: {path} is larger than {MAX_FILE_BYTES} bytes; it is not a certificate file",
                               option=option) from None
    except OSError as exc:
        raise CertificateError(f"{option}: cannot read {path} ({exc.strerror or exc.__class__.__name__})",
                               option=option) from None
    if not data.strip():
        raise CertificateError(f"{option}: {path} is empty", option=option)
    return data


def private_key_blocks(text: str | bytes) -> list:
    """The PEM private key blocks in a text (so a module can mask them and say they are ignored)."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    return [match.group(0) for match in _PEM_PRIVATE_KEY.finditer(text)]


# -- certificates --------------------------------------------------------------------------------------------------

def _epoch(moment) -> int:
    # utctimetuple treats a naive datetime (cryptography < 42) as UTC and converts an aware one.
    return calendar.timegm(moment.utctimetuple())


def _validity(cert) -> tuple:
    not_before = getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before
    not_after = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after
    return _epoch(not_before), _epoch(not_after)


def _key_kind(key: Any, crypto: SimpleNamespace) -> str:
    """A short name for a key's algorithm, for messages."""
    if key is None:
        return "unsupported"
    for kind, classes in crypto.kinds:
        if isinstance(key, classes):
            return kind
    return type(key).__name__.lstrip("_")


def _facts(cert, crypto: SimpleNamespace, option: str) -> Certificate:
    """Certificate facts; refuses a key B2C cannot hold (B2C policy keys are RSA)."""
    try:
        public_key = cert.public_key()
    except (ValueError, crypto.UnsupportedAlgorithm):
        public_key = None
    if not isinstance(public_key, crypto.rsa.RSAPublicKey):
        raise CertificateError(f"{option}: the certificate holds a non-RSA ({_key_kind(public_key, crypto)}) public "
                               f"key; B2C policy keys are RSA: give an RSA certificate", option=option)
    der = cert.public_bytes(crypto.Encoding.DER)
    not_before, not_after = _validity(cert)
    try:
        subject = cert.subject.rfc4514_string()
    except ValueError:  # pragma: no cover - a subject cryptography cannot render
        subject = ""
    return Certificate(der=der, thumbprint=thumbprint(der), not_before=not_before, not_after=not_after,
                       subject=subject)


def load_certificate(data: str | bytes, option: str) -> Certificate:
    """A certificate from PEM text (the first CERTIFICATE block), DER bytes, or base64 text of the DER."""
    crypto = _cryptography()
    raw = data.encode("utf-8") if isinstance(data, str) else data
    text = raw.decode("latin-1")
    if "-----BEGIN" in text:
        match = _PEM_CERTIFICATE.search(text)
        if not match:
            raise CertificateError(f"{option}: the PEM holds no '-----BEGIN CERTIFICATE-----' block; give the "
                                   f"certificate (a private key alone cannot be uploaded: use a PKCS#12 bundle)",
                                   option=option)
        try:
            candidates = [_b64decode(match.group("body"))]
        except ValueError:
            raise CertificateError(f"{option}: the PEM certificate block is not valid base64", option=option) from None
    else:
        # DER bytes, or the base64 text of a DER certificate (a .cer exported as text, or an option value).
        candidates = [raw]
        try:
            candidates.append(_b64decode(text))
        except ValueError:
            pass
    for der in candidates:
        try:
            cert = crypto.x509.load_der_x509_certificate(der)
        except ValueError:
            continue
        return _facts(cert, crypto, option)
    raise CertificateError(f"{option}: is not a certificate; give a PEM ('-----BEGIN CERTIFICATE-----') or DER "
                           f"certificate, or the base64 text of its DER", option=option)


def _looks_like_pkcs12(data: bytes) -> bool:
    """True when data is a DER SEQUENCE of INTEGER 3 then a SEQUENCE: a PFX, so a load failure is the password's."""
    if len(data) < 5 or data[0] != 0x30:
        return False
    if data[1] < 0x80:
        header, length = 2, data[1]
    else:
        size = data[1] & 0x7F
        if not 1 <= size <= 4 or len(data) < 2 + size:
            return False
        header, length = 2 + size, int.from_bytes(data[2:2 + size], "big")
    return header + length <= len(data) and data[header:header + 4] == b"\x02\x01\x03\x30"


def load_pkcs12(data: bytes, password: str | None, option: str,
                password_option: str = "pkcs12_password") -> Certificate:
    """The certificate of a PKCS#12 bundle, once the bundle opens and holds an RSA private key with its certificate."""
    crypto = _cryptography()
    secret = None if password is None else password.encode("utf-8")
    try:
        private_key, cert, chain = crypto.pkcs12.load_key_and_certificates(data, secret)
    except ValueError:
        if not _looks_like_pkcs12(data):
            raise CertificateError(f"{option}: is not a PKCS#12 (.pfx/.p12) bundle", option=option) from None
        if password is None:
            raise CertificateError(f"{password_option}: the PKCS#12 bundle in {option} is password protected; give "
                                   f"{password_option}", option=password_option) from None
        raise CertificateError(f"{password_option} does not open the PKCS#12 bundle in {option}; check the password "
                               f"(an unprotected bundle takes none)", option=password_option) from None
    if private_key is None:
        raise CertificateError(f"{option}: the PKCS#12 bundle holds no private key; B2C needs the private key with its "
                               f"certificate (to upload a certificate alone, use certificate or certificate_path)",
                               option=option)
    if cert is None:
        detail = " that matches its private key" if chain else ""
        raise CertificateError(f"{option}: the PKCS#12 bundle holds no certificate{detail}; export the private key "
                               f"together with its certificate", option=option)
    if not isinstance(private_key, crypto.rsa.RSAPrivateKey):
        raise CertificateError(f"{option}: the PKCS#12 bundle holds a non-RSA ({_key_kind(private_key, crypto)}) "
                               f"private key; B2C policy keys are RSA", option=option)
    facts = _facts(cert, crypto, option)
    if private_key.public_key().public_numbers() != cert.public_key().public_numbers():
        raise CertificateError(f"{option}: the private key in the PKCS#12 bundle does not belong to its certificate",
                               option=option)
    return facts


def check_validity(certificate: Certificate, now: int, option: str) -> None:
    """Refuse a certificate that expired (not after <= now) or is not valid yet (not before > now)."""
    which = f"the certificate ({certificate.subject or 'no subject'}, x5t {certificate.thumbprint})"
    if certificate.not_after <= now:
        raise CertificateError(f"{option}: {which} expired at {iso_utc(certificate.not_after)}; B2C would hold a key it "
                               f"cannot use: give a current certificate", option=option)
    if certificate.not_before > now:
        raise CertificateError(f"{option}: {which} is not valid before {iso_utc(certificate.not_before)}; give a "
                               f"certificate that is valid now", option=option)


# -- what to send and what it will look like -----------------------------------------------------------------------

def certificate_upload(certificate: Certificate) -> Upload:
    """uploadCertificate with the certificate's DER, base64-encoded (a .cer)."""
    return Upload("uploadCertificate", {"key": base64.b64encode(certificate.der).decode("ascii")}, certificate)


def pkcs12_upload(bundle: bytes, password: str | None, certificate: Certificate) -> Upload:
    """uploadPkcs12 with the bundle base64-encoded, and the password when one was given."""
    body = {"key": base64.b64encode(bundle).decode("ascii")}
    if password is not None:
        body["password"] = password
    return Upload("uploadPkcs12", body, certificate)


def planned_key(certificate: Certificate) -> dict:
    """Public facts of the key an upload of this certificate adds (what check mode's diff shows)."""
    return public_facts({
        "use": UPLOADED_USE, "kty": UPLOADED_KTY, "nbf": certificate.not_before, "exp": certificate.not_after,
        "x5t": certificate.thumbprint, "x5c": [base64.b64encode(certificate.der).decode("ascii")],
    })


# -- the rule of b2c_keyset_certificate ------------------------------------------------------------------------------

@dataclass(frozen=True)
class CertificateRule(KeyRule):
    """A key satisfies when it carries the certificate's thumbprint, whatever its status or validity: uploading the
    same certificate again would only add a second copy."""

    upload: Upload

    @property
    def action(self) -> str:  # type: ignore[override]
        return self.upload.action

    @property
    def thumbprint(self) -> str:
        return self.upload.certificate.thumbprint

    def facts(self) -> dict:
        return {"thumbprint": self.thumbprint}

    def plan(self, keyset_exists: bool, keys: Iterable[Mapping[str, Any]], now: int) -> Plan:
        held = find_certificate_key(keys, self.thumbprint)
        reason = "keyset_missing" if not keyset_exists else "valid" if held else "no_key"
        return Plan(generate=held is None, reason=reason, key=held)

    def conflict(self, keys: Iterable[Mapping[str, Any]], service_id: str) -> str | None:
        return conflict(keys, UPLOADED, service_id, {"kty": UPLOADED_ADVICE, "use": UPLOADED_ADVICE})

    def body(self, now: int) -> dict:
        return self.upload.body

    def planned(self, now: int) -> dict:
        return planned_key(self.upload.certificate)

    def landed(self, keys_before: Iterable[Mapping[str, Any]], keys_after: Iterable[Mapping[str, Any]],
               now: int) -> dict | None:
        return find_certificate_key(keys_after, self.thumbprint)

    def notice(self, key: Mapping[str, Any], service_id: str) -> str | None:
        if str(key.get("status", "")).strip().lower() != "disabled":
            return None
        return (f"key {key.get('kid')} of {service_id} carries this certificate (x5t {self.thumbprint}) but is disabled, "
                f"so B2C does not use it; enable it again rather than uploading a second copy")
