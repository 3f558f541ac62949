# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""`python -m emulator` as a process: the one JSON line, serving, clean exit on signals, --data and --apps."""

from __future__ import annotations

import json
import os
import selectors
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import requests
from fidelity_helpers import GRAPH_SCOPE

TESTS_DIR = Path(__file__).resolve().parents[1]
INFO_KEYS = {"url", "ca_path", "tenant_id", "tenant_domain", "client_id", "client_secret"}


class EmulatorProcess:
    def __init__(self, tmp_path: Path, *args: str, argv: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        env = dict(os.environ, PYTHONPATH=str(TESTS_DIR), **(env or {}))
        self.stderr_path = tmp_path / f"stderr-{time.monotonic_ns()}.log"
        self._stderr = self.stderr_path.open("w")
        started = time.monotonic()
        self.process = subprocess.Popen([*(argv or [sys.executable, "-m", "emulator"]), *args], stdout=subprocess.PIPE,
                                        stderr=self._stderr, stdin=subprocess.DEVNULL, env=env, text=True)
        line = self._read_line(timeout=20)
        self.startup_seconds = time.monotonic() - started
        self.info = json.loads(line)

    def _read_line(self, timeout: float) -> str:
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            self.process.kill()
            raise AssertionError(f"no JSON line within {timeout}s; stderr: {self.stderr_path.read_text()}")
        return self.process.stdout.readline()

    def token(self, client_id: str, client_secret: str) -> str:
        response = requests.post(f"{self.info['url']}/{self.info['tenant_domain']}/oauth2/v2.0/token", verify=self.info["ca_path"],
                                 data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret,
                                       "scope": GRAPH_SCOPE}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def graph(self, method: str, path: str, token: str, body=None) -> requests.Response:
        return requests.request(method, f"{self.info['url']}/beta/trustFramework/keySets{path}", json=body, timeout=30,
                                headers={"Authorization": f"Bearer {token}"}, verify=self.info["ca_path"])

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=10)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self._stderr.close()
        rest = self.process.stdout.read()
        self.process.stdout.close()
        return code, rest, self.stderr_path.read_text()


def test_cli_prints_one_json_line_serves_and_exits_cleanly(tmp_path):
    emulator = EmulatorProcess(tmp_path, "--state-dir", str(tmp_path / "state"))
    try:
        info = emulator.info
        assert set(info) == INFO_KEYS
        assert info["url"].startswith("https://127.0.0.1:")
        assert info["ca_path"] == str(tmp_path / "state" / "ca.pem") and Path(info["ca_path"]).is_file()
        assert info["tenant_domain"].endswith(".onmicrosoft.com")
        assert emulator.startup_seconds < 5
        token = emulator.token(info["client_id"], info["client_secret"])
        created = emulator.graph("POST", "", token, {"id": "FromCli"})
        assert created.status_code == 201
        generated = emulator.graph("POST", "/B2C_1A_FromCli/generateKey", token, {"use": "sig", "kty": "RSA"})
        assert generated.status_code == 200
    finally:
        code, rest, stderr = emulator.stop(signal.SIGTERM)
    assert code == 0
    assert rest == ""
    assert info["client_secret"] not in stderr and token not in stderr
    assert "POST /beta/trustFramework/keySets" in stderr


def test_cli_exits_cleanly_on_sigint(tmp_path):
    emulator = EmulatorProcess(tmp_path)
    ca_path = Path(emulator.info["ca_path"])
    assert ca_path.is_file()
    code, _rest, _stderr = emulator.stop(signal.SIGINT)
    assert code == 0
    assert not ca_path.exists()


def test_cli_fixed_ids_apps_file_and_data_persistence(tmp_path):
    data = tmp_path / "tenant.json"
    apps = tmp_path / "apps.json"
    apps.write_text(json.dumps([{"client_id": "11111111-2222-3333-4444-555555555555", "client_secret": "reader-secret",
                                 "permissions": ["TrustFrameworkKeySet.Read.All"]}]))
    fixed = ["--tenant-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "--client-id", "99999999-8888-7777-6666-555555555555",
             "--client-secret", "fixed-secret", "--data", str(data), "--apps", str(apps)]

    first = EmulatorProcess(tmp_path, *fixed)
    try:
        assert first.info["tenant_id"] == "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
        assert first.info["client_id"] == "99999999-8888-7777-6666-555555555555"
        token = first.token(first.info["client_id"], "fixed-secret")
        assert first.graph("POST", "", token, {"id": "Persisted"}).status_code == 201
        kid = first.graph("POST", "/B2C_1A_Persisted/generateKey", token, {"use": "enc", "kty": "RSA", "nbf": 1700000000}).json()["kid"]
        reader = first.token("11111111-2222-3333-4444-555555555555", "reader-secret")
        assert first.graph("POST", "", reader, {"id": "Denied"}).status_code == 403
    finally:
        assert first.stop()[0] == 0
    # the data file holds private key material: owner-only, and complete
    assert stat.S_IMODE(data.stat().st_mode) == 0o600
    stored = json.loads(data.read_text())["keysets"][0]["keys"][0]
    assert stored["kid"] == kid and stored["d"]

    second = EmulatorProcess(tmp_path, *fixed)
    try:
        token = second.token(second.info["client_id"], "fixed-secret")
        keyset = second.graph("GET", "/B2C_1A_Persisted", token)
        assert keyset.status_code == 200
        assert [(key["kid"], key["use"], key["nbf"]) for key in keyset.json()["keys"]] == [(kid, "enc", 1700000000)]
        # B2C's rules still hold against the reloaded keys
        mixed = second.graph("POST", "/B2C_1A_Persisted/generateKey", token, {"use": "sig", "kty": "RSA"})
        assert mixed.status_code == 400
    finally:
        assert second.stop()[0] == 0


def test_cli_settings_for_cloud_replication_and_statuses(tmp_path):
    emulator = EmulatorProcess(tmp_path, "--cloud", "usgov", "--replication-delay", "30", "--replication-error", "AADB2C90073",
                               "--not-found-status", "404", "--exists-status", "409", "--generic-error-code")
    try:
        settings = requests.get(f"{emulator.info['url']}/_emulator/config", verify=emulator.info["ca_path"], timeout=30).json()
        assert {name: settings[name] for name in ("cloud", "replication_delay", "replication_error", "replication_get_fails",
                                                  "not_found_status", "exists_status", "generic_error_code")} == {
            "cloud": "usgov", "replication_delay": 30.0, "replication_error": "AADB2C90073", "replication_get_fails": False,
            "not_found_status": 404, "exists_status": 409, "generic_error_code": True}
        response = requests.post(f"{emulator.info['url']}/{emulator.info['tenant_id']}/oauth2/v2.0/token", timeout=30,
                                 verify=emulator.info["ca_path"], data={
                                     "grant_type": "client_credentials", "client_id": emulator.info["client_id"],
                                     "client_secret": emulator.info["client_secret"], "scope": GRAPH_SCOPE})
        assert response.status_code == 400 and response.json()["error_codes"] == [500011]  # a usgov tenant
    finally:
        assert emulator.stop()[0] == 0


def test_make_emulator_script_runs_with_the_interpreter_it_is_given(tmp_path):
    """scripts/emulator.sh (make emulator) is self-contained: an interpreter with cryptography runs it as is."""
    script = TESTS_DIR.parent / "scripts" / "emulator.sh"
    assert "lib.sh" not in script.read_text(encoding="utf-8")
    emulator = EmulatorProcess(tmp_path, "--cloud", "china", argv=["bash", str(script)],
                               env={"EMULATOR_PYTHON": sys.executable, "EMULATOR_ARGS": "--tenant-domain scripted.onmicrosoft.com"})
    try:
        assert set(emulator.info) == INFO_KEYS and emulator.info["tenant_domain"] == "scripted.onmicrosoft.com"
        settings = requests.get(f"{emulator.info['url']}/_emulator/config", verify=emulator.info["ca_path"], timeout=30).json()
        assert settings["cloud"] == "china"
    finally:
        code, _rest, stderr = emulator.stop()
    assert code == 0
    assert "installing" not in stderr  # the given interpreter has cryptography: no venv was made
