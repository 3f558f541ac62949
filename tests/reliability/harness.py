# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Plumbing shared by the fault matrix, the soak and the bad-input table.

A "runner" is tests/e2e/conftest.py's `Ansible` (the suite's fixture, or the driver's counting subclass): it runs the
real ansible-playbook against one emulator and scans every run for every secret in play.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import importlib.util
import secrets as secrets_module
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import requests
import yaml

RELIABILITY_DIR = Path(__file__).resolve().parent
TESTS_DIR = RELIABILITY_DIR.parent
REPO_ROOT = TESTS_DIR.parent
PREFIX = "B2C_1A_"
COLLECTION = "entra.b2c."
# What a module failure looks like when the module crashed instead of failing cleanly.
CRASH_MARKERS = ("Traceback (most recent call last)", "MODULE FAILURE", "See stdout/stderr for the exact error")


def service_id(name: str) -> str:
    return name if name.upper().startswith(PREFIX) else PREFIX + name


def keysets_by_id(control) -> dict:
    """The emulator's key sets (public parts): id -> list of keys."""
    return {keyset["id"]: keyset["keys"] for keyset in control.state()["keysets"]}


def write_inventory(path: Path, hosts: dict) -> Path:
    """A YAML inventory of local hosts, each with its own variables (one host per case or key set)."""
    entries = {name: dict(variables, ansible_connection="local") for name, variables in hosts.items()}
    path.write_text(yaml.safe_dump({"all": {"hosts": entries}}, sort_keys=False), encoding="utf-8")
    return path


def results_by_host(run, task: Optional[str] = None) -> dict:
    """host -> the one result of that host that ran (skipped entries of the other task variants left out)."""
    chosen = {}
    for entry in run.results:
        if entry["status"] == "skipped" or (task is not None and entry["task"] != task):
            continue
        chosen[entry["host"]] = entry
    return chosen


def crashed(entry: dict) -> bool:
    """True when the module died (a traceback, a non-JSON answer) instead of failing with a message."""
    result = entry.get("result") or {}
    text = " ".join(str(result.get(name) or "") for name in ("msg", "module_stderr", "module_stdout", "exception"))
    return any(marker in text for marker in CRASH_MARKERS)


@dataclass(frozen=True)
class UploadMaterial:
    """A certificate and a password-protected PKCS#12 bundle of it, made fresh for one run of the checks."""

    certificate_pem: str
    pkcs12_b64: str = field(repr=False)
    pkcs12_password: str = field(repr=False)
    thumbprint: str

    @property
    def secrets(self) -> set:
        return {self.pkcs12_b64, self.pkcs12_password}


def make_upload_material(days: int = 365) -> UploadMaterial:
    # Imported here: only the certificate and PKCS#12 cases need cryptography in the driver process.
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import rsa  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.serialization import pkcs12  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reliability.example")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
    password = "pfx-" + secrets_module.token_urlsafe(12)
    bundle = pkcs12.serialize_key_and_certificates(
        b"reliability", key, cert, None, serialization.BestAvailableEncryption(password.encode("utf-8")))
    der = cert.public_bytes(serialization.Encoding.DER)
    return UploadMaterial(
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        pkcs12_b64=base64.b64encode(bundle).decode("ascii"),
        pkcs12_password=password,
        thumbprint=base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode("ascii").rstrip("="),
    )


class GraphAdmin:
    """Changes the emulator's key sets through its Graph API, as an administrator would between runs."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.session = requests.Session()
        self._token = emulator.control.access_token(client_id=emulator.client_id,
                                                    roles=["TrustFrameworkKeySet.ReadWrite.All"], expires_in=3600)

    def disable_keys(self, keyset_id: str, keys: list) -> int:
        """PATCH keys_v2 {status: disabled} for every enabled key; returns how many were disabled."""
        disabled = 0
        for key in keys:
            if key.get("status") == "disabled":
                continue
            url = "%s/beta/trustFramework/keySets/%s/keys_v2/%s" % (self.emulator.url, keyset_id, key["kid"])
            response = self.session.patch(url, json={"status": "disabled"}, verify=self.emulator.ca_path, timeout=30,
                                          headers={"Authorization": "Bearer " + self._token})
            response.raise_for_status()
            disabled += 1
        return disabled


_LOAD_LOCK = threading.Lock()


def load_e2e_harness():
    """tests/e2e/conftest.py under its own module name: the driver runs Ansible exactly as the suite does."""
    name = "entra_b2c_e2e_harness"
    with _LOAD_LOCK:  # cases run in threads: none may see the module half loaded
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, TESTS_DIR / "e2e" / "conftest.py")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # dataclasses look their module up while it loads
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
    return sys.modules[name]


class LeakTally:
    """The driver's leak scan: like the suite's (every run, every secret the emulator knows plus the run's own), but
    counted for the report instead of failing at the first hit. Thread-safe: cases run concurrently."""

    def __init__(self):
        self._lock = threading.Lock()
        self.runs_scanned = 0
        self.bytes_scanned = 0
        self.known: set = set()
        self.hits: list = []

    def scan(self, runner, text: str) -> None:
        harness = load_e2e_harness()
        known = {secret for secret in set(runner.emulator.control.secrets()) | runner.secrets if len(secret) >= 8}
        leaked = sorted({harness.describe_secret(secret) for secret in known if secret in text})
        with self._lock:
            self.runs_scanned += 1
            self.bytes_scanned += len(text)
            self.known |= {hashlib.sha256(secret.encode("utf-8")).hexdigest() for secret in known}
            self.hits.extend(leaked)


def counting_runner(emulator, workdir: Path, tally: LeakTally, verbosity: int = 3, run_timeout: int = 1800):
    """A conftest `Ansible` whose leak scan reports to `tally`, at -vvv by default, with room for long plays."""
    harness = load_e2e_harness()

    class CountingAnsible(harness.Ansible):
        def assert_no_secret_in(self, text: str) -> None:
            tally.scan(self, text)

        def _execute(self, argv, extra_env=None, timeout=180):
            # A play of a hundred cases on a busy machine can outlast the suite's limit for one run.
            return super()._execute(argv, extra_env, timeout=max(timeout, run_timeout))

    workdir.mkdir(parents=True, exist_ok=True)
    runner = CountingAnsible(emulator, workdir, harness.collections_path(workdir))
    runner.verbosity = verbosity
    return runner


def describe_value(value: Any, limit: int = 40) -> str:
    """A short printable form of a test value for tables (long values abbreviated with their length)."""
    text = repr(value)
    if len(text) > limit:
        text = "%s... (%d chars)" % (text[:limit - 12], len(value) if isinstance(value, str) else len(text))
    return text
