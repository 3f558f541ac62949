# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Just enough JOSE (RFC 7515/7517/7518) for the emulator: base64url, JWKs and RS256/PS256 JWTs.

Written on `cryptography` alone so the emulator needs no JWT library.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SUPPORTED_ALGORITHMS = ("RS256", "PS256")


class JwtError(ValueError):
    """A token that cannot be parsed or whose signature does not verify."""


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not isinstance(text, str):
        raise JwtError("base64url value must be a string")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise JwtError("invalid base64url") from exc


def int_to_b64url(value: int) -> str:
    return b64url_encode(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def b64url_to_int(text: str) -> int:
    return int.from_bytes(b64url_decode(text), "big")


def rsa_public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = public_key.public_numbers()
    return {"e": int_to_b64url(numbers.e), "n": int_to_b64url(numbers.n)}


def rsa_private_jwk(private_key: rsa.RSAPrivateKey) -> dict[str, str]:
    """Every JWK member of an RSA private key (public and private parts)."""
    numbers = private_key.private_numbers()
    jwk = rsa_public_jwk(private_key.public_key())
    jwk.update({
        "d": int_to_b64url(numbers.d),
        "p": int_to_b64url(numbers.p),
        "q": int_to_b64url(numbers.q),
        "dp": int_to_b64url(numbers.dmp1),
        "dq": int_to_b64url(numbers.dmq1),
        "qi": int_to_b64url(numbers.iqmp),
    })
    return jwk


def _compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=False).encode("utf-8")


def _padding_for(alg: str) -> padding.AsymmetricPadding:
    if alg == "RS256":
        return padding.PKCS1v15()
    if alg == "PS256":
        # RFC 7518 3.5: salt as long as the hash output
        return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256.digest_size)
    raise JwtError(f"unsupported JWT algorithm {alg!r}")


def encode_jwt(claims: dict[str, Any], private_key: rsa.RSAPrivateKey, headers: dict[str, Any] | None = None,
               alg: str = "RS256") -> str:
    header = {"typ": "JWT", "alg": alg}
    header.update(headers or {})
    signing_input = b64url_encode(_compact_json(header)) + "." + b64url_encode(_compact_json(claims))
    signature = private_key.sign(signing_input.encode("ascii"), _padding_for(alg), hashes.SHA256())
    return signing_input + "." + b64url_encode(signature)


class UnverifiedJwt:
    """A parsed compact JWS whose signature has not been checked yet."""

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or token.count(".") != 2:
            raise JwtError("a JWT has three dot-separated parts")
        header_part, claims_part, signature_part = token.split(".")
        try:
            self.header = json.loads(b64url_decode(header_part))
            self.claims = json.loads(b64url_decode(claims_part))
        except (ValueError, UnicodeDecodeError) as exc:
            raise JwtError("JWT header or payload is not base64url JSON") from exc
        if not isinstance(self.header, dict) or not isinstance(self.claims, dict):
            raise JwtError("JWT header and payload must be JSON objects")
        self.signature = b64url_decode(signature_part)
        self.signing_input = (header_part + "." + claims_part).encode("ascii")

    @property
    def alg(self) -> str:
        return str(self.header.get("alg", ""))

    def verify(self, public_key: Any) -> None:
        """Raise JwtError unless the signature verifies with `public_key` under the header's algorithm."""
        if self.alg not in SUPPORTED_ALGORITHMS:
            raise JwtError(f"unsupported JWT algorithm {self.alg!r}")
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise JwtError("only RSA keys can verify RS256/PS256")
        try:
            public_key.verify(self.signature, self.signing_input, _padding_for(self.alg), hashes.SHA256())
        except InvalidSignature as exc:
            raise JwtError("signature does not verify") from exc
