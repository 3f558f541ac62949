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

from conftest import REPO_ROOT, TENANT_APP
from policy_helpers import POLICY_SET

SCENARIOS = 10
# The policy scenario's set: five policies, uploaded once and deleted once.
SET_SIZE = 5


def live_test(emulator, ansible, *pytest_args, credentials=True, extra_env=None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in ansible.env().items() if not key.startswith(("AZURE_", "ENTRA_B2C_LIVE"))}
    env.pop("E2E_RESULTS_FILE", None)
    env["LIVE_PYTHON"] = sys.executable
    if credentials:
        # The app a user of make live-test registers: key set and policy permissions. The tenant as its GUID, so the
        # policy scenario takes the domain name from ENTRA_B2C_LIVE_TENANT_DOMAIN.
        env.update({"AZURE_TENANT_ID": emulator.tenant_id, "AZURE_CLIENT_ID": TENANT_APP["client_id"],
                    "AZURE_CLIENT_SECRET": TENANT_APP["client_secret"], "REQUESTS_CA_BUNDLE": emulator.ca_path,
                    "ENTRA_B2C_LIVE_GRAPH_ENDPOINT": emulator.url, "ENTRA_B2C_LIVE_AUTHORITY_HOST": emulator.url,
                    "ENTRA_B2C_LIVE_TENANT_DOMAIN": emulator.tenant_domain})
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
    assert "cleaned up the policies of run AnsibleE2E" in output and "policies of run" in output
    assert leftovers(control) == [] and control.policies() == []
    routes = [entry["route"] for entry in control.requests()]
    # ten sets made (the check-mode scenario makes none; the policy scenario two), one PKCS#12 upload; every set and
    # its backup deleted
    assert routes.count("keysets.create") == 10 and routes.count("keys.uploadPkcs12") == 1
    assert routes.count("keysets.delete") >= 2 * 10
    # the policy set: uploaded once (the re-run uploads nothing), deleted once by the scenario itself; the rollback
    # scenario uploads it again, then a release (Extensions, SignIn refused, SignInForApi beside it) and puts back the
    # two B2C took, and the session's clean-up deletes that set
    assert routes.count("policies.put") == SET_SIZE + SET_SIZE + 3 + 2
    assert routes.count("policies.delete") == SET_SIZE + SET_SIZE


def test_a_failing_scenario_still_cleans_up_and_sweep_removes_old_leftovers(emulator, ansible, control):
    control.seed([{"id": "B2C_1A_AnsibleE2E0ld0ld00Sig", "keys": []}, {"id": "B2C_1A_AnsibleE2E0ld0ld00Cert.bak", "keys": []},
                  {"id": "B2C_1A_SomebodyElses", "keys": []}])

    def rendered(name: str) -> str:
        return (POLICY_SET / name).read_text(encoding="utf-8").replace("{{ b2c_tenant }}", emulator.tenant_domain)

    # an earlier run's policies (a base and what extends it) and somebody else's: the sweep removes the first two only
    base, localization = rendered("TrustFrameworkBase.xml"), rendered("TrustFrameworkLocalization.xml")
    control.seed_policies([
        {"content": base.replace("B2C_1A_Basic_", "B2C_1A_AnsibleE2E0ld0ld00Basic_")},
        {"content": localization.replace("B2C_1A_Basic_", "B2C_1A_AnsibleE2E0ld0ld00Basic_")},
        {"content": base}])
    control.add_fault("keys.uploadPkcs12", [{"status": 400, "code": "AADB2C95025", "message": "wrong password"}] * 3)
    done = live_test(emulator, ansible, "-k", "certificate or generated", extra_env={"ENTRA_B2C_LIVE_SWEEP": "1"})
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert re.search(r"\b1 failed, 1 passed\b", output), output[-2000:]
    assert "left behind: nothing" in output
    assert leftovers(control) == []
    assert [keyset["id"] for keyset in control.state()["keysets"]] == ["B2C_1A_SomebodyElses"]
    assert [policy["id"] for policy in control.policies()] == ["B2C_1A_Basic_Base"]
    swept = [entry["policy"] for entry in control.requests() if entry["route"] == "policies.delete"]
    assert swept == ["B2C_1A_AnsibleE2E0ld0ld00Basic_Localization", "B2C_1A_AnsibleE2E0ld0ld00Basic_Base"]
