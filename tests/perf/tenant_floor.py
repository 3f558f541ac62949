# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Workload 9 of the benchmark (tests/perf/bench.py): the whole tenant with nothing to change, against the floor.

Per ansible-core environment (this interpreter's, and each --core-env): `ansible-playbook entra.b2c.ief_tenant`, the
collection's playbook by its name, on a tenant where the role has deployed workload 7's set already (the
LocalAccounts-shaped policies, the role's two key sets, the two IEF apps), against tests/perf/playbooks/tenant_floor.yml,
a play of the same host with one `debug` task. Both get the same file of extra variables: the role's
ief_tenant_connection (the emulator and the whole-tenant app) and ief_tenant_policies_dir. Wall times as every
workload's (alternating rounds, medians); tokens and Graph requests by method from the emulator's request log; the tasks
from ansible-playbook's own output (the default callback's task banners and its recap). Nothing about the role's
internals is assumed: a run must exit 0, and write nothing.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from pathlib import Path

WORKLOAD = 9
STATE = "tenant-floor"  # Workload.state
TARGET_RATIO = 1.5  # the target: a no-change ief_tenant run at most 1.5x the floor, with one token
PLAYBOOK = "entra.b2c.ief_tenant"  # a name, not a path: ansible-playbook finds it in the collection
FLOOR_PLAYBOOK = "tenant_floor.yml"  # in tests/perf/playbooks
VARS_FILE = "tenant-floor-vars.json"  # in the scratch directory: it holds the app's secret
METHODS = ("GET", "PUT", "POST", "PATCH", "DELETE")
# The default callback's banner of a task of a role ("TASK [entra.b2c.ief_tenant : Check ...]"); the playbook's own
# tasks (post_tasks) have no role prefix. Printed for skipped tasks too (display_skipped_hosts is on by default).
ROLE_TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[([\w.]+) : ", re.MULTILINE)
RECAP = re.compile(r"^\S+\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", re.MULTILINE)


def variants(core: str) -> list:
    """(key, label, playbook) of one core's variants; keys carry the core."""
    return [("floor-%s" % core, "floor: one debug task (ansible-core %s)" % core, FLOOR_PLAYBOOK),
            ("role-%s" % core, "%s, nothing to change (ansible-core %s)" % (PLAYBOOK, core), PLAYBOOK)]


def is_floor(key: str) -> bool:
    return key.startswith("floor-")


def write_vars(workdir: Path, emulator, app: dict, policy_dir: Path) -> None:
    """The extra variables of both plays (-e @file), as a user of the collection playbook gives them: the connection
    (the tenant by its domain name, as workload 7's play gives it) and the policy directory."""
    path = workdir / VARS_FILE
    path.write_text(json.dumps({
        "ief_tenant_policies_dir": str(policy_dir),
        "ief_tenant_connection": {"tenant_id": emulator.tenant_domain, "client_id": app["client_id"],
                                  "client_secret": app["client_secret"], "graph_endpoint": emulator.url,
                                  "authority_host": emulator.url, "ca_path": emulator.ca_path},
    }, indent=1), encoding="utf-8")
    path.chmod(0o600)


def problems(key: str, routes: Counter, written: dict) -> list:
    """What a run did wrong: the floor makes no request at all; the role, on a tenant that holds everything, no write."""
    if is_floor(key):
        return ["the floor made requests: %s" % dict(routes)] if routes else []
    return ["a no-change run wrote: %s" % written] if written else []


# -- figures ----------------------------------------------------------------------------------------------------------

def tasks_of(output: str) -> dict:
    """The tasks of one run from ansible-playbook's output: those of roles by role (banners), and the recap's counts
    (every task of the play, the playbook's own included; a loop counts once)."""
    recap = Counter()
    for match in RECAP.finditer(output):
        for name, value in zip(("ok", "changed", "unreachable", "failed", "skipped"), match.groups()):
            recap[name] += int(value)
    return {"roles": dict(Counter(ROLE_TASK.findall(output))), "recap": dict(recap)}


def figures(measured) -> dict:
    """Per core, per variant (floor, role): the Graph requests by method, the tasks, and whether every round agreed."""
    found: dict = {}
    for key, runs in measured.runs.items():
        kind, core = key.split("-", 1)
        per_run = [(dict(run.methods), tasks_of(run.output)) for run in runs]
        found.setdefault(core, {})[kind] = {"methods": per_run[0][0], "tasks": per_run[0][1],
                                            "stable": all(item == per_run[0] for item in per_run)}
    return found


# -- the report -------------------------------------------------------------------------------------------------------

def _version_key(core: str) -> tuple:
    return tuple(int(part) for part in core.split(".") if part.isdigit())


def _median(runs: list) -> float:
    return statistics.median(run.wall_s for run in runs)


def _spread(runs: list) -> str:
    walls = sorted(run.wall_s for run in runs)
    return "%.2f" % walls[0] if len(walls) == 1 else "%.2f (%.2f–%.2f)" % (statistics.median(walls), walls[0], walls[-1])


def per_core(measured) -> list:
    """(core, floor runs, role runs) of every core measured, oldest first."""
    cores = sorted({key.split("-", 1)[1] for key in measured.runs}, key=_version_key)
    return [(core, measured.runs["floor-" + core], measured.runs["role-" + core]) for core in cores
            if "floor-" + core in measured.runs and "role-" + core in measured.runs]


def _role_tasks(found: dict) -> int:
    return sum(found["tasks"]["roles"].values())


def _graph(found: dict) -> int:
    return sum(found["methods"].values())


def summary(measured, extra: dict) -> list:
    """The "In short" line: per core, the no-change run against the floor, its tokens, requests and tasks."""
    rows = per_core(measured) if measured else []
    if not rows:
        return []
    figures_of = extra.get("tenant_floor") or {}
    parts = []
    for core, floor, role in rows:
        text = "%.2f× the floor on ansible-core %s (%.2f s against %.2f s)" % (
            _median(role) / _median(floor), core, _median(role), _median(floor))
        found = (figures_of.get(core) or {}).get("role")
        if found:
            text += " with %d token request(s), %d Graph request(s) and %d task(s) of the role" % (
                role[0].routes.get("token", 0), _graph(found), _role_tasks(found))
        parts.append(text)
    met = all(_median(role) / _median(floor) <= TARGET_RATIO for _core, floor, role in rows)
    return ["- Workload %d (%s): `ansible-playbook %s` takes %s; the target, %.1f× the floor, is %s." % (
        WORKLOAD, measured.workload.title.split(":", 1)[0], PLAYBOOK, "; ".join(parts), TARGET_RATIO,
        "met" if met else "**not met**")]


def target_rows(measured, extra: dict, met) -> list:
    """The Targets rows: per core, the no-change run against the floor, and its token requests."""
    rows = []
    figures_of = extra.get("tenant_floor") or {}
    for core, floor, role in per_core(measured):
        ratio = _median(role) / _median(floor)
        rows.append(("no-change `%s` run ≤ %.1f× floor (workload %d, ansible-core %s)" % (
            PLAYBOOK, TARGET_RATIO, WORKLOAD, core), "%.2f s vs %.2f s: %.2f× (%+.2f s)" % (
                _median(role), _median(floor), ratio, _median(role) - _median(floor)), met(ratio <= TARGET_RATIO)))
        found = (figures_of.get(core) or {}).get("role")
        tokens = role[0].routes.get("token", 0)
        rows.append(("no-change `%s` run: one token request (workload %d, ansible-core %s)" % (PLAYBOOK, WORKLOAD, core),
                     "token %d; Graph %s" % (tokens, _method_text(found["methods"]) if found else "?"),
                     met(tokens == 1)))
    return rows


def _method_text(methods: dict) -> str:
    return ", ".join("%s %d" % (method, methods[method]) for method in sorted(methods, key=_method_order)) or "none"


def _method_order(method: str) -> tuple:
    return (METHODS.index(method) if method in METHODS else len(METHODS), method)


def section(measured, extra: dict) -> list:
    workload = measured.workload
    figures_of = extra.get("tenant_floor") or {}
    lines = ["## Workload %d: %s" % (workload.number, workload.title), ""]
    lines.append("`ansible-playbook %s` (the collection's playbook, by its name, as a user runs it: the role and "
                 "the playbook's own tasks) on a tenant where the role has deployed workload 7's set already (%d policies, the role's two "
                 "key sets, the two IEF apps), against the floor, `tests/perf/playbooks/%s`: a play of the same host "
                 "(the implicit localhost) with one `debug` task. Both get the same extra variables file: the role's "
                 "`ief_tenant_connection` (the tenant by its domain name, no token cache) and `ief_tenant_policies_dir`. "
                 "Each ansible-core runs in its own environment, its ratio against the floor measured in that "
                 "environment in the same rounds; wall s is the median (min–max) of the rounds. Tokens and Graph "
                 "requests (by method; token and discovery requests apart) are counted from the emulator's request "
                 "log of one run; *role tasks* counts the task banners of the role and the roles it includes "
                 "(skipped tasks too); *recap* is `ansible-playbook`'s play recap of the whole run (ok, of which "
                 "changed, / skipped; a loop counts once)." % (PLAYBOOK, workload.policies, FLOOR_PLAYBOOK))
    lines.append("")
    lines.append("| ansible-core | floor s | role s | role / floor | target | met | token requests | %s | role tasks | "
                 "recap: ok (changed) / skipped |" % " | ".join("Graph %s" % method for method in METHODS))
    lines.append("|---|---|---|---|---|---|---|%s---|---|" % ("---|" * len(METHODS)))
    notes = []
    for core, floor, role in per_core(measured):
        ratio = _median(role) / _median(floor)
        found = (figures_of.get(core) or {}).get("role")
        if found:
            methods = found["methods"]
            counts = " | ".join(str(methods.get(method, 0)) for method in METHODS)
            others = {method: count for method, count in methods.items() if method not in METHODS}
            recap = found["tasks"]["recap"]
            tasks = "%d%s" % (_role_tasks(found), "" if found["stable"] else " (varies)")
            recap_text = "%d (%d) / %d" % (recap.get("ok", 0), recap.get("changed", 0), recap.get("skipped", 0))
            if others:
                notes.append("ansible-core %s also made Graph requests of other methods: %s." % (core, _method_text(others)))
            notes.append("ansible-core %s: role tasks by role: %s; requests by route: %s." % (
                core, ", ".join("`%s` %d" % item for item in sorted(found["tasks"]["roles"].items())) or "none",
                ", ".join("%s %d" % item for item in sorted(role[0].routes.items())) or "none"))
        else:
            counts, tasks, recap_text = " | ".join(["?"] * len(METHODS)), "?", "?"
        lines.append("| %s | %s | %s | %.2f× | %.1f× | %s | %d | %s | %s | %s |" % (
            core, _spread(floor), _spread(role), ratio, TARGET_RATIO, "yes" if ratio <= TARGET_RATIO else "**no**",
            role[0].routes.get("token", 0), counts, tasks, recap_text))
    lines.append("")
    for note in notes:
        lines.append(note)
        lines.append("")
    return lines
