# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Keys and certificates: the TLS CA made at start, RSA key material, certificate facts."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .jose import b64url_encode

RSA_KEY_BITS = 2048


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)


def new_kid() -> str:
    """A key id the way B2C makes them: base64url of 32 random bytes (43 characters)."""
    return b64url_encode(secrets.token_bytes(32))


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


@dataclass(frozen=True)
class TlsFiles:
    ca_path: str
    cert_path: str
    key_path: str


def make_tls_files(state_dir: Path, host: str) -> TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost (and `host`), EC P-256 so start-up stays fast."""
    now = _utcnow()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "entra.b2c emulator test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    try:
        host_ip = ipaddress.ip_address(host)
        if str(host_ip) != "127.0.0.1" and not host_ip.is_unspecified:
            alt_names.append(x509.IPAddress(host_ip))
    except ValueError:
        if host != "localhost":
            alt_names.append(x509.DNSName(host))
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    state_dir.mkdir(parents=True, exist_ok=True)
    ca_path = state_dir / "ca.pem"
    cert_path = state_dir / "server.pem"
    key_path = state_dir / "server-key.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    _write_private(key_path, server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
    return TlsFiles(str(ca_path), str(cert_path), str(key_path))


def self_signed_certificate(private_key: rsa.RSAPrivateKey, common_name: str, days: int = 365) -> x509.Certificate:
    now = _utcnow()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(private_key, hashes.SHA256())
    )


def certificate_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def sha1_thumbprint(cert: x509.Certificate) -> str:
    """base64url SHA-1 of the DER: the JOSE `x5t` (SHA-1 by definition, not a security choice)."""
    return b64url_encode(hashlib.sha1(certificate_der(cert)).digest())


def sha1_hex(cert: x509.Certificate) -> str:
    """The SHA-1 thumbprint in hex, as the Azure portal shows it and msal's `thumbprint` takes it."""
    return hashlib.sha1(certificate_der(cert)).hexdigest().upper()


def sha256_thumbprint(cert: x509.Certificate) -> str:
    """base64url SHA-256 of the DER: the JOSE `x5t#S256`."""
    return b64url_encode(hashlib.sha256(certificate_der(cert)).digest())


def validity_epochs(cert: x509.Certificate) -> tuple[int, int]:
    """(not before, not after) of a certificate, in seconds since the epoch."""
    if hasattr(cert, "not_valid_before_utc"):
        return int(cert.not_valid_before_utc.timestamp()), int(cert.not_valid_after_utc.timestamp())
    # cryptography < 42 only has naive UTC datetimes
    utc = datetime.timezone.utc
    return (int(cert.not_valid_before.replace(tzinfo=utc).timestamp()),
            int(cert.not_valid_after.replace(tzinfo=utc).timestamp()))


def load_certificates(pem_or_list: str | list[str]) -> list[x509.Certificate]:
    """Every certificate in one PEM text or in a list of PEM texts."""
    texts = [pem_or_list] if isinstance(pem_or_list, str) else list(pem_or_list)
    certificates: list[x509.Certificate] = []
    for text in texts:
        certificates.extend(x509.load_pem_x509_certificates(text.encode("utf-8")))
    return certificates
