# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The tenant's key sets: B2C's rules for creating, reading and adding keys, and persistence to a JSON file.

Keys are kept whole (private parts included, as the service keeps them); everything that leaves the store goes
through `public_key`, which drops the private parts and answers `k` as null.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import os
import re
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from . import errors
from .config import Settings
from .jose import b64url_encode, rsa_private_jwk, rsa_public_jwk
from .pki import certificate_der, new_kid, new_rsa_key, sha1_thumbprint, validity_epochs

KEYSET_PREFIX = "B2C_1A_"
BACKUP_SUFFIX = ".bak"
KEYSET_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]+$")
KID_PATTERN = re.compile(r"^[A-Za-z0-9_\-=]+$")
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")
# Public members in the order the service lists them (k and x5c always come first)
PUBLIC_MEMBERS = ("x5t", "kty", "use", "exp", "nbf", "kid", "e", "n", "status")
KEY_STATUSES = ("enabled", "disabled")
KTYS = ("rsa", "oct")
USES = ("sig", "enc")
OCT_GENERATED_BYTES = 64


def is_valid_keyset_id(keyset_id: Any) -> bool:
    return isinstance(keyset_id, str) and bool(KEYSET_ID_PATTERN.match(keyset_id))


def is_valid_kid(kid: Any) -> bool:
    return isinstance(kid, str) and bool(KID_PATTERN.match(kid))


def normalize_keyset_id(name: str) -> str:
    """The id the service stores for a create with `name`: B2C_1A_ prepended unless already there (any case)."""
    if name[:len(KEYSET_PREFIX)].upper() == KEYSET_PREFIX:
        return KEYSET_PREFIX + name[len(KEYSET_PREFIX):]
    return KEYSET_PREFIX + name


def epoch_or_none(value: Any) -> int | None:
    """A stored nbf/exp as seconds (stored values may be ints or digit strings); None when absent or unreadable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def public_key(key: dict[str, Any]) -> dict[str, Any]:
    """What the service answers for a key: public members only, `k` always null, `x5c` always a list."""
    view: dict[str, Any] = {"k": None, "x5c": list(key.get("x5c") or [])}
    for name in PUBLIC_MEMBERS:
        if key.get(name) is not None:
            view[name] = key[name]
    return view


def public_keyset(keyset: dict[str, Any]) -> dict[str, Any]:
    return {"id": keyset["id"], "keys": [public_key(key) for key in keyset["keys"]]}


def active_key_of(keys: list[dict[str, Any]], now: float) -> dict[str, Any] | None:
    """B2C's active key: not disabled, window holds now; latest nbf (absent earliest), then latest exp (absent latest)."""
    best: tuple[float, float, int] | None = None
    chosen = None
    for index, key in enumerate(keys):
        if key.get("status") == "disabled":
            continue
        nbf = epoch_or_none(key.get("nbf"))
        exp = epoch_or_none(key.get("exp"))
        if (nbf is not None and nbf > now) or (exp is not None and exp <= now):
            continue
        rank = (float("-inf") if nbf is None else nbf, float("inf") if exp is None else exp, index)
        if best is None or rank > best:
            best, chosen = rank, key
    return chosen


def _parse_kty(value: Any, missing: Callable[[], errors.GraphError]) -> str:
    if value is None or value == "":
        raise missing()
    if not isinstance(value, str) or value.lower() not in KTYS:
        raise errors.kty_invalid(value)
    return value


def _parse_use(value: Any) -> str:
    if not isinstance(value, str) or value.lower() not in USES:
        raise errors.use_invalid(value)
    return value.lower()


def _parse_time(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        raise errors.bad_request(f"Invalid value for '{name}': expected seconds since the epoch (int64).")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise errors.bad_request(f"Invalid value for '{name}': expected seconds since the epoch (int64).")


def _require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise errors.bad_request("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
    return body


def _check_mixing(keys: list[dict[str, Any]], kty: str, use: str) -> None:
    """B2C refuses RSA next to oct and sig next to enc, against every key whatever its status or validity."""
    for key in keys:
        existing_kty = key.get("kty")
        if isinstance(existing_kty, str) and existing_kty.lower() != kty.lower():
            raise errors.kty_mixed(existing_kty, kty)
    for key in keys:
        existing_use = key.get("use")
        if isinstance(existing_use, str) and existing_use.lower() != use.lower():
            raise errors.use_mixed(existing_use, use)


def _decode_base64(text: Any, what: str) -> bytes:
    if not isinstance(text, str) or not text.strip():
        raise errors.bad_request(f"The '{what}' field is required: a base64-encoded file.")
    # accept the standard and the URL-safe alphabets, with or without padding and line breaks
    compact = "".join(text.split()).replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.bad_request(f"The '{what}' field is not valid base64.") from exc


def _parse_times(body: dict[str, Any]) -> dict[str, int]:
    """The nbf/exp members of a request that has them, as ints."""
    times = {}
    for name in ("nbf", "exp"):
        value = _parse_time(body, name)
        if value is not None:
            times[name] = value
    return times


def _rsa_key_from_certificate(cert: x509.Certificate, use: str) -> dict[str, Any]:
    public = cert.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise errors.kty_invalid(type(public).__name__)
    nbf, exp = validity_epochs(cert)
    key: dict[str, Any] = {
        "kid": new_kid(), "use": use, "kty": "RSA",
        "x5t": sha1_thumbprint(cert), "x5c": [base64.b64encode(certificate_der(cert)).decode("ascii")],
        "nbf": nbf, "exp": exp, "status": "enabled",
    }
    key.update(rsa_public_jwk(public))
    return key


class KeySetStore:
    """Key sets of one tenant. Every method is safe to call from many threads (one lock around the data)."""

    def __init__(self, tenant_name: str, settings: Settings, data_file: str | None = None) -> None:
        self.tenant_name = tenant_name
        self.settings = settings
        self.data_file = Path(data_file) if data_file else None
        self.lock = threading.RLock()
        self._keysets: dict[str, dict[str, Any]] = {}
        # when each set made through the API was created (time.monotonic()), for the replication window
        self._created_at: dict[str, float] = {}

    def private_values(self) -> list[str]:
        """Every private key member held now (d, p, q, dp, dq, qi, k): what a client must never show."""
        with self.lock:
            return [key[name] for keyset in self._keysets.values() for key in keyset["keys"]
                    for name in PRIVATE_MEMBERS if isinstance(key.get(name), str) and key[name]]

    # ---- persistence -------------------------------------------------------------------------------------------
    def load(self) -> None:
        if not self.data_file or not self.data_file.exists():
            return
        data = json.loads(self.data_file.read_text(encoding="utf-8"))
        with self.lock:
            self._keysets = {keyset["id"]: {"id": keyset["id"], "keys": list(keyset["keys"])} for keyset in data.get("keysets", [])}

    def _save(self) -> None:
        """Write the whole tenant atomically (called with the lock held, after every write)."""
        if not self.data_file:
            return
        payload = json.dumps({"version": 1, "keysets": list(self._keysets.values())}, indent=1)
        self.data_file.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=".keysets-", dir=str(self.data_file.parent))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, self.data_file)
        except BaseException:
            if os.path.exists(temp_name):
                os.unlink(temp_name)
            raise

    def reset(self) -> None:
        with self.lock:
            self._keysets.clear()
            self._created_at.clear()
            self._save()

    # ---- lookups -------------------------------------------------------------------------------------------------
    def _replicating(self, keyset_id: str) -> bool:
        """Whether the set was created less than `replication_delay` seconds ago (B2C has not replicated it yet)."""
        created = self._created_at.get(keyset_id)
        return created is not None and time.monotonic() - created < self.settings.replication_delay

    def _not_replicated(self, keyset_id: str) -> errors.GraphError:
        if self.settings.replication_error == "AADB2C90073":
            return errors.keyset_not_found(keyset_id, self.tenant_name, self.settings.not_found_status)
        return errors.keyset_not_created(keyset_id, self.tenant_name, self.settings.not_found_status)

    def _require(self, keyset_id: str, key_operation: bool = False) -> dict[str, Any]:
        """The set; a missing one answers AADB2C90073. Within the replication window a key operation answers the
        replication error, and a read of the set itself AADB2C90073 when `replication_get_fails` says so."""
        keyset = self._keysets.get(keyset_id)
        if keyset is None:
            raise errors.keyset_not_found(keyset_id, self.tenant_name, self.settings.not_found_status)
        if self._replicating(keyset_id):
            if key_operation:
                raise self._not_replicated(keyset_id)
            if self.settings.replication_get_fails:
                raise errors.keyset_not_found(keyset_id, self.tenant_name, self.settings.not_found_status)
        return keyset

    def _require_for_add(self, keyset_id: str) -> dict[str, Any]:
        keyset = self._keysets.get(keyset_id)
        if keyset is None:
            raise errors.keyset_not_created(keyset_id, self.tenant_name, self.settings.not_found_status)
        if self._replicating(keyset_id):
            raise self._not_replicated(keyset_id)
        return keyset

    def _require_key(self, keyset_id: str, kid: str) -> dict[str, Any]:
        for key in self._require(keyset_id, key_operation=True)["keys"]:
            if key.get("kid") == kid:
                return key
        raise errors.GraphError(404, "Request_ResourceNotFound", f"Key with kid '{kid}' cannot be found in KeyContainer '{keyset_id}'.")

    def list(self) -> list[dict[str, Any]]:
        with self.lock:
            return [public_keyset(keyset) for keyset in self._keysets.values()]

    def replication_left(self) -> dict[str, float]:
        """Seconds each set still has in its replication window, by the emulator's own clock (sets out of it: none)."""
        with self.lock:
            now = time.monotonic()
            left = {keyset_id: created + self.settings.replication_delay - now
                    for keyset_id, created in self._created_at.items()}
            return {keyset_id: seconds for keyset_id, seconds in left.items() if seconds > 0}

    def replicated_ids(self) -> set[str]:
        """The sets B2C's policy validation can see: those out of their replication window (a set created less than
        `replication_delay` seconds ago is listed, yet unknown to the validation of a policy that references it)."""
        with self.lock:
            return {keyset_id for keyset_id in self._keysets if not self._replicating(keyset_id)}

    def get(self, keyset_id: str) -> dict[str, Any]:
        with self.lock:
            return public_keyset(self._require(keyset_id))

    def active_key(self, keyset_id: str, now: float) -> dict[str, Any]:
        with self.lock:
            key = active_key_of(self._require(keyset_id, key_operation=True)["keys"], now)
            if key is None:
                raise errors.GraphError(404, "Request_ResourceNotFound", f"KeyContainer '{keyset_id}' has no active key.")
            return public_key(key)

    def get_key(self, keyset_id: str, kid: str) -> dict[str, Any]:
        with self.lock:
            return public_key(self._require_key(keyset_id, kid))

    # ---- writes --------------------------------------------------------------------------------------------------
    def create(self, body: Any) -> dict[str, Any]:
        body = _require_object(body)
        if body.get("keys"):
            raise errors.bad_request("The 'keySet' field is invalid in request. Please check the request body and parameters.")
        name = body.get("id")
        if not isinstance(name, str) or not name:
            raise errors.bad_request("The 'id' of the key set is required.")
        keyset_id = normalize_keyset_id(name)
        if not is_valid_keyset_id(keyset_id) or keyset_id == KEYSET_PREFIX:
            raise errors.bad_request(f"The key set id '{name}' is invalid: use only letters, digits, '_', '-' and '.'.")
        with self.lock:
            if keyset_id in self._keysets:
                raise errors.keyset_exists(keyset_id, self.tenant_name, self.settings.exists_status)
            self._keysets[keyset_id] = {"id": keyset_id, "keys": []}
            self._created_at[keyset_id] = time.monotonic()
            self._save()
            return public_keyset(self._keysets[keyset_id])

    def replace(self, keyset_id: str, body: Any) -> dict[str, Any]:
        """PUT: the payload's keys (with their private parts) replace the set's keys; the service assigns kids."""
        body = _require_object(body)
        with self.lock:
            self._require(keyset_id, key_operation=True)
        keys = body.get("keys")
        if not isinstance(keys, list):
            raise errors.bad_request("The 'keys' field is required: a list of keys.")
        new_keys: list[dict[str, Any]] = []
        for index, raw in enumerate(keys):
            if not isinstance(raw, dict):
                raise errors.bad_request(f"The key at index {index} is not an object.")
            if raw.get("kid"):
                raise errors.kid_in_put()
            kty = _parse_kty(raw.get("kty"), lambda index=index: errors.kty_missing_in_key(index))
            use = _parse_use(raw.get("use"))
            _check_mixing(new_keys, kty, use)
            key: dict[str, Any] = {"kid": new_kid(), "use": use, "kty": kty, **_parse_times(raw), "status": "enabled"}
            if kty.lower() == "oct":
                if not isinstance(raw.get("k"), str) or not raw["k"]:
                    raise errors.bad_request(f"The key at index {index} of type 'oct' needs its secret 'k'.")
                key["k"] = raw["k"]
            else:
                if not (isinstance(raw.get("n"), str) and isinstance(raw.get("e"), str)):
                    raise errors.bad_request(f"The key at index {index} of type 'RSA' needs 'n' and 'e'.")
                for name in ("n", "e", "d", "p", "q", "dp", "dq", "qi", "x5t"):
                    if isinstance(raw.get(name), str):
                        key[name] = raw[name]
                if isinstance(raw.get("x5c"), list):
                    key["x5c"] = [item for item in raw["x5c"] if isinstance(item, str)]
            new_keys.append(key)
        with self.lock:
            keyset = self._require(keyset_id, key_operation=True)
            keyset["keys"] = new_keys
            self._save()
            return public_keyset(keyset)

    def delete(self, keyset_id: str) -> None:
        """Delete a set; B2C keeps its keys in `<id>.bak`, except when the deleted set is itself a backup."""
        with self.lock:
            keyset = self._keysets.get(keyset_id)
            if keyset is None:
                raise errors.keyset_not_found(keyset_id, self.tenant_name, self.settings.not_found_status)
            del self._keysets[keyset_id]
            self._created_at.pop(keyset_id, None)
            if not keyset_id.endswith(BACKUP_SUFFIX):
                backup_id = keyset_id + BACKUP_SUFFIX
                self._keysets.pop(backup_id, None)
                self._created_at.pop(backup_id, None)
                self._keysets[backup_id] = {"id": backup_id, "keys": copy.deepcopy(keyset["keys"])}
            self._save()

    def _add_key(self, keyset_id: str, kty: str, use: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Append a key made by `build` (slow RSA work happens outside the lock; the rules are checked again inside)."""
        with self.lock:
            _check_mixing(self._require_for_add(keyset_id)["keys"], kty, use)
        key = build()
        with self.lock:
            keyset = self._require_for_add(keyset_id)
            _check_mixing(keyset["keys"], kty, use)
            keyset["keys"].append(key)
            self._save()
            return public_key(key)

    def generate_key(self, keyset_id: str, body: Any) -> dict[str, Any]:
        body = _require_object(body)
        with self.lock:
            self._require_for_add(keyset_id)
        kty = _parse_kty(body.get("kty"), errors.kty_missing)
        use = _parse_use(body.get("use"))
        # Stored as given, even nbf == exp or in the past (Microsoft's own example does that): checking is the client's job
        times = _parse_times(body)

        def build() -> dict[str, Any]:
            key: dict[str, Any] = {"kid": new_kid(), "use": use, "kty": kty, **times, "status": "enabled"}
            if kty.lower() == "oct":
                key["k"] = b64url_encode(secrets.token_bytes(OCT_GENERATED_BYTES))
            else:
                key.update(rsa_private_jwk(new_rsa_key()))
            return key

        return self._add_key(keyset_id, kty, use, build)

    def upload_secret(self, keyset_id: str, body: Any) -> dict[str, Any]:
        body = _require_object(body)
        with self.lock:
            self._require_for_add(keyset_id)
        use = _parse_use(body.get("use"))
        secret = body.get("k")
        if not isinstance(secret, str) or not secret:
            raise errors.bad_request("The secret 'k' is required.")
        times = _parse_times(body)
        return self._add_key(keyset_id, "oct", use,
                             lambda: {"kid": new_kid(), "use": use, "kty": "oct", **times, "k": secret, "status": "enabled"})

    def upload_certificate(self, keyset_id: str, body: Any) -> dict[str, Any]:
        body = _require_object(body)
        with self.lock:
            self._require_for_add(keyset_id)
        raw = body.get("key")
        try:
            if isinstance(raw, str) and raw.lstrip().startswith("-----BEGIN"):
                cert = x509.load_pem_x509_certificate(raw.encode("ascii"))
            else:
                cert = x509.load_der_x509_certificate(_decode_base64(raw, "key"))
        except ValueError as exc:
            raise errors.bad_request("The 'key' field is not a valid base64-encoded X.509 certificate (.cer).") from exc
        key = _rsa_key_from_certificate(cert, "sig")
        return self._add_key(keyset_id, "RSA", "sig", lambda: key)

    def upload_pkcs12(self, keyset_id: str, body: Any) -> dict[str, Any]:
        body = _require_object(body)
        with self.lock:
            self._require_for_add(keyset_id)
        data = _decode_base64(body.get("key"), "key")
        password = body.get("password")
        if password is not None and not isinstance(password, str):
            raise errors.bad_request("The 'password' field must be a string.")
        try:
            private_key, cert, _chain = pkcs12.load_key_and_certificates(data, password.encode("utf-8") if password else None)
        except ValueError as exc:
            # cryptography does not tell a wrong password from a broken file: a DER SEQUENCE means the file parsed
            if data[:1] == b"\x30":
                raise errors.pkcs12_password() from exc
            raise errors.bad_request("The 'key' field is not a valid PKCS#12 (.pfx) file.") from exc
        if cert is None or not isinstance(private_key, rsa.RSAPrivateKey):
            raise errors.bad_request("The PKCS#12 file must hold an RSA private key and its certificate.")
        key = _rsa_key_from_certificate(cert, "sig")
        key.update(rsa_private_jwk(private_key))
        return self._add_key(keyset_id, "RSA", "sig", lambda: key)

    def patch_key(self, keyset_id: str, kid: str, body: Any) -> None:
        body = _require_object(body)
        others = sorted(set(body) - {"status"})
        if others or "status" not in body:
            raise errors.bad_request("Only 'status' can be updated on a key.")
        if body["status"] not in KEY_STATUSES:
            raise errors.bad_request(f"Invalid key status '{body['status']}': use 'enabled' or 'disabled'.")
        with self.lock:
            self._require_key(keyset_id, kid)["status"] = body["status"]
            self._save()

    # ---- test controls ------------------------------------------------------------------------------------------
    def seed(self, keysets: Any) -> list[dict[str, Any]]:
        """Add (or replace) key sets holding arbitrary keys; kid and key material are filled in when missing."""
        if not isinstance(keysets, list):
            raise ValueError("'keysets' must be a list")
        prepared: list[dict[str, Any]] = []
        for item in keysets:
            if not isinstance(item, dict) or not is_valid_keyset_id(item.get("id")):
                given = item.get("id") if isinstance(item, dict) else None
                raise ValueError(f"each key set needs a valid 'id' (letters, digits, '_', '-', '.'), not {given!r}")
            keys = item.get("keys", [])
            if not isinstance(keys, list) or not all(isinstance(key, dict) for key in keys):
                raise ValueError(f"'keys' of {item['id']} must be a list of objects")
            prepared.append({"id": item["id"], "keys": [_seed_key(key) for key in keys]})
        with self.lock:
            for keyset in prepared:
                self._keysets[keyset["id"]] = keyset
                self._created_at.pop(keyset["id"], None)  # seeded sets have replicated
            self._save()
            return [public_keyset(keyset) for keyset in prepared]


def _seed_key(given: dict[str, Any]) -> dict[str, Any]:
    key = dict(given)
    if not key.get("kid"):
        key["kid"] = new_kid()
    kty = key.get("kty")
    if isinstance(kty, str) and kty.lower() == "rsa" and not key.get("n"):
        key.update(rsa_private_jwk(new_rsa_key()))
    if isinstance(kty, str) and kty.lower() == "oct" and not key.get("k"):
        key["k"] = b64url_encode(secrets.token_bytes(OCT_GENERATED_BYTES))
    # status defaults to enabled; an explicit null leaves the key without one (the service may omit it)
    if "status" not in key:
        key["status"] = "enabled"
    elif key["status"] is None:
        del key["status"]
    return key
