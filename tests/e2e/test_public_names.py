# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The public names settled before 0.1.0: each once, and the names they replaced fail as Ansible fails any unknown one.

- the list of a set's keys is `keyset_keys` only (no `keys`, which is the dict method in Jinja);
- `client_secret` has no alias `secret` (b2c_keyset_secret's own option);
- the batch module is `b2c_keyset_key_batch` (no one-letter slip from b2c_keyset_key reaches it).
"""

from __future__ import annotations

import json
import re
import subprocess

from conftest import REPO_ROOT
from test_auth import make_certificate  # a self-signed certificate: (PEM with its key, certificate PEM)

# Every module of the collection, the policy family included.
MODULES = tuple(sorted(path.stem for path in (REPO_ROOT / "plugins" / "modules").glob("b2c_*.py")))
OLD_BATCH = "entra.b2c.b2c_keyset_keys"
# Ansible's words for a module that does not exist, playbook and ad hoc, ansible-core 2.16 to 2.21.
UNRESOLVED = re.compile(rf"(couldn't resolve module/action|Cannot resolve) '{re.escape(OLD_BATCH)}'"
                        rf"|The module {re.escape(OLD_BATCH)} was not found in configured module paths")
POLICY_SECRET = "policy-Secret-5c1d9a"


def dicts_in(value):
    """Every dict in a result, however deep."""
    if isinstance(value, dict):
        yield value
        for inner in value.values():
            yield from dicts_in(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from dicts_in(inner)


def task(name: str, module: str, **args) -> dict:
    return {"name": name, f"entra.b2c.{module}": args, "register": name.replace("-", "_"), "ignore_errors": True}


def test_every_result_and_diff_lists_keys_as_keyset_keys_only(ansible, control):
    ansible.secrets.add(POLICY_SECRET)
    tasks = [
        task("keyset", "b2c_keyset", keyset="Empty"),
        task("key", "b2c_keyset_key", keyset="Signing", use="sig", valid_for="30d"),
        task("batch", "b2c_keyset_key_batch", use="enc", keysets=[{"keyset": "Encryption"}]),
        task("secret", "b2c_keyset_secret", keyset="Api", use="sig", secret=POLICY_SECRET),
        task("cert", "b2c_keyset_certificate", keyset="Partner", certificate=make_certificate()[1]),
        task("info", "b2c_keyset_info"),
        {"name": "dot access", "ansible.builtin.assert": {"that": [
            "key.keyset_keys | length == 1", "key.keyset_keys[0].kid == key.key.kid",
            "batch.results[0].keyset_keys | length == 1",
            "info.keysets | map(attribute='keyset_keys') | map('length') | sum == 4"]}},
    ]
    run = ansible.playbook(tasks, diff=True)
    assert run.task("dot access")["status"] == "ok", run.output[-3000:]
    for name in ("keyset", "key", "batch", "secret", "cert", "info"):
        entry = run.task(name)
        assert entry["status"] in ("ok", "changed"), (name, entry["result"].get("msg"))
        result = entry["result"]
        assert not [found for found in dicts_in(result) if "keys" in found], name
        listed = [found for found in dicts_in(result) if "keyset_keys" in found]
        assert listed, name
    diffs = [run.task(name)["result"]["diff"] for name in ("keyset", "key", "secret", "cert")]
    assert all("keyset_keys" in diff["before"] and "keyset_keys" in diff["after"] for diff in diffs)


def test_secret_is_not_an_alias_of_client_secret(ansible, control):
    emu = ansible.emulator
    # As an argument of a module that has no option `secret`: refused like any unknown option, before any request.
    run = ansible.playbook([task("key", "b2c_keyset_key", keyset="Signing", use="sig", secret=emu.client_secret)])
    refused = run.task("key")
    assert refused["status"] == "failed"
    assert "Unsupported parameters for (entra.b2c.b2c_keyset_key) module: secret" in refused["result"]["msg"]

    # The app's secret under `secret` in the group's defaults: every module but b2c_keyset_secret refuses the option,
    # and b2c_keyset_secret never authenticates with it.
    defaults = ansible.connection(client_secret=None, secret=emu.client_secret)
    tasks = [task("info", "b2c_keyset_info"), task("secret", "b2c_keyset_secret", keyset="Api", use="sig")]
    run = ansible.playbook(tasks, defaults=defaults)
    assert "Unsupported parameters for (entra.b2c.b2c_keyset_info) module: secret" in run.task("info")["result"]["msg"]
    assert run.task("secret")["status"] == "failed" and "no credentials" in run.task("secret")["result"]["msg"]
    assert control.requests() == []


def test_the_old_batch_module_name_does_not_resolve(ansible, control):
    run = ansible.playbook([{"name": "batch", OLD_BATCH: {"use": "sig", "keysets": [{"keyset": "A"}]}}])
    assert run.rc != 0 and UNRESOLVED.search(run.output), run.output[-2000:]
    adhoc = ansible.adhoc('{"use": "sig", "keysets": [{"keyset": "A"}]}', module=OLD_BATCH)
    assert adhoc.rc != 0 and UNRESOLVED.search(adhoc.output), adhoc.output[-2000:]
    assert control.requests() == []


def ansible_doc(ansible, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(ansible.bin_dir / "ansible-doc"), *args], cwd=ansible.workdir, env=ansible.env(),
                          capture_output=True, text=True, timeout=180, check=False)


def test_ansible_doc_shows_each_public_name_once(ansible):
    listed = json.loads(ansible_doc(ansible, "--list", "--json", "entra.b2c").stdout)
    assert sorted(name.rsplit(".", 1)[-1] for name in listed) == sorted(MODULES)

    docs = json.loads(ansible_doc(ansible, "--json", *(f"entra.b2c.{name}" for name in MODULES)).stdout)
    for name in MODULES:
        doc = docs[f"entra.b2c.{name}"]
        options, returns = doc["doc"]["options"], doc["return"] or {}
        assert not options["client_secret"].get("aliases"), name
        names = [alias for option in options.values() for alias in option.get("aliases") or []] + list(options)
        assert len(names) == len(set(names)) and ("secret" in names) == (name == "b2c_keyset_secret"), name
        assert "keys" not in returns and "keys" not in returns.get("keysets", {}).get("contains", {}), name
    assert "keyset_keys" in docs["entra.b2c.b2c_keyset_key_batch"]["return"]["results"]["contains"]

    old = ansible_doc(ansible, OLD_BATCH)
    assert "b2c_keyset_keys was not found" in old.stdout + old.stderr
