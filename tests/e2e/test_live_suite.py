# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make live-test` (scripts/live-test.sh + tests/live) with the emulator standing in for a tenant: the suite runs
unchanged (environment variables only, no control API), cleans up after itself, and skips loudly without a tenant."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import REPO_ROOT

SCENARIOS = 8


def live_test(emulator, ansible, *pytest_args, credentials=True, extra_env=None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in ansible.env().items() if not key.startswith(("AZURE_", "ENTRA_B2C_LIVE"))}
    env.pop("E2E_RESULTS_FILE", None)
    env["LIVE_PYTHON"] = sys.executable
    if credentials:
        env.update({"AZURE_TENANT_ID": emulator.tenant_id, "AZURE_CLIENT_ID": emulator.client_id,
                    "AZURE_CLIENT_SECRET": emulator.client_secret, "REQUESTS_CA_BUNDLE": emulator.ca_path,
                    "ENTRA_B2C_LIVE_GRAPH_ENDPOINT": emulator.url, "ENTRA_B2C_LIVE_AUTHORITY_HOST": emulator.url})
    env.update(extra_env or {})
    done = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "live-test.sh"), *pytest_args], cwd=ansible.workdir, env=env,
                          capture_output=True, text=True, timeout=900, check=False, stdin=subprocess.DEVNULL)
    ansible.assert_no_secret_in(done.stdout + done.stderr)
    return done


def leftovers(control) -> list:
    return [keyset["id"] for keyset in control.state()["keysets"] if "AnsibleE2E" in keyset["id"]]


def test_without_a_tenant_it_says_why_and_exits_0(emulator, ansible, control):
    done = live_test(emulator, ansible, credentials=False)
    assert done.returncode == 0
    assert "SKIPPED, no B2C tenant to test against: set AZURE_TENANT_ID, AZURE_CLIENT_ID, a credential" in done.stdout
    assert control.requests() == []


def test_every_scenario_runs_against_a_stand_in_tenant_and_nothing_is_left(emulator, ansible, control):
    done = live_test(emulator, ansible)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert re.search(r"\b%d passed\b" % SCENARIOS, output) and " skipped" not in output and " failed" not in output, output[-2000:]
    assert "left behind: nothing" in output
    assert leftovers(control) == []
    routes = [entry["route"] for entry in control.requests()]
    # eight sets made (the check-mode scenario makes none), one PKCS#12 upload; every set and its backup deleted
    assert routes.count("keysets.create") == 8 and routes.count("keys.uploadPkcs12") == 1
    assert routes.count("keysets.delete") >= 2 * 8


def test_a_failing_scenario_still_cleans_up_and_sweep_removes_old_leftovers(emulator, ansible, control):
    control.seed([{"id": "B2C_1A_AnsibleE2E0ld0ld00Sig", "keys": []}, {"id": "B2C_1A_AnsibleE2E0ld0ld00Cert.bak", "keys": []},
                  {"id": "B2C_1A_SomebodyElses", "keys": []}])
    control.add_fault("keys.uploadPkcs12", [{"status": 400, "code": "AADB2C95025", "message": "wrong password"}] * 3)
    done = live_test(emulator, ansible, "-k", "certificate or generated", extra_env={"ENTRA_B2C_LIVE_SWEEP": "1"})
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert re.search(r"\b1 failed, 1 passed\b", output), output[-2000:]
    assert "left behind: nothing" in output
    assert leftovers(control) == []
    assert [keyset["id"] for keyset in control.state()["keysets"]] == ["B2C_1A_SomebodyElses"]
