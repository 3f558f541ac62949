# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action plugins run the modules in the controller's worker process: same results as a module process."""

from __future__ import annotations

import os
import re
import stat
import sys

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import key_task
from policy_helpers import render, seed_keys, tenant_connection
from test_keyset_certificate import make_certificate, pem

# Every test here compares the worker path with a module process: the parity every ansible-core minor must keep.
pytestmark = pytest.mark.compat

IN_PROCESS = "running %s in the controller's worker process"
MODULE_PROCESS = "running %s as a module process"
AS_MODULE = {"ENTRA_B2C_IN_PROCESS": "false"}
REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MASKED = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
# Values that differ between two runs of the same task: generated key material and the times of now.
VOLATILE = ("keysets", "kid", "n", "e", "nbf", "exp", "not_before", "expires", "keyset_keys", "key", "results", "diff")


def without_ids(value):
    """Every GUID (request ids, the ids of app registrations the emulator makes) as <id>."""
    if isinstance(value, str):
        return REQUEST_ID.sub("<id>", value)
    if isinstance(value, list):
        return [without_ids(item) for item in value]
    if isinstance(value, dict):
        return {name: without_ids(item) for name, item in value.items()}
    return value


def comparable(result: dict) -> dict:
    """A task result without what differs from run to run (and with the key's shape kept)."""
    kept = without_ids({name: value for name, value in result.items() if name not in VOLATILE})
    if isinstance(kept.get("error"), dict):  # Graph's answer: each request has its own id and date
        kept["error"] = dict(kept["error"], request_id="<id>" if kept["error"].get("request_id") else None,
                             date="<date>" if kept["error"].get("date") else None)
    if "exception" in kept:  # the paths differ (AnsiballZ's zip against the collection's files); the last frame not
        kept["exception"] = kept["exception"].strip().splitlines()[-1]
    if "keysets" in result:  # b2c_keyset_info's sets (their keys differ from run to run); a policy's: names
        kept["keysets"] = [(keyset["id"], len(keyset["keyset_keys"])) if isinstance(keyset, dict) else keyset
                           for keyset in result["keysets"]]
    if "invocation" in kept:
        kept["invocation"] = {name: value for name, value in kept["invocation"]["module_args"].items()
                              if name not in ("client_id", "client_secret")}
    if isinstance(result.get("key"), dict):
        kept["key_fields"] = sorted(result["key"])
    kept["keys_count"] = len(result.get("keyset_keys") or [])
    if "results" in result:
        kept["results"] = [comparable(entry) for entry in result["results"]]
    return kept


def test_by_default_the_module_runs_in_the_worker_and_gives_the_module_process_result(ansible, control):
    task = key_task(keyset="Parity", use="sig", valid_for="30d")
    as_module = ansible.playbook([task], extra_env=AS_MODULE, verbosity=3)
    control.reset()
    in_process = ansible.playbook([task], verbosity=3)
    assert MODULE_PROCESS % "b2c_keyset_key" in as_module.output
    assert IN_PROCESS % "b2c_keyset_key" in in_process.output
    assert IN_PROCESS % "b2c_keyset_key" not in as_module.output
    assert in_process.result()["changed"] is True
    assert comparable(in_process.result()) == comparable(as_module.result())
    assert in_process.result()["key"]["exp"] - in_process.result()["key"]["nbf"] == 30 * 86400
    # no_log arguments are masked in the invocation exactly as a module process masks them
    # ansible-core 2.19 and later return the invocation only when asked (INJECT_INVOCATION)
    assert ("invocation" in in_process.result()) is ("invocation" in as_module.result())
    for run in (as_module, in_process):
        if "invocation" in run.result():
            assert run.result()["invocation"]["module_args"]["client_secret"] == MASKED


CASES = {
    "check_diff": ([key_task(keyset="CheckDiff", use="enc", valid_for="10d")], dict(check=True, diff=True)),
    "batch": ([{"name": "key", "ignore_errors": True, "entra.b2c.b2c_keyset_key_batch": {
        "use": "sig", "valid_for": "5d", "keysets": [{"keyset": "BatchA"}, {"keyset": "BatchB", "use": "enc"}]}}], {}),
    "info": ([key_task(name="make", keyset="InfoA", use="sig"),
              {"name": "key", "entra.b2c.b2c_keyset_info": {}, "ignore_errors": True}], {}),
    "keyset_absent": ([{"name": "key", "entra.b2c.b2c_keyset": {"keyset": "Gone", "state": "absent"},
                        "ignore_errors": True}], {}),
    "bad_duration": ([key_task(keyset="Bad", use="sig", valid_for="a fortnight")], {}),
    "bad_type": ([key_task(keyset="Bad", use="sig", timeout="soon")], {}),
    "unknown_option": ([key_task(keyset="Bad", use="sig", colour="blue")], {}),
    "graph_refusal": ([key_task(keyset="Refused", use="sig")], {}),
}
FAILING = ("bad_duration", "bad_type", "unknown_option", "graph_refusal")


@pytest.mark.parametrize("case", sorted(CASES))
def test_results_match_a_module_process(ansible, control, case):
    tasks, options = CASES[case]
    runs = []
    for extra_env in (AS_MODULE, None):
        control.reset()
        defaults = None
        if case == "graph_refusal":  # a read-only app: Graph answers 403
            app = control.register_app(permissions=["TrustFrameworkKeySet.Read.All"])
            defaults = ansible.connection(client_id=app["client_id"], client_secret=app["client_secret"])
        runs.append(ansible.playbook(tasks, defaults=defaults, extra_env=extra_env, verbosity=3, **options))
    as_module, in_process = runs
    module = next(name for name in tasks[-1] if name.startswith("entra.b2c.")).split(".")[-1]
    assert MODULE_PROCESS % module in as_module.output and IN_PROCESS % module in in_process.output
    module_result, worker_result = as_module.result(), in_process.result()
    assert comparable(worker_result) == comparable(module_result)
    assert as_module.task("key")["status"] == in_process.task("key")["status"]
    assert in_process.task("key")["status"] == ("failed" if case in FAILING else "ok")
    if case == "check_diff":
        assert worker_result["changed"] is True and set(worker_result["diff"]) == set(module_result["diff"])
    if case == "batch":
        assert [entry["changed"] for entry in worker_result["results"]] == [True, True]
    if case == "graph_refusal":
        assert "403" in worker_result["msg"]


@pytest.mark.parametrize("extra_env", [None, AS_MODULE], ids=["worker", "module process"])
def test_a_result_is_never_templated(ansible, control, extra_env):
    """A value from the tenant that looks like a template stays text, on both paths and every minor (the worker path
    marks its result as ActionBase marks a module process's: unsafe before 2.19, untagged from 2.19 on)."""
    template = "{{ 6 * 7 }}"
    control.seed_policies([{"id": "B2C_1A_Templated",
                            "content": f'<TrustFrameworkPolicy PolicyId="B2C_1A_Templated">{template}</TrustFrameworkPolicy>'}])
    tasks = [{"name": "info", "register": "info", "entra.b2c.b2c_policy_info": {"policy": "B2C_1A_Templated",
                                                                                "content": True}},
             {"name": "fact", "ansible.builtin.set_fact": {"seen": "{{ info.policies[0].content }}"}}]
    run = ansible.playbook(tasks, defaults=tenant_connection(ansible), extra_env=extra_env)
    assert run.rc == 0, run.output[-3000:]
    assert template in run.task("fact")["result"]["ansible_facts"]["seen"]
    assert "42" not in run.task("fact")["result"]["ansible_facts"]["seen"]


def test_each_write_prints_a_line_as_it_completes_in_the_worker(ansible, control):
    """At default verbosity: the key set created and the key added, each with its time, named by host (AWX shows a
    long deploy's progress this way); a module process can only report at its end."""
    task = key_task(keyset="Progress", use="sig", valid_for="30d")
    in_process = ansible.playbook([task])
    assert re.search(r"^localhost: B2C_1A_Progress created \(\d+\.\d s\)$", in_process.stdout, re.M), in_process.stdout
    assert re.search(r"^localhost: B2C_1A_Progress: key added with generateKey \(\d+\.\d s\)$", in_process.stdout, re.M)
    again = ansible.playbook([task])  # nothing written, nothing to show
    assert "localhost: B2C_1A_Progress" not in again.stdout
    control.reset()
    as_module = ansible.playbook([task], extra_env=AS_MODULE)
    assert as_module.result()["changed"] is True and "localhost: B2C_1A_Progress" not in as_module.stdout


def test_the_environment_keyword_reaches_the_module_and_is_undone(ansible, control, tmp_path):
    """AWX and playbooks give credentials through `environment:`; the worker's own environment is restored."""
    connection = ansible.connection(tenant_id=None, client_id=None, client_secret=None)
    # The secret comes from a vars file, as a vaulted variable would: ansible-core shows the play's source around a
    # failed task, so a literal secret in the play would be printed by Ansible itself.
    secrets_file = tmp_path / "secrets.yml"
    secrets_file.write_text(yaml.safe_dump({"b2c_secret": ansible.emulator.client_secret}), encoding="utf-8")
    environment = {"AZURE_TENANT_ID": ansible.emulator.tenant_id, "AZURE_CLIENT_ID": ansible.emulator.client_id,
                   "AZURE_SECRET": "{{ b2c_secret }}"}
    with_env = dict(key_task(name="with", keyset="FromEnvironment", use="sig"), environment=environment)
    without_env = key_task(name="without", keyset="FromEnvironment", use="sig")
    run = ansible.playbook([with_env, without_env], defaults=connection, verbosity=3,
                           extra_args=["-e", "@%s" % secrets_file])
    assert IN_PROCESS % "b2c_keyset_key" in run.output
    assert run.result("with")["changed"] is True
    assert run.task("without")["status"] == "failed"
    assert "no credentials" in run.result("without")["msg"]


def test_another_interpreter_gets_a_module_process(ansible, control, tmp_path):
    wrapper = tmp_path / "other-python"
    wrapper.write_text('#!/bin/sh\nexec "%s" "$@"\n' % sys.executable, encoding="utf-8")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    run = ansible.playbook([key_task(keyset="OtherPython", use="sig")], verbosity=3,
                           extra_args=["-e", "ansible_python_interpreter=%s" % wrapper])
    assert MODULE_PROCESS % "b2c_keyset_key" in run.output
    assert "the interpreter is %s, not the controller's" % wrapper in run.output
    assert run.result()["changed"] is True


def test_the_configured_interpreter_counts_too(ansible, control, tmp_path):
    """ANSIBLE_PYTHON_INTERPRETER (interpreter_python) picks the module's Python as much as the host variable does."""
    wrapper = tmp_path / "configured-python"
    wrapper.write_text('#!/bin/sh\nexec "%s" "$@"\n' % sys.executable, encoding="utf-8")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    run = ansible.playbook([key_task(keyset="ConfiguredPython", use="sig")], verbosity=3,
                           inventory=_explicit_localhost(tmp_path), extra_env={"ANSIBLE_PYTHON_INTERPRETER": str(wrapper)})
    assert MODULE_PROCESS % "b2c_keyset_key" in run.output
    assert run.result()["changed"] is True


def test_another_name_of_the_same_interpreter_runs_in_the_worker(ansible, control, tmp_path):
    """A venv's bin/python and bin/python3 (or the real path behind them) are one interpreter: the same path."""
    bin_dir = os.path.dirname(sys.executable)
    other_name = next(os.path.join(bin_dir, name) for name in ("python3", "python")
                      if os.path.join(bin_dir, name) != sys.executable and os.path.exists(os.path.join(bin_dir, name)))
    run = ansible.playbook([key_task(keyset="SamePython", use="sig")], verbosity=3,
                           extra_args=["-e", "ansible_python_interpreter=%s" % other_name])
    assert IN_PROCESS % "b2c_keyset_key" in run.output
    assert run.result()["changed"] is True


def _explicit_localhost(tmp_path):
    """An inventory naming localhost without an interpreter, so the configured one applies."""
    inventory = tmp_path / "localhost.ini"
    inventory.write_text("localhost ansible_connection=local\n", encoding="utf-8")
    return inventory


def test_a_failing_module_leaves_the_next_task_unaffected(ansible, control):
    """One worker runs one task, but a module's failure must not leak state into the next task of the play."""
    tasks = [key_task(name="bad", keyset="Seq", use="sig", valid_for="never"),
             key_task(name="good", keyset="Seq", use="sig", valid_for="1d")]
    run = ansible.playbook(tasks)
    assert run.task("bad")["status"] == "failed" and "valid_for" in run.result("bad")["msg"]
    assert run.result("good")["changed"] is True
    assert os.environ.get("ENTRA_B2C_IN_PROCESS") is None  # the suite itself runs the default path


def test_tasks_of_remote_hosts_delegated_to_localhost_run_in_the_worker(ansible, control, tmp_path):
    """The usual inventory of tenants: hosts that are not the controller, the Graph tasks delegated to localhost."""
    inventory = tmp_path / "tenants.ini"
    inventory.write_text("[tenants]\ntenant-a ansible_host=192.0.2.10 ansible_python_interpreter=/usr/bin/python-nowhere\n"
                         "tenant-b ansible_host=192.0.2.11 ansible_python_interpreter=/usr/bin/python-nowhere\n",
                         encoding="utf-8")
    task = dict(key_task(keyset="{{ inventory_hostname | replace('-', '') }}", use="sig"), delegate_to="localhost")
    run = ansible.playbook([task], hosts="tenants", inventory=inventory, verbosity=3)
    assert run.output.count(IN_PROCESS % "b2c_keyset_key") == 2
    assert sorted(keyset["id"] for keyset in control.state()["keysets"]) == ["B2C_1A_tenanta", "B2C_1A_tenantb"]


SECRET = "s3cr3t-parity-value-never-shown"


def every_module_tasks(ansible, tmp_path) -> dict:
    """One task per module and outcome (name -> (task, fails)): each module once succeeding and once refused."""
    rendered = render(tmp_path / "policies", ansible.emulator.tenant_domain)
    certificate = pem(make_certificate(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    return {
        "secret_ok": ({"entra.b2c.b2c_keyset_secret": {"keyset": "ParitySecret", "use": "sig", "secret": SECRET,
                                                       "valid_for": "30d"}}, False),
        "secret_refused": ({"entra.b2c.b2c_keyset_secret": {"keyset": "ParitySecret", "use": "sig", "secret": SECRET,
                                                            "valid_for": "never"}}, True),
        "certificate_ok": ({"entra.b2c.b2c_keyset_certificate": {"keyset": "ParityCert", "certificate": certificate}},
                           False),
        "certificate_refused": ({"entra.b2c.b2c_keyset_certificate": {"keyset": "ParityCert",
                                                                      "certificate": "not a certificate"}}, True),
        "policy_ok": ({"entra.b2c.b2c_policy": {"path": str(rendered / "TrustFrameworkBase.xml")}}, False),
        "policy_refused": ({"entra.b2c.b2c_policy": {"content": "<TrustFrameworkPolicy"}}, True),
        "policies_ok": ({"entra.b2c.b2c_policies": {"path": str(rendered)}}, False),
        "policies_refused": ({"entra.b2c.b2c_policies": {"path": str(rendered), "prune": True}}, True),
        "policy_info_ok": ({"entra.b2c.b2c_policy_info": {"content": True}}, False),
        "policy_info_refused": ({"entra.b2c.b2c_policy_info": {"parallel": 0}}, True),
        "ief_apps_ok": ({"entra.b2c.b2c_ief_apps": {"tenant_domain": ansible.emulator.tenant_domain}}, False),
        "ief_apps_refused": ({"entra.b2c.b2c_ief_apps": {"identity_experience_framework_app_id": "not-a-guid"}}, True),
    }


def test_every_module_gives_the_module_process_result(ansible, control, tmp_path):
    """Each module, succeeding and refused, in one play run both ways from the same tenant: the same results."""
    cases = every_module_tasks(ansible, tmp_path)
    tasks = [dict(task, name=name, ignore_errors=True) for name, (task, _fails) in cases.items()]
    runs = []
    for extra_env in (AS_MODULE, None):
        control.reset()
        seed_keys(control)  # the key sets the test policies reference
        runs.append(ansible.playbook(tasks, defaults=tenant_connection(ansible), extra_env=extra_env, verbosity=3))
    as_module, in_process = runs
    for name, (task, fails) in cases.items():
        module = next(key for key in task if key.startswith("entra.b2c.")).split(".")[-1]
        assert MODULE_PROCESS % module in as_module.output and IN_PROCESS % module in in_process.output
        assert comparable(in_process.result(name)) == comparable(as_module.result(name)), name
        assert in_process.task(name)["status"] == as_module.task(name)["status"] == ("failed" if fails else "ok"), name
    for run in runs:
        assert SECRET not in run.output and SECRET not in repr(run.results)
        invocation = run.result("secret_ok").get("invocation")
        if invocation:
            assert invocation["module_args"]["secret"] == MASKED
