# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The documentation says what the collection does: its examples and commands, run or read as users meet them.

Text is read from the repository (README.md, docs/, roles/, playbooks/, the modules' EXAMPLES), so a test fails as soon
as the text changes away from the behaviour; commands and playbooks taken from the text run against the emulator.
"""

from __future__ import annotations

import ast
import io
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT, TENANT_APP, TESTS_DIR, keyset_keys, routes
from machine_paths import SHARED, describe, machine_paths_in, machine_prefixes
from policy_helpers import KEYSETS, tenant_connection

DAY = 86400
# The modules that add a key with a lifetime of its own (certificates carry theirs).
LIFETIME_MODULES = ("b2c_keyset_key", "b2c_keyset_key_batch", "b2c_keyset_secret")
LIFETIME_OPTIONS = ("exp", "expires", "valid_for")
# Markdown with examples a user copies; performance.md and reliability.md are generated reports.
MARKDOWN = [REPO_ROOT / "README.md", REPO_ROOT / "roles" / "policy_keys" / "README.md",
            *(path for path in sorted((REPO_ROOT / "docs").glob("*.md"))
              if path.name not in ("performance.md", "reliability.md"))]
FENCE = re.compile(r"^```(?P<lang>[a-z]*)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)


def text_of(path) -> str:
    return path.read_text(encoding="utf-8")


def code_blocks(path, *languages) -> list:
    return [match.group("body") for match in FENCE.finditer(text_of(path)) if match.group("lang") in languages]


def module_examples() -> dict:
    """EXAMPLES of every module, by file name."""
    examples = {}
    for path in sorted((REPO_ROOT / "plugins" / "modules").glob("*.py")):
        tree = ast.parse(text_of(path))
        for node in tree.body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "EXAMPLES":
                examples[path.name] = node.value.value
    return examples


def short_name(action: str) -> str | None:
    for prefix in ("entra.b2c.", ""):
        if action.startswith(prefix) and action[len(prefix):] in LIFETIME_MODULES:
            return action[len(prefix):]
    return None


def tasks_without_lifetime(data, where: str) -> list:
    """Every task of the three modules in a YAML document that could add a key without a lifetime."""
    found = []
    if isinstance(data, list):
        for item in data:
            found += tasks_without_lifetime(item, where)
    elif isinstance(data, dict):
        for action, args in data.items():
            module = short_name(str(action))
            if module is None or not isinstance(args, dict):
                continue
            has_lifetime = any(args.get(option) not in (None, "") for option in LIFETIME_OPTIONS)
            if module == "b2c_keyset_key_batch" and not has_lifetime:
                has_lifetime = all(isinstance(entry, dict) and any(entry.get(option) for option in LIFETIME_OPTIONS)
                                   for entry in args.get("keysets") or [{}])
            if not has_lifetime:
                found.append(f"{where}: {action} {args}")
        for value in data.values():
            found += tasks_without_lifetime(value, where)
    return found


def adhoc_commands(text: str) -> list:
    """The ad hoc commands of a text (backslash continuations joined, comment marks removed)."""
    lines = "\n".join(line.strip().lstrip("#").strip() for line in text.splitlines())
    joined = lines.replace("\\\n", " ").splitlines()
    return [" ".join(line.split()) for line in joined if re.match(r"(\$ )?ansible localhost ", line)]


def adhoc_without_lifetime(command: str) -> bool:
    module = re.search(r"-m (\S+)", command)
    if not module or short_name(module.group(1)) is None:
        return False
    return not re.search(r"\b(valid_for|exp|expires)[=\"': ]", command.split(" -m ", 1)[1])


def test_every_example_that_adds_a_key_gives_it_a_lifetime():
    """A generated key or secret without exp or valid_for never expires and can never be removed: no example, quick
    start or playbook of ours shows one (the modules warn when a task adds one)."""
    missing, seen = [], 0
    sources = [(f"{path.relative_to(REPO_ROOT)} block {index}", block)
               for path in MARKDOWN for index, block in enumerate(code_blocks(path, "yaml", "yml"))]
    sources += [(f"EXAMPLES of {name}", text) for name, text in module_examples().items()]
    sources += [(str(path.relative_to(REPO_ROOT)), text_of(path))
                for path in sorted((REPO_ROOT / "playbooks").glob("*.yml"))]
    for where, text in sources:
        if not any(module in text for module in LIFETIME_MODULES):
            continue
        seen += 1
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            missing.append(f"{where}: not YAML, so it cannot be checked ({exc.__class__.__name__})")
            continue
        missing += tasks_without_lifetime(data, where)
    commands = [(f"{path.relative_to(REPO_ROOT)}", command) for path in MARKDOWN
                for command in adhoc_commands("\n".join(code_blocks(path, "bash", "sh", "console", "text")))]
    commands += [(f"EXAMPLES of {name}", command) for name, text in module_examples().items()
                 for command in adhoc_commands(text)]
    missing += [f"{where}: {command}" for where, command in commands if adhoc_without_lifetime(command)]
    assert seen >= 8 and len(commands) >= 5, (seen, commands)  # the scan finds the examples it is meant to read
    assert missing == [], "\n".join(missing)


def test_the_lifetime_scan_finds_a_key_without_one():
    """The scan above can fail: a task and an ad hoc command without a lifetime are found, with one they are not."""
    bad = yaml.safe_load("- entra.b2c.b2c_keyset_key: {keyset: K, use: sig}\n"
                         "- entra.b2c.b2c_keyset_key_batch: {keysets: [{keyset: A, valid_for: 9d}, {keyset: B}]}\n")
    good = yaml.safe_load("- entra.b2c.b2c_keyset_key: {keyset: K, use: sig, exp: '2030-01-01'}\n"
                          "- entra.b2c.b2c_keyset_key_batch: {valid_for: 9d, keysets: [{keyset: A}]}\n")
    assert len(tasks_without_lifetime(bad, "bad")) == 2 and tasks_without_lifetime(good, "good") == []
    assert adhoc_without_lifetime('ansible localhost -m entra.b2c.b2c_keyset_key -a "keyset=K use=sig" --check')
    assert not adhoc_without_lifetime('ansible localhost -m entra.b2c.b2c_keyset_key -a "keyset=K valid_for=9d"')
    assert not adhoc_without_lifetime('ansible localhost -m entra.b2c.b2c_keyset_info -a "expiring_within=30d"')


def test_the_role_gives_every_key_a_lifetime_by_default():
    defaults = yaml.safe_load(text_of(REPO_ROOT / "roles" / "policy_keys" / "defaults" / "main.yml"))
    assert defaults["policy_keys_valid_for"] and defaults["policy_keys_renew_before"]


def readme_adhoc_command() -> str:
    """The README's ad hoc command, exactly as written under "Ad hoc"."""
    match = re.search(r"^Ad hoc, [^\n]*\n\n```bash\n(?P<command>ansible [^\n]+)\n```", text_of(REPO_ROOT / "README.md"),
                      re.MULTILINE)
    assert match, "README.md has no ad hoc command under 'Ad hoc, ...'"
    return match.group("command")


# The variables the README's emulator paragraph exports, and the emulator's value for each.
README_ENVIRONMENT = {"AZURE_TENANT_ID": "tenant_domain", "AZURE_CLIENT_ID": "client_id",
                      "AZURE_CLIENT_SECRET": "client_secret", "AZURE_GRAPH_ENDPOINT": "url",
                      "AZURE_AUTHORITY_HOST": "url", "REQUESTS_CA_BUNDLE": "ca_path"}


def emulator_environment(emulator) -> dict:
    """The environment the README asks for, with the emulator's values (the JSON line of make emulator)."""
    return {name: getattr(emulator, field) for name, field in README_ENVIRONMENT.items()}


def test_readme_exports_the_variables_the_test_sets():
    exported = re.findall(r"\b([A-Z_]+)=<([a-z_]+)>", text_of(REPO_ROOT / "README.md"))
    assert dict(exported) == README_ENVIRONMENT


@pytest.mark.compat
def test_readme_adhoc_command_works_as_written_against_the_emulator(ansible, control):
    command = readme_adhoc_command()
    run = ansible._execute(["bash", "-c", command], emulator_environment(ansible.emulator))  # pylint: disable=protected-access
    assert run.rc == 0, run.output[-3000:]
    assert "CHANGED" in run.stdout and '"reason": "keyset_missing"' in run.stdout, run.stdout[-3000:]
    assert "B2C_1A_TokenSigningKeyContainer" in run.stdout  # --diff shows the key set it would create
    assert "no expiry" not in run.output  # the README's key gets a lifetime
    assert "token" in routes(control) and "keysets.get" in routes(control)
    assert control.state()["keysets"] == []  # --check: nothing written

    # The same command without --check writes the key the README describes: a year, renewed 30 days ahead.
    applied = ansible._execute(["bash", "-c", command.replace(" --check", "")],  # pylint: disable=protected-access
                               emulator_environment(ansible.emulator))
    assert applied.rc == 0, applied.output[-3000:]
    [key] = keyset_keys(control, "B2C_1A_TokenSigningKeyContainer")
    assert key["exp"] - key["nbf"] == 365 * DAY


def test_readme_quick_start_runs_as_written_against_the_emulator(ansible, control):
    """The quick start pasted into b2c-keys.yml and run with the environment the README's emulator recipe sets: the
    two starter-pack key sets get a key of a year each, and a second run changes nothing."""
    text = text_of(REPO_ROOT / "README.md")
    quick_start = text[text.index("## Quick start"):]
    command = re.search(r"save this as `([^`]+)` and run `([^`]+)`", quick_start)
    assert command and command.group(2) == "ansible-playbook " + command.group(1), quick_start[:600]
    playbook = yaml_block_after(REPO_ROOT / "README.md", "## Quick start")
    (ansible.workdir / command.group(1)).write_text(playbook, encoding="utf-8")
    environment = emulator_environment(ansible.emulator)
    first = ansible._execute(["bash", "-c", command.group(2)], environment)  # pylint: disable=protected-access
    assert first.rc == 0, first.output[-3000:]
    assert re.search(r"changed=2\b.*failed=0", first.stdout), first.stdout[-2000:]
    for keyset in ("B2C_1A_TokenSigningKeyContainer", "B2C_1A_TokenEncryptionKeyContainer"):
        [key] = keyset_keys(control, keyset)
        assert key["exp"] - key["nbf"] == 365 * DAY
    again = ansible._execute(["bash", "-c", command.group(2)], environment)  # pylint: disable=protected-access
    assert again.rc == 0 and re.search(r"changed=0\b.*failed=0", again.stdout), again.output[-2000:]
    assert "no expiry" not in first.output + again.output


def yaml_block_after(path, marker: str) -> str:
    """The first YAML code block after a line of a document."""
    text = text_of(path)
    assert marker in text, f"{marker!r} is not in {path.name}"
    match = FENCE.search(text, text.index(marker))
    assert match and match.group("lang") in ("yaml", "yml"), f"no YAML block after {marker!r} in {path.name}"
    return match.group("body")


def seed_audit_tenant(control) -> dict:
    """Key sets of every kind an audit meets; returns the kid of each set's active key."""
    now = int(time.time())
    seeded = control.seed([
        {"id": "B2C_1A_Healthy", "keys": [{"use": "sig", "kty": "RSA", "nbf": now - 100 * DAY, "exp": now + 200 * DAY}]},
        {"id": "B2C_1A_Soon", "keys": [{"use": "enc", "kty": "RSA", "nbf": now - 300 * DAY, "exp": now + 12 * DAY}]},
        {"id": "B2C_1A_Dead", "keys": [{"use": "sig", "kty": "oct", "nbf": now - 90 * DAY, "exp": now - DAY}]},
        {"id": "B2C_1A_Empty", "keys": []},
        {"id": "B2C_1A_Forever", "keys": [{"use": "sig", "kty": "RSA", "nbf": now - DAY}]},
        {"id": "B2C_1A_Healthy.bak", "keys": [{"use": "sig", "kty": "RSA", "nbf": now - DAY, "exp": now + DAY}]},
    ])
    return {keyset["id"]: keyset["keys"][0]["kid"] if keyset["keys"] else None for keyset in seeded}


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.compat
def test_awx_audit_playbook_prints_what_goes_into_a_ticket(ansible, control):
    kids = seed_audit_tenant(control)
    playbook = ansible.workdir / "b2c_keys_audit.yml"
    playbook.write_text(yaml_block_after(REPO_ROOT / "docs" / "awx.md", "`b2c_keys_audit.yml`:"), encoding="utf-8")
    environment = emulator_environment(ansible.emulator)
    run = ansible._execute([str(ansible.bin_dir / "ansible-playbook"), str(playbook)],  # pylint: disable=protected-access
                           environment)
    assert run.rc == 2, run.output[-3000:]  # the job fails, so AWX notifies

    report = run.result("Show the key sets")["msg"]
    assert [re.sub(r"\(in [0-9.]+ days\)", "(in N days)", re.sub(r"expires \S+Z", "expires T", line))
            for line in report] == [
        f"B2C_1A_Healthy: key {kids['B2C_1A_Healthy']}, expires T (in N days)",
        f"B2C_1A_Soon: key {kids['B2C_1A_Soon']}, expires T (in N days)",
        "B2C_1A_Dead: no valid key (sign-ins through policies that use it fail)",
        "B2C_1A_Empty: no valid key (sign-ins through policies that use it fail)",
        f"B2C_1A_Forever: key {kids['B2C_1A_Forever']}, never expires",
    ]
    assert re.search(r"\(in (199|200)\.\d days\)$", report[0]) and re.search(r"\(in 1[12]\.\d days\)$", report[1])

    failure = one_line(run.result("Fail, and so notify, when a key set needs attention")["msg"])
    assert re.fullmatch(
        rf"B2C tenant {ansible.emulator.tenant_domain}: 3 of 5 key sets need attention \(within 30d\): "
        r"B2C_1A_Soon: expires \S+Z \(in 1[12]\.\d days\); B2C_1A_Dead: no valid key; B2C_1A_Empty: no valid key",
        failure), failure

    stats = [entry for entry in run.results if entry["task"] == "Keep the report with the job"][0]["result"]
    assert stats["ansible_stats"]["data"] == {"b2c_key_sets": report,
                                              "b2c_need_attention": failure.split("(within 30d): ")[1].split("; ")}
    # Nothing an admin would have to cut out: no Python/JSON dump of a key or loop item, no None.
    for key in control.state()["keysets"][0]["keys"]:
        assert key.get("n", "n/a")[:40] not in run.output
    assert "None" not in run.stdout and "{'" not in run.stdout and "active_key" not in run.stdout
    assert routes(control) .count("keysets.list") == 1


def test_user_guide_audit_example_prints_one_line_per_key_set(ansible, control):
    seed_audit_tenant(control)
    block = yaml_block_after(REPO_ROOT / "docs" / "user-guide.md", "**b2c_keyset_info**: what is there")
    run = ansible.playbook(yaml.safe_load(block))
    assert run.rc == 0, run.output[-3000:]
    lines = [item["msg"] for item in run.result("Report them, one line per key set")["results"]]
    assert [re.sub(r"expires \S+Z, in 1[12]\.\d days", "expires T, in N days", line) for line in lines] == [
        "B2C_1A_Soon: expires T, in N days", "B2C_1A_Dead: no valid key", "B2C_1A_Empty: no valid key"]
    # What the admin sees of that task: no "None", no loop item dumped as a dict (at -vvv Ansible's own header
    # lines say "config file = None", so only the task's lines count).
    shown = [line for line in run.stdout.splitlines() if "(item=" in line]
    assert shown and not any("None" in line or "{'" in line for line in shown), shown


def test_user_guide_role_table_names_the_modules_the_role_runs():
    """Each entry type's row names the module the role's task for that type runs."""
    tasks = yaml.safe_load(text_of(REPO_ROOT / "roles" / "policy_keys" / "tasks" / "main.yml"))
    block = next(task for task in tasks if "block" in task)["block"]
    modules = {}
    for task in block:
        module = next(key for key in task if key.startswith("entra.b2c."))
        kind = re.search(r"the (generated keys|uploaded secrets|uploaded certificates)", task["name"]).group(1)
        modules[{"generated keys": "generated", "uploaded secrets": "secret",
                 "uploaded certificates": "certificate"}[kind]] = module.split(".")[-1]
    assert modules == {"generated": "b2c_keyset_key_batch", "secret": "b2c_keyset_secret",
                       "certificate": "b2c_keyset_certificate"}
    for path in (REPO_ROOT / "docs" / "user-guide.md", REPO_ROOT / "roles" / "policy_keys" / "README.md"):
        rows = {match.group(1): match.group(2) for match in
                re.finditer(r"^\| `(generated|secret|certificate)`[^|]*\| `(?:entra\.b2c\.)?(b2c_\w+)`", text_of(path),
                            re.MULTILINE)}
        assert rows == modules, path.name


def test_collection_playbook_names_the_variables_awx_injects():
    """AWX's built-in Azure credential injects AZURE_CLIENT_ID, AZURE_TENANT and AZURE_SECRET: the playbook's comments
    name those, and every variable they name is one the modules read."""
    comments = " ".join(line.lstrip("# ") for line in text_of(REPO_ROOT / "playbooks" / "policy_keys.yml").splitlines()
                        if line.startswith("#"))
    named = set(re.findall(r"\b(AZURE_[A-Z_]+)\b", comments))
    assert {"AZURE_CLIENT_ID", "AZURE_TENANT", "AZURE_SECRET"} <= named
    assert "AZURE_CLIENT_ID, AZURE_TENANT and AZURE_SECRET" in comments  # said of AWX's credential
    module_source = "".join(text_of(REPO_ROOT / "plugins" / "module_utils" / name) for name in ("_core/auth.py", "_core/options.py", "_core/context.py"))
    read = set(re.findall(r'"(AZURE_[A-Z_]+)"', module_source))
    assert named <= read, named - read


def test_future_nbf_behaves_as_the_user_guide_says(ansible, control):
    """The guide's example, shifted to today: the current key expires 121 days after the requested nbf (2027-03-01 to
    2027-06-30). Asking for the nbf answers valid and adds nothing; with the guide's renew_before the successor is
    generated with that nbf, and the next run answers valid."""
    guide = REPO_ROOT / "docs" / "user-guide.md"
    [task] = yaml.safe_load(yaml_block_after(guide, "### A future `nbf`"))
    args = dict(task["entra.b2c.b2c_keyset_key"])
    assert args["nbf"] == "2027-03-01"
    section = text_of(guide).split("### A future `nbf`")[1].split("\n## ")[0]
    assert "answers `reason: valid` and generates nothing" in section
    margin = re.search(r"`renew_before: (\d+d)`", section).group(1)

    now = int(time.time())
    nbf = (now // DAY + 30) * DAY  # a date, midnight UTC, 30 days ahead
    current_exp = nbf + 121 * DAY
    control.seed([{"id": "B2C_1A_TokenSigningKeyContainer",
                   "keys": [{"use": "sig", "kty": "RSA", "nbf": now - 200 * DAY, "exp": current_exp}]}])
    args["nbf"] = time.strftime("%Y-%m-%d", time.gmtime(nbf))
    task = {"name": "key", "entra.b2c.b2c_keyset_key": args}

    first = ansible.playbook([task]).result()
    assert (first["changed"], first["reason"]) == (False, "valid")
    assert len(keyset_keys(control, "B2C_1A_TokenSigningKeyContainer")) == 1

    args["renew_before"] = margin
    second = ansible.playbook([task]).result()
    assert (second["changed"], second["reason"]) == (True, "expiring")
    assert second["key"]["nbf"] == nbf and second["key"]["exp"] == nbf + 365 * DAY
    assert len(keyset_keys(control, "B2C_1A_TokenSigningKeyContainer")) == 2

    third = ansible.playbook([task]).result()
    assert (third["changed"], third["reason"], third["key"]["kid"]) == (False, "valid", second["key"]["kid"])


def test_make_lint_lints_the_paths_the_readme_names():
    """A bare ansible-lint in a clone cannot resolve the collection's own modules; the README sends users to make lint,
    whose lint session runs ansible-lint from a collection tree, on the paths given."""
    readme = text_of(REPO_ROOT / "README.md")
    command = re.search(r'`(make lint LINT_PATHS="([^"]+)")`', readme)
    assert command and "Could not resolve action" in readme
    dry_run = subprocess.run(["make", "-n", "-C", str(REPO_ROOT), "lint", f"LINT_PATHS={command.group(2)}"],
                             capture_output=True, text=True, check=True).stdout
    assert f"-s lint -- {command.group(2)}" in dry_run, dry_run
    noxfile = text_of(REPO_ROOT / "noxfile.py")
    lint_session = noxfile[noxfile.index("def lint("):noxfile.index("matrix_session(\"lint\"")]
    assert '"ansible-lint", "--nocolor", *session.posargs' in lint_session
    assert "collection_copy(session, core)" in lint_session and "ANSIBLE_COLLECTIONS_PATH" in lint_session


# Markup whose argument ends at the first ")" (ansible-doc and antsibull-docs): a "(" inside means it renders cut off.
UNESCAPED_MARKUP = re.compile(r"\b([CIBMU])\(([^)]*)\)")


def plugin_doc_texts() -> dict:
    """DOCUMENTATION and RETURN of every plugin, the doc fragments' strings and the roles' argument specs."""
    texts = {}
    for path in sorted((REPO_ROOT / "plugins").rglob("*.py")):
        tree = ast.parse(text_of(path))
        where = str(path.relative_to(REPO_ROOT))
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and \
                    isinstance(node.value.value, str) and len(node.targets) == 1 and \
                    getattr(node.targets[0], "id", "") in ("DOCUMENTATION", "RETURN", "PERMISSION", "CREATE", "WINDOW"):
                texts[f"{where} {node.targets[0].id}"] = node.value.value
            elif "doc_fragments" in where and isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                    and isinstance(node.value.value, str):
                texts[f"{where} {getattr(node.targets[0], 'id', '?')}"] = node.value.value
    for path in sorted((REPO_ROOT / "roles").glob("*/meta/argument_specs.yml")):
        texts[str(path.relative_to(REPO_ROOT))] = text_of(path)
    return texts


def cut_markup(text: str) -> list:
    return [match.group(0) for match in UNESCAPED_MARKUP.finditer(text) if "(" in match.group(2)]


def test_no_markup_is_cut_off_at_an_inner_parenthesis():
    """C(), I(), B(), M() and U() end at their first ")": C(lookup('x')) renders as `lookup('x'` and a stray ")".
    Code with parentheses goes in V() (which takes \\) escapes) or outside the markup."""
    texts = plugin_doc_texts()
    assert len([where for where in texts if where.startswith("plugins/modules/")]) >= 18 and any(
        "doc_fragments" in where for where in texts) and any("filter" in where for where in texts)
    broken = {where: cut_markup(text) for where, text in texts.items() if cut_markup(text)}
    assert broken == {}
    assert cut_markup("""C("{{ lookup('ansible.builtin.template', 'x.xml') }}")""")  # the scan sees the old form


def test_each_module_names_the_permission_it_needs_and_no_other(ansible):
    """ansible-doc as users read it: the policy modules ask for Policy.* only, the IEF apps module for the
    Application.* and grant permissions only, the key set modules for TrustFrameworkKeySet.* only."""
    names = sorted(path.stem for path in (REPO_ROOT / "plugins" / "modules").glob("b2c_*.py"))
    run = ansible._execute([str(ansible.bin_dir / "ansible-doc"), "--json",  # pylint: disable=protected-access
                            *("entra.b2c." + name for name in names)])
    assert run.rc == 0, run.output[-3000:]
    import json  # pylint: disable=import-outside-toplevel
    docs = json.loads(run.stdout)
    assert len(docs) == len(names) == 12
    for fqcn, doc in docs.items():
        notes = " ".join(doc["doc"].get("notes") or [])
        if fqcn == "entra.b2c.b2c_tenant_export":  # reads only, every family
            for permission in ("Policy.Read.All", "TrustFrameworkKeySet.Read.All", "Application.Read.All"):
                assert permission in notes, (fqcn, permission, notes)
        elif fqcn == "entra.b2c.b2c_ief_tenant":  # the whole tenant: each family's write permission
            for permission in ("TrustFrameworkKeySet.ReadWrite.All", "Application.ReadWrite.All",
                               "DelegatedPermissionGrant.ReadWrite.All", "Policy.ReadWrite.TrustFramework"):
                assert permission in notes, (fqcn, permission, notes)
        elif fqcn == "entra.b2c.b2c_ief_apps":
            assert "Application.ReadWrite.All" in notes and "DelegatedPermissionGrant.ReadWrite.All" in notes, notes
            assert "TrustFrameworkKeySet" not in notes and "Policy.ReadWrite" not in notes, notes
        elif fqcn.startswith("entra.b2c.b2c_polic"):
            assert "Policy.ReadWrite.TrustFramework" in notes and "TrustFrameworkKeySet" not in notes, (fqcn, notes)
        else:
            assert "TrustFrameworkKeySet.ReadWrite.All" in notes and "Policy.ReadWrite" not in notes, (fqcn, notes)


def permission_paragraphs(text: str) -> list:
    """The paragraphs (blank-line separated; comment blocks of YAML count as one) that ask for Application.*."""
    return [paragraph for paragraph in re.split(r"\n\s*\n|\n#\s*\n", text)
            if re.search(r"Application\.ReadWrite\.(All|OwnedBy)", paragraph)]


def test_every_place_that_asks_for_the_apps_permission_asks_for_the_grant_permission_too():
    """The IEF apps' admin consent is three grants, refused without DelegatedPermissionGrant.ReadWrite.All: a guide,
    README or playbook that lists Application.ReadWrite.All alone sets up an app that fails half-way."""
    places = [REPO_ROOT / "README.md", REPO_ROOT / "playbooks" / "ief_tenant.yml",
              *sorted((REPO_ROOT / "docs").glob("*.md")), *sorted((REPO_ROOT / "roles").glob("*/README.md"))]
    asking = {str(path.relative_to(REPO_ROOT)): permission_paragraphs(path.read_text(encoding="utf-8"))
              for path in places}
    assert sum(len(found) for found in asking.values()) >= 6, asking
    alone = {where: [paragraph for paragraph in found if "DelegatedPermissionGrant.ReadWrite.All" not in paragraph]
             for where, found in asking.items()}
    assert {where: found for where, found in alone.items() if found} == {}
    assert permission_paragraphs("x\n\nneeds Application.ReadWrite.All.\n\ny") == ["needs Application.ReadWrite.All."]


def test_the_tarball_names_no_directory_of_the_build_machine(ansible, tmp_path):
    """What users install names no directory of the machine it was built on (the build session refuses it too): not
    the repository, the directory holding it, $HOME, nor a Python prefix or virtual environment of the build."""
    done = subprocess.run([str(ansible.bin_dir / "ansible-galaxy"), "collection", "build", "--output-path",
                           str(tmp_path), str(REPO_ROOT)], capture_output=True, text=True, check=False,
                          env=ansible.env())
    assert done.returncode == 0, done.stdout + done.stderr
    [tarball] = tmp_path.glob("entra-b2c-*.tar.gz")
    with tarfile.open(tarball) as archive:
        # the files that could name one are there, and scanned
        assert len(archive.getmembers()) > 100 and "tests/emulator/README.md" in archive.getnames()
    prefixes = machine_prefixes(REPO_ROOT, ansible.bin_dir.parent, tmp_path)
    assert str(REPO_ROOT) in prefixes
    assert machine_paths_in(tarball, prefixes) == {}
    noxfile = text_of(REPO_ROOT / "noxfile.py")
    build_session = noxfile[noxfile.index("def build("):noxfile.index('matrix_session("build"')]
    assert "machine_paths_in(tarball, prefixes)" in build_session and "session.error(" in build_session


def test_the_tarball_scan_finds_a_planted_machine_path(tmp_path):
    """The scan fires: a tarball naming the repository, its parent directory, $HOME or this Python's prefix is
    caught; a path every machine has (an interpreter under /usr/bin) or a longer name sharing a prefix is not."""
    prefixes = machine_prefixes(REPO_ROOT)
    planted = {"docs/a.md": (REPO_ROOT.parent, "see {}/notes.txt\n"), "docs/b.md": (Path.home(), "cache: '{}/.cache'\n"),
               "plugins/c.py": (Path(sys.prefix), "#!{}/bin/python\n"), "docs/d.md": (REPO_ROOT, "url: file://{}\n"),
               "docs/fine.md": (Path.home(), "#!/usr/bin/python\n{}x/y main/z\n")}
    tarball = tmp_path / "planted.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        for name, (directory, text) in planted.items():
            data = text.format(directory).encode("utf-8")
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    found = machine_paths_in(tarball, prefixes)
    # a directory every machine has is never a prefix itself (the repository's parent could be /srv somewhere)
    expected = sorted(name for name, (directory, _text) in planted.items()
                      if name != "docs/fine.md" and str(directory) not in SHARED)
    assert "docs/d.md" in expected and sorted(found) == expected, found
    assert found["docs/d.md"] == [str(REPO_ROOT)]
    assert "/usr/bin/python" not in describe(found)


def tenant_writes(control) -> list:
    """The requests that changed the tenant (the token endpoint does not count)."""
    return [entry["route"] for entry in control.requests() if entry["method"] not in ("GET", "HEAD")
            and entry["route"] not in ("token", "discovery", "jwks")]


def bash_block_with(path, command: str) -> str:
    """The first bash block of a document that holds a command."""
    for block in code_blocks(path, "bash"):
        if command in block:
            return block
    raise AssertionError(f"no bash block of {path.name} holds {command!r}")


def test_the_live_tenant_chapter_runs_as_written_against_the_emulator(ansible, control):
    """docs/live-tenant.md: a live tenant (our SocialAndLocalAccounts set with its Facebook app id and secret) exported
    with the chapter's playbook and commands; from the repository, the chapter's check reports changed=0 and the run
    writes nothing; the secret key set is kept, never written."""
    chapter = REPO_ROOT / "docs" / "live-tenant.md"
    facebook_app_id, secret = "1234567890123456", "facebook-Secret-5e1d7a"
    ansible.secrets.add(secret)
    pack = ansible.workdir / "pack"
    shutil.copytree(TESTS_DIR / "policies" / "SocialAndLocalAccounts", pack, ignore=shutil.ignore_patterns("*.license"))
    keysets = KEYSETS + [{"keyset": "FacebookSecret", "type": "secret", "use": "sig", "secret": secret}]
    live = ansible.playbook([{"name": "live", "ansible.builtin.include_role": {"name": "entra.b2c.ief_tenant"},
                              "vars": {"ief_tenant_policies_dir": str(pack), "policy_keys_keysets": keysets,
                                       "ief_tenant_settings": {"FacebookAppId": facebook_app_id}}}],
                            defaults=tenant_connection(ansible, tenant_id=ansible.emulator.tenant_domain))
    assert live.rc == 0, live.output[-3000:]
    # the credential of the chapter: the tenant's domain name, an app registration that may deploy
    environment = dict(emulator_environment(ansible.emulator), AZURE_CLIENT_ID=TENANT_APP["client_id"],
                       AZURE_CLIENT_SECRET=TENANT_APP["client_secret"])

    playbook = yaml_block_after(chapter, "`export.yml`:")
    assert f'FacebookAppId: "{facebook_app_id}"' in playbook
    (ansible.workdir / "export.yml").write_text(playbook, encoding="utf-8")
    control.clear_requests()
    export = bash_block_with(chapter, "ansible-playbook export.yml")
    exported = ansible._execute(["bash", "-c", export], environment)  # pylint: disable=protected-access
    assert exported.rc == 0 and "changed=1" in exported.stdout, exported.output[-3000:]
    assert tenant_writes(control) == []
    repository = ansible.workdir / "contoso-b2c"
    written = sorted(path.name for path in repository.iterdir())
    assert written == ["README.md", "appsettings.json", "ief_tenant.yml", "policies"]
    extensions = (repository / "policies" / "TrustFrameworkExtensions.xml").read_text(encoding="utf-8")
    assert "<Item Key=\"client_id\">{Settings:FacebookAppId}</Item>" in extensions and facebook_app_id not in extensions
    assert (repository / "policies" / "signup_signin.xml").exists()  # named as the chapter's tree shows
    variables = yaml.safe_load((repository / "ief_tenant.yml").read_text(encoding="utf-8"))
    shown = yaml.safe_load(yaml_block_after(chapter, "**`ief_tenant.yml`**"))
    assert {key: value for key, value in variables.items() if key != "policy_keys_keysets"} == {
        key: value for key, value in shown.items() if key != "policy_keys_keysets"}
    assert {"keyset": "FacebookSecret", "type": "secret", "use": "sig"} in variables["policy_keys_keysets"]
    assert sorted(variables["policy_keys_keysets"], key=str) == sorted(shown["policy_keys_keysets"], key=str)
    settings = yaml.safe_load((repository / "appsettings.json").read_text(encoding="utf-8"))["Environments"][0]
    assert settings["Name"] == "Production" and settings["Tenant"] == ansible.emulator.tenant_domain
    assert set(settings["PolicySettings"]) == {"TenantName", "IdentityExperienceFrameworkAppId", "FacebookAppId",
                                               "ProxyIdentityExperienceFrameworkAppId", "RewardsApiHost"}

    # step 3: the round trip, as the chapter runs it from the directory holding the repository
    check = bash_block_with(chapter, "-e @ief_tenant.yml --check --diff")
    assert check.startswith("cd contoso-b2c\n"), check
    control.clear_requests()
    checked = ansible._execute(["bash", "-c", check], environment)  # pylint: disable=protected-access
    assert checked.rc == 0, checked.output[-4000:]
    assert "changed=0" in checked.stdout and "would" not in checked.stdout, checked.stdout[-4000:]
    for line in ("B2C_1A_FacebookSecret: unchanged (kept)", "B2C_1A_TokenSigningKeyContainer: unchanged (valid)",
                 "B2C_1A_signup_signin (level 3): unchanged"):
        assert line in checked.stdout and line in text_of(chapter), line
    run = check.replace(" --check --diff", "")
    deployed = ansible._execute(["bash", "-c", run], environment)  # pylint: disable=protected-access
    assert deployed.rc == 0 and "changed=0" in deployed.stdout, deployed.output[-4000:]
    assert tenant_writes(control) == []

    # the refusals the chapter quotes are the export's own words (its string literals joined as Python joins them)
    source = re.sub(r'"\s*f?"', "", "".join(text_of(REPO_ROOT / "plugins" / "module_utils" / "_tenant" / name)
                                            for name in ("export.py", "repository.py")))
    text = one_line(text_of(chapter))
    for words in ("the export wrote nothing: these values of the tenant cannot be put back as placeholders exactly",
                  "one value under two names cannot be put back as one placeholder",
                  "is too short to stand for one value only", "deploying the exported file would change this line",
                  "tenant_id: give the tenant's domain name (contoso.onmicrosoft.com)"):
        assert words in text and words in one_line(source), words
