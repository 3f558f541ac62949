# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Figures and the Markdown report of tests/perf/bench.py: request counts, medians, ratios, profiles, import times."""

from __future__ import annotations

import base64
import io
import pstats
import re
import statistics
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Optional

import overhead  # tests/perf/overhead.py: workload 8, the task overhead (report.py is imported from tests/perf)
import tenant_export  # tests/perf/tenant_export.py: workload 10, exporting the tenant, and the round trip
import tenant_floor  # tests/perf/tenant_floor.py: workload 9, the whole tenant with nothing to change against the floor

OUR_CODE = "ansible_collections/entra/b2c/"
TOKEN_ROUTES = ("token", "discovery", "jwks")
SHOWN_ROUTES = ("token", "discovery", "keysets.get", "keysets.list", "keysets.create", "keys.generate")
POLICY_ROUTES = ("token", "discovery", "policies.list", "policies.get", "policies.put")
POLICY_WORKLOAD = 6
POLICY_RECOMMENDED = "q"
TENANT_WORKLOAD = 7
# The writes of the whole-tenant workload's first run (t1) from an empty tenant, per route, as the code makes them:
TENANT_FIRST_WRITES = {
    "keysets.create": 2, "keys.generate": 2,  # the role's two default key sets, one generated key each
    "applications.upsert": 2, "servicePrincipals.upsert": 2,  # IdentityExperienceFramework and its Proxy
    "applications.patch": 1,  # the IdentityExperienceFramework app's ID URI, api://<the appId its create returned>
    "grants.create": 3,  # admin consent: both apps -> Microsoft Graph, the Proxy -> IdentityExperienceFramework
    "policies.put": 6,  # the LocalAccounts starter pack: Base, Localization, Extensions, 3 relying parties
}
TENANT_EDITED_UPLOADS = 4  # one edited Extensions file: it and the 3 relying parties above it (reupload_dependents)
# The columns of its table: a heading and, per cell, the routes each figure counts ("a / b" cells: reads / writes)
TENANT_KINDS = (
    ("token, discovery", (lambda route: route == "token", lambda route: route == "discovery")),
    ("key sets: reads / writes", (lambda route: _is_keyset(route) and not is_write(route),
                                  lambda route: _is_keyset(route) and is_write(route))),
    ("apps: reads / writes", (lambda route: route.startswith("applications.") and not is_write(route),
                              lambda route: route.startswith("applications.") and is_write(route))),
    ("service principals: reads / writes", (lambda route: route.startswith("servicePrincipals.") and not is_write(route),
                                            lambda route: route.startswith("servicePrincipals.") and is_write(route))),
    ("grants: reads / writes", (lambda route: route.startswith("grants.") and not is_write(route),
                                lambda route: route.startswith("grants.") and is_write(route))),
    ("policies: list / reads / uploads / deletes", (lambda route: route == "policies.list",
                                                    lambda route: route == "policies.get",
                                                    lambda route: route == "policies.put",
                                                    lambda route: route == "policies.delete")),
)
COMMAND_NOTE = ("`make bench` runs `scripts/bench.sh`, which prepares the newest environment (nox session `dev`, `.nox/dev`) and "
                "the oldest ansible-core's (nox session `env-2.16`, for workloads 8 and 9) and runs `tests/perf/bench.py`; "
                "`python tests/perf/bench.py --help` lists the options.")


# -- per-run figures ------------------------------------------------------------------------------------------------

READ_SUFFIXES = (".list", ".get", ".active")  # the emulator's route names: kind.action


def is_write(route: str) -> bool:
    """A Graph request that changes the tenant: any route but the token ones and the reads (list, get, getActiveKey)."""
    return route not in TOKEN_ROUTES and route != "unknown" and not route.endswith(READ_SUFFIXES)


def route_text(routes) -> str:
    return ", ".join("%s %d" % (route, count) for route, count in sorted(routes.items()) if count) or "none"


def writes(routes) -> dict:
    return {route: count for route, count in routes.items() if count and is_write(route)}


def _is_keyset(route: str) -> bool:
    return route.startswith(("keysets.", "keys.", "keys_v2."))


def tenant_kinds(routes) -> list:
    """The requests of a whole-tenant run by the columns of TENANT_KINDS, each cell as "a / b"."""
    return [" / ".join(str(sum(count for route, count in routes.items() if matches(route))) for matches in cell)
            for _heading, cell in TENANT_KINDS]


def graph_requests(routes: Counter) -> int:
    return sum(count for route, count in routes.items() if route not in TOKEN_ROUTES)


def all_requests(routes: Counter) -> int:
    return sum(routes.values())


def median_wall(runs: list) -> float:
    return statistics.median(run.wall_s for run in runs)


def max_rss_mib(run) -> Optional[float]:
    values = [probe["max_rss_kb"] for probe in run.probes]
    return max(values) / 1024.0 if values else None


def imported_count(run, package: str) -> tuple:
    return sum(1 for probe in run.probes if probe["imported"].get(package)), len(run.probes)


def stable_routes(runs: list) -> tuple:
    """The request counts of the first run, and whether every run of the variant made the same requests."""
    first = runs[0].routes
    return first, all(run.routes == first for run in runs)


# -- cProfile ---------------------------------------------------------------------------------------------------------

def load_profile(probe_dir: Path) -> dict:
    """Merge the cProfile dumps of every module process (and thread) of one run."""
    files = sorted(str(path) for path in Path(probe_dir).glob("*.pstats"))
    processes = len(list(Path(probe_dir).glob("*.json")))
    if not files:
        return {"processes": processes, "threads": 0}
    merged: dict = {}
    for path in files:
        for (filename, line, function), (_calls, ncalls, own, cumulative, _callers) in pstats.Stats(path).stats.items():  # type: ignore[attr-defined]
            key = (_short_path(filename), line, function)
            entry = merged.setdefault(key, {"file": key[0], "line": line, "function": function, "calls": 0, "own": 0.0,
                                            "cumulative": 0.0})
            entry["calls"] += ncalls
            entry["own"] += own
            entry["cumulative"] += cumulative
    entries = list(merged.values())
    buckets = Counter()
    for entry in entries:
        buckets[_bucket(entry)] += entry["own"]
    ours = [entry for entry in entries if OUR_CODE in entry["file"]
            and not (entry["function"] == "<module>" and "/plugins/modules/" in entry["file"])]  # the whole run
    return {
        "processes": processes,
        "threads": len(files),
        "own_total": sum(entry["own"] for entry in entries),
        "buckets": dict(buckets),
        "ours_by_cumulative": sorted(ours, key=lambda entry: -entry["cumulative"])[:12],
        "ours_by_own": sorted(ours, key=lambda entry: -entry["own"])[:8],
        "ours_own_total": sum(entry["own"] for entry in ours),
        "top_own": sorted(entries, key=lambda entry: -entry["own"])[:12],
    }


def _short_path(filename: str) -> str:
    """One name per source file across processes (AnsiballZ unpacks each module into its own temporary zip)."""
    if "ansible_collections/" in filename:
        return filename[filename.index("ansible_collections/"):]
    for marker in ("site-packages/", ".zip/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    stdlib = re.search(r"/lib/python3\.\d+/(.+)$", filename)
    return stdlib.group(1) if stdlib else filename


HTTP_STACK = ("requests/", "urllib3/", "http/client", "idna/", "charset_normalizer/", "certifi/", "ssl.py", "socket.py")


def _bucket(entry: dict) -> str:
    filename, function = entry["file"], entry["function"]
    if filename == "~":
        if any(word in function for word in ("_ssl._SSLSocket", "_socket.socket", "select", "poll")):
            return "network wait (socket reads, TLS handshakes)"
        if "_ssl._SSLContext" in function:
            return "TLS context set-up (CA bundle loading)"
        if ("lock" in function and "acquire" in function) or "sleep" in function or "flock" in function:
            return "waiting on threads and locks"
        if any(word in function for word in ("compile", "marshal", "builtins.exec", "_imp.", "open_code", "posix.stat",
                                             "posix.open", "__build_class__")):
            return "imports (finding, reading, compiling, executing modules)"
        return "other built-ins"
    if function == "<module>" or "importlib" in filename or filename.startswith("zipimport"):
        return "imports (finding, reading, compiling, executing modules)"
    if filename.startswith(OUR_CODE):
        return "entra.b2c code (own time)"
    if filename.startswith("msal/"):
        return "msal"
    if filename.startswith("cryptography/"):
        return "cryptography"
    if filename.startswith(HTTP_STACK):
        return "requests / urllib3 / http.client / ssl"
    if filename.startswith("ansible/"):
        return "ansible (AnsibleModule: arguments, exit_json)"
    return "other Python code (stdlib: re, enum, json, ...)"


# -- -X importtime --------------------------------------------------------------------------------------------------

IMPORT_FIGURES = (
    ("total", "all imports of the module process"),
    ("ansible.module_utils.basic", "`ansible.module_utils.basic` (Ansible's, every module pays it)"),
    ("ansible.module_utils.urls", "`ansible.module_utils.urls` (what `uri` uses for HTTP)"),
    ("requests", "`requests` (with urllib3, charset_normalizer, idna)"),
    ("msal", "`msal`"),
    ("cryptography", "`cryptography`"),
    ("entra.b2c self", "entra.b2c's own modules, self time (compiling and running their top level)"),
)


def load_imports(probe_dir: Path) -> list:
    """Per module process, in microseconds: the figures of IMPORT_FIGURES, from imports after the module started."""
    processes = []
    for path in sorted(Path(probe_dir).glob("*.imports")):
        started = False
        figures = Counter()
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("probe: module starts"):
                started = True
                continue
            if not started or not line.startswith("import time:"):
                continue
            parts = line.split("|")
            if len(parts) != 3 or not parts[1].strip().isdigit():
                continue  # the header line
            own, cumulative, name_field = int(parts[0].split(":", 1)[1]), int(parts[1]), parts[2]
            name = name_field.strip()
            if len(name_field) - len(name_field.lstrip(" ")) == 1:  # a top-level import
                figures["total"] += cumulative
            if name in dict(IMPORT_FIGURES):
                figures[name] += cumulative
            if name.startswith("ansible_collections.entra.b2c"):
                figures["entra.b2c self"] += own
        processes.append(dict(figures))
    return processes


def median_imports(samples: list) -> dict:
    """Median over every module process of every sample, in milliseconds."""
    processes = [process for sample in samples for process in sample]
    figures = {name: statistics.median(process.get(name, 0) for process in processes) / 1000.0 if processes else None
               for name, _label in IMPORT_FIGURES}
    return {"processes": len(processes), "total_ms": figures["total"], "figures": figures}


# -- the document -----------------------------------------------------------------------------------------------------

def _fmt_ratio(value: Optional[float]) -> str:
    return "–" if value is None else "%.2f" % value


def _fmt_mib(value: Optional[float]) -> str:
    return "–" if value is None else "%.0f" % value


def _spread(runs: list) -> str:
    walls = sorted(run.wall_s for run in runs)
    if len(walls) == 1:
        return "%.2f" % walls[0]
    return "%.2f (%.2f–%.2f)" % (statistics.median(walls), walls[0], walls[-1])


def recommended_key(measured, order) -> Optional[str]:
    return next((key for key in order if key in measured.runs), None)


def render(measured_list: list, extra: dict, facts: dict, command: str, recommended_order) -> str:
    lines = []
    add = lines.append
    add("# Performance of entra.b2c")
    add("")
    add("<!-- Generated by tests/perf/bench.py; do not edit by hand. Regenerate with: %s -->" % command)
    add("")
    add("Generated by `%s` on %s in %d s%s. %s" % (
        command, facts["date"], facts["duration_s"],
        " (quick mode: one round, smaller workloads; figures are a check of the counts, not of the times)"
        if facts["quick"] else "", COMMAND_NOTE))
    add("")
    add("## Machine")
    add("")
    add("| CPU | cores | system | Python | ansible-core | emulator latency per request | rounds |")
    add("|---|---|---|---|---|---|---|")
    add("| %s | %s | %s | %s | %s | %.0f ms | %d |" % (
        facts["cpu"], facts["cores"], facts["system"], facts["python"], facts["ansible_core"], facts["latency_ms"],
        facts["rounds"]))
    add("")
    add("## Method")
    add("")
    add("- The emulator (`tests/emulator`) runs in the benchmark's process and sleeps the latency above before every "
        "answer, token and discovery requests included. Every request figure is counted from its request log for one "
        "run of the real `ansible-playbook`.")
    add("- Wall time is the whole `ansible-playbook` run (start-up included), the median of the rounds; in each round "
        "every variant of a workload runs once, in an order rotated round by round, so drifts of a busy machine hit "
        "all variants alike. Ratios are of those medians. The emulator shares the machine's cores with Ansible.")
    add("- Timed runs use the controller's Python for every module process (`ansible_python_interpreter` is "
        "`ansible_playbook_python`, as on a default localhost). The per-process figures (module processes, peak RSS, "
        "msal imported, module wall and CPU time) come from one more, untimed run of each variant that starts "
        "module processes (those in the worker start none), in which every module process (the collection's and "
        "DIY's `uri` alike) runs through `tests/perf/module_probe.py`: peak RSS is `getrusage(RUSAGE_SELF).ru_maxrss` "
        "at exit, and `sys.modules` tells whether msal and cryptography were imported.")
    add("- DIY is `tests/perf/playbooks/diy.yml`: one `uri` token task per host, a `uri` GET per key set in a loop, "
        "then a `uri` POST create where a set is missing and a `uri` POST generateKey where no key of the use is valid "
        "for 30 more days (both skipped when nothing needs to change). Ours are `tests/perf/playbooks/keyset_key.yml`, "
        "`keyset_key_batch.yml` and `keyset_info.yml`; `floor.yml` is an `ansible-playbook` run with no module process.")
    add("- Variants: **a** `b2c_keyset_key` in a loop without the token cache; **b** the same with `token_cache`; "
        "**c** `b2c_keyset_key_batch`, one task for all the host's key sets, with `token_cache` (warmed by an untimed run "
        "before the rounds); a, b and c run as module processes (`ENTRA_B2C_IN_PROCESS=false`), as every Ansible "
        "module does. **d** and **e** are b and c as they run by default: the collection's action plugins run the "
        "module in the worker process Ansible forked for the task (local connection, the controller's Python, no "
        "become, no async), with no module process. Every run is checked: it must exit 0 and generate exactly the "
        "keys the workload needs.")
    add("- Workload 6 deploys a set of custom policies that the tenant already holds. DIY is "
        "`tests/perf/playbooks/diy_policies.yml`, the upload-everything way of the `deploy-trustframework-policy` "
        "GitHub Action and Microsoft's pipeline script: one `uri` token task, then a `uri` PUT of every file in a "
        "hand-kept order, bases first (B2C validates and replaces each one, changed or not). Ours is "
        "`tests/perf/playbooks/policies.yml`, one `b2c_policies` task over the directory, without the token cache: "
        "**p** as a module process, **q** in the worker (the default path). Every run is checked: DIY must upload "
        "every file, ours none. The cost of two defaults, in the worker: **s** deploys the set into an empty tenant "
        "one upload at a time (the default), **s4** the same with `parallel_uploads: 4` (an opt-in that is unproven "
        "on real tenants); **r** deploys after the Extensions policy changed, uploading it and the 7 relying parties "
        "above it (`reupload_dependents`, the default), **r0** the same with `reupload_dependents: false`, which "
        "uploads the Extensions alone. These runs are checked for exactly those uploads.")
    add("- Workload 7 is the whole tenant: `tests/perf/playbooks/ief_tenant.yml`, a play of the `entra.b2c.ief_tenant` "
        "role (the connection in the play's `module_defaults`, the tenant given by its domain name) over a set of "
        "our own in the shape of Microsoft's LocalAccounts starter pack, its placeholders untouched "
        "(`tests/policies/LocalAccounts`: the role fills yourtenant and the IEF apps' ids), in the worker, without "
        "the token cache. **t1** starts from an emptied tenant (no key set, app registration, grant or policy) and "
        "must make exactly the writes the role needs: 2 "
        "key sets with a generated key each, the 2 IEF apps (and the ID URI of the first, which needs the appId its "
        "create returns), their 2 service principals, 3 admin-consent grants and 6 uploads; **t2** runs again on "
        "that tenant and must write nothing; **t3** runs after one edit to the Extensions file and must upload it and "
        "the 3 relying parties above it (`reupload_dependents`, the default) and write nothing else. The role runs "
        "the whole tenant as one task (`b2c_ief_tenant`) with one token: a plan with reads only, then only the "
        "plan's writes; the apply reads nothing the plan read, except each key set it adds a key to (read again "
        "under the set's lock), so a run with nothing to do reads the tenant once and a run that writes adds one "
        "read per key added.")
    add("- Workload %d is the overhead of one task of ours above `ansible-playbook` itself, on every ansible-core the run "
        "was given (`make bench`: the oldest, 2.16, in the environment of nox session `env-2.16`, and the newest): plays "
        "of one host generated into the scratch directory, the floor with one `debug` task, one no-change "
        "`b2c_keyset_key` task, and %d separate such tasks (one key set each, not a loop), with the token cache warm, "
        "in the worker. Its ratios are against the floor of the same environment in the same run. Untimed probe runs "
        "then record, through `tests/perf/callbacks/b2c_task_probe.py` (an audit hook for imports, a wrapper of the "
        "action plugin's `run()` and, for the profile, of ansible-core's `TaskExecutor.run`, installed from the "
        "callback in the parent and inherited by the forked workers), whether each task paid for imports and where "
        "the time of one task goes." % (overhead.WORKLOAD, overhead.TASKS))
    add("- Workload %d is the whole tenant with nothing to change against that floor, on the same ansible-core "
        "environments: `ansible-playbook %s`, the collection's playbook by its name, on a tenant where workload 7's "
        "first run (untimed) has deployed its set, against `tests/perf/playbooks/%s`, a play of the same host with "
        "one `debug` task, in alternating rounds. Both get one file of extra variables: the role's "
        "`ief_tenant_connection` and `ief_tenant_policies_dir`. Every run is checked: the floor makes no request, "
        "the role no write; its target, at most %.1f× the floor with one token request, is reported, not asserted." % (
            tenant_floor.WORKLOAD, tenant_floor.PLAYBOOK, tenant_floor.FLOOR_PLAYBOOK, tenant_floor.TARGET_RATIO))
    add("- Workload %d exports the tenant workload 7 deploys: `tests/perf/playbooks/%s`, one `b2c_tenant_export` "
        "task into an emptied scratch directory, in the worker, in this environment's ansible-core, against workload "
        "%d's floor in alternating rounds. Every export is checked: it must write nothing to the tenant and change "
        "the empty directory. Untimed, after the rounds: a second export into the same directory must report no "
        "change, and the role run from the exported repository (`ansible-playbook %s -e @%s` in it) must write "
        "nothing. Its target, one token and its reads, is reported, not asserted." % (
            tenant_export.WORKLOAD, tenant_export.PLAYBOOK, tenant_floor.WORKLOAD, tenant_export.ROUND_TRIP_PLAYBOOK,
            tenant_export.REPOSITORY_VARS))
    add("")

    by_number = {measured.workload.number: measured for measured in measured_list}
    lines.extend(_summary(by_number, recommended_order, extra))
    add("## Targets")
    add("")
    add("| target | measured | met |")
    add("|---|---|---|")
    for row in _targets(by_number, extra, recommended_order):
        add("| %s | %s | %s |" % row)
    if overhead.WORKLOAD in by_number:
        for row in overhead.target_rows(by_number[overhead.WORKLOAD], extra, _met):
            add("| %s | %s | %s |" % row)
    if tenant_floor.WORKLOAD in by_number:
        for row in tenant_floor.target_rows(by_number[tenant_floor.WORKLOAD], extra, _met):
            add("| %s | %s | %s |" % row)
    if tenant_export.WORKLOAD in by_number:
        for row in tenant_export.target_rows(by_number[tenant_export.WORKLOAD], extra, _met, is_write):
            add("| %s | %s | %s |" % row)
    add("")

    for measured in measured_list:
        if measured.workload.state == "tenant":
            lines.extend(_tenant_section(measured))
        elif measured.workload.state == "overhead":
            lines.extend(overhead.section(measured, extra))
        elif measured.workload.state == tenant_floor.STATE:
            lines.extend(tenant_floor.section(measured, extra))
        elif measured.workload.state == tenant_export.STATE:
            lines.extend(tenant_export.section(measured, extra, is_write))
        else:
            lines.extend(_workload_section(measured, recommended_order))

    lines.extend(_time_section(by_number))
    lines.extend(_imports_section(extra.get("imports") or {}))
    lines.extend(_payload_section(extra.get("payloads") or {}))
    lines.extend(_profile_section(extra.get("profiles") or {}))
    return "\n".join(lines).rstrip() + "\n"


def _against_diy(by_number: dict, recommended_order):
    """(number, measured, recommended key) of each workload 1-4 that ran both DIY and a recommended path."""
    for number in (1, 2, 3, 4):
        measured = by_number.get(number)
        key = recommended_key(measured, recommended_order) if measured and "diy" in measured.runs else None
        if key is not None:
            yield number, measured, key


def _summary(by_number: dict, recommended_order, extra: dict) -> list:
    lines = ["## In short", ""]
    for number, measured, key in _against_diy(by_number, recommended_order):
        ours, diy = measured.runs[key], measured.runs["diy"]
        keysets = measured.workload.keysets
        lines.append("- Workload %d (%s): the recommended path (%s) takes %.2f× DIY's wall time and makes %.2f HTTP "
                     "requests per key set against DIY's %.2f, in %d module process(es) against %d." % (
                         number, measured.workload.title, key, median_wall(ours) / median_wall(diy),
                         all_requests(ours[0].routes) / keysets, all_requests(diy[0].routes) / keysets,
                         ours[0].module_processes, diy[0].module_processes))
    one = by_number.get(1)
    key = recommended_key(one, recommended_order) if one else None
    if one and key and "floor" in one.runs and "diy" in one.runs:
        floor, diy = median_wall(one.runs["floor"]), median_wall(one.runs["diy"])
        processes = [probe["wall_s"] for run in one.runs.get("c", [])[:1] for probe in run.probes]
        lines.append("- `ansible-playbook` with no module at all (the floor) takes %.2f s, %.0f%% of DIY's workload 1%s; "
                     "that is why the modules run in the worker by default: one task's module process alone would "
                     "cost most of the other half." % (
                         floor, 100.0 * floor / diy,
                         ", and one module process of ours (c) runs %.2f s" % statistics.median(processes)
                         if processes else ""))
    policies = by_number.get(POLICY_WORKLOAD)
    if policies and "diy" in policies.runs and POLICY_RECOMMENDED in policies.runs:
        ours, diy = policies.runs[POLICY_RECOMMENDED], policies.runs["diy"]
        lines.append("- Workload %d (%s): `b2c_policies` (%s, the default path) takes %.2f× the upload-everything "
                     "DIY's wall time, with %d HTTP requests (%s) against DIY's %d (%s), in %d module process(es) "
                     "against %d; it writes nothing, DIY makes B2C validate and replace every policy." % (
                         POLICY_WORKLOAD, policies.workload.title, POLICY_RECOMMENDED,
                         median_wall(ours) / median_wall(diy), all_requests(ours[0].routes),
                         _route_text(ours[0].routes), all_requests(diy[0].routes), _route_text(diy[0].routes),
                         ours[0].module_processes, diy[0].module_processes))
    if policies and "s" in policies.runs and "s4" in policies.runs:
        one, four = median_wall(policies.runs["s"]), median_wall(policies.runs["s4"])
        lines.append("- Workload %d, first deploy of %d policies into an empty tenant: one upload at a time (s, the "
                     "default) takes %.2f s, `parallel_uploads: 4` (s4, opt-in) %.2f s (%.2f×)." % (
                         POLICY_WORKLOAD, policies.workload.policies, one, four, four / one))
    if policies and "r" in policies.runs and "r0" in policies.runs:
        again, alone = policies.runs["r"], policies.runs["r0"]
        lines.append("- Workload %d, the Extensions policy changed: `reupload_dependents` (r, the default) makes %d "
                     "uploads in %.2f s, without it (r0) %d in %.2f s; an unchanged set makes none either way." % (
                         POLICY_WORKLOAD, again[0].routes["policies.put"], median_wall(again),
                         alone[0].routes["policies.put"], median_wall(alone)))
    tenant = by_number.get(TENANT_WORKLOAD)
    if tenant and {"t1", "t2"} <= set(tenant.runs):
        first, again = tenant.runs["t1"], tenant.runs["t2"]
        text = ("- Workload %d (%s): one run of the role from an empty tenant makes %d HTTP requests, %d of them writes, "
                "in %.2f s; the second run makes %d requests, %d writes, in %.2f s" % (
                    TENANT_WORKLOAD, tenant.workload.title, all_requests(first[0].routes),
                    sum(writes(first[0].routes).values()), median_wall(first), all_requests(again[0].routes),
                    sum(writes(again[0].routes).values()), median_wall(again)))
        if "t3" in tenant.runs:
            edited = tenant.runs["t3"]
            text += "; after one edited file, %d uploads in %.2f s" % (
                edited[0].routes["policies.put"], median_wall(edited))
        lines.append(text + ".")
    lines.extend(overhead.summary(by_number.get(overhead.WORKLOAD)))
    lines.extend(tenant_floor.summary(by_number.get(tenant_floor.WORKLOAD), extra))
    lines.extend(tenant_export.summary(by_number.get(tenant_export.WORKLOAD), extra))
    lines.append("- Recommended: `entra.b2c.b2c_keyset_key_batch` with `token_cache` (variant e, the default path): no "
                 "module process, a token shared through the cache, reads and writes in parallel. A loop of "
                 "`b2c_keyset_key` (d) pays a task's overhead per key set; as module processes (a, b, c) every task "
                 "also starts the interpreter, Ansible's module code and `requests` again.")
    lines.append("")
    return lines if len(lines) > 3 else []


def _met(condition: Optional[bool]) -> str:
    return "n/a" if condition is None else ("yes" if condition else "**no**")


def _targets(by_number: dict, extra: dict, recommended_order) -> list:
    rows = []
    one = by_number.get(1)
    if one:
        if "a" in one.runs:
            routes = stable_routes(one.runs["a"])[0]
            rows.append(("no-change task (workload 1, a): one token request and one read",
                         "token %d, keysets.get %d, other Graph %d; discovery GETs %d (msal's OpenID configuration)" % (
                             routes["token"], routes["keysets.get"], graph_requests(routes) - routes["keysets.get"],
                             routes["discovery"]),
                         _met(routes["token"] == 1 and routes["keysets.get"] == 1 and graph_requests(routes) == 1)))
        for key in ("b", "c", "d", "e"):
            if key in one.runs:
                routes = stable_routes(one.runs[key])[0]
                rows.append(("with the token cache (workload 1, %s): one read" % key,
                             "%d request(s) in all: %s" % (all_requests(routes), _route_text(routes)),
                             _met(all_requests(routes) == 1 and routes["keysets.get"] == 1)))
    for number, measured, key in _against_diy(by_number, recommended_order):
        ours, diy = median_wall(measured.runs[key]), median_wall(measured.runs["diy"])
        text = "%.2f s vs %.2f s: %.2f×" % (ours, diy, ours / diy)
        if "floor" in measured.runs:
            floor = median_wall(measured.runs["floor"])
            if diy > floor:
                text += "; above the %.2f s floor of `ansible-playbook` itself: %.2f×" % (floor, (ours - floor) / (diy - floor))
        rows.append(("wall time at most half of DIY (workload %d, recommended path %s)" % (number, key), text,
                     _met(ours / diy <= 0.5)))
    five = by_number.get(5)
    if five:
        for key in ("info", "info-cached"):
            if key in five.runs:
                routes = stable_routes(five.runs[key])[0]
                rows.append(("b2c_keyset_info over %d key sets (%s): one Graph request" % (five.workload.keysets, key),
                             "Graph %d (%s)" % (graph_requests(routes), _route_text(routes)),
                             _met(graph_requests(routes) == 1)))
    policies = by_number.get(POLICY_WORKLOAD)
    if policies:
        count = policies.workload.policies
        for key in ("p", POLICY_RECOMMENDED):
            if key in policies.runs:
                routes = stable_routes(policies.runs[key])[0]
                rows.append(("unchanged set of %d policies (workload %d, %s): one token, one list, at most one read "
                             "per policy, no write" % (count, POLICY_WORKLOAD, key), _route_text(routes),
                             _met(routes["token"] == 1 and routes["policies.list"] == 1
                                  and routes["policies.get"] <= count and routes["policies.put"] == 0
                                  and graph_requests(routes) == 1 + routes["policies.get"])))
        if "diy" in policies.runs and POLICY_RECOMMENDED in policies.runs:
            ours, diy = median_wall(policies.runs[POLICY_RECOMMENDED]), median_wall(policies.runs["diy"])
            rows.append(("wall time against the upload-everything DIY (workload %d, %s)" % (
                POLICY_WORKLOAD, POLICY_RECOMMENDED), "%.2f s vs %.2f s: %.2f×" % (ours, diy, ours / diy), "reported"))
        for key, uploads, what in (("s", count, "first deploy into an empty tenant: one upload per policy"),
                                   ("r", count - 2, "Extensions changed, reupload_dependents: it and the 7 relying "
                                                    "parties above it"),
                                   ("r0", 1, "Extensions changed, reupload_dependents false: it alone")):
            if key in policies.runs:
                routes = stable_routes(policies.runs[key])[0]
                rows.append(("%s (workload %d, %s)" % (what, POLICY_WORKLOAD, key), _route_text(routes),
                             _met(routes["policies.put"] == uploads)))
        if "s" in policies.runs and "s4" in policies.runs:
            one, four = median_wall(policies.runs["s"]), median_wall(policies.runs["s4"])
            rows.append(("first deploy, parallel_uploads 4 (s4, opt-in) against one at a time (s, the default)",
                         "%.2f s vs %.2f s: %.2f×" % (four, one, four / one), "reported"))
    tenant = by_number.get(TENANT_WORKLOAD)
    if tenant:
        for key, expected, what in (
                ("t1", TENANT_FIRST_WRITES, "whole tenant from empty: 2 key sets and their keys, 2 apps (and one ID URI), "
                                            "2 service principals, 3 grants, 6 uploads, nothing more"),
                ("t2", {}, "whole tenant, second run: no write"),
                ("t3", {"policies.put": TENANT_EDITED_UPLOADS},
                 "whole tenant, one edited file: it and the relying parties above it, nothing else")):
            if key in tenant.runs:
                routes = stable_routes(tenant.runs[key])[0]
                rows.append(("%s (workload %d, %s)" % (what, TENANT_WORKLOAD, key),
                             "writes: %s; all requests %d" % (route_text(writes(routes)), all_requests(routes)),
                             _met(writes(routes) == expected)))
    for number, key in ((1, "b"), (1, "c"), (2, "b"), (2, "c"), (5, "info-cached")):
        measured = by_number.get(number)
        if not measured or key not in measured.runs:
            continue
        run = measured.runs[key][0]
        msal, total = imported_count(run, "msal")
        crypto = imported_count(run, "cryptography")[0]
        rows.append(("no token to acquire (workload %d, %s): msal and cryptography not imported" % (number, key),
                     "msal in %d of %d module processes, cryptography in %d" % (msal, total, crypto),
                     _met(msal == 0 and crypto == 0)))
    imports = extra.get("imports") or {}
    for key in ("a", "b", "c"):
        if imports.get(key, {}).get("total_ms") is not None:
            rows.append(("module import time (workload 1, %s)" % key,
                         "%.0f ms (median of %d module processes, `-X importtime`); see below" % (
                             imports[key]["total_ms"], imports[key]["processes"]), "reported"))
    if extra.get("profiles"):
        rows.append(("cProfile of workload 2's module processes", "see [Profile of workload 2](#profile-of-workload-2)",
                     "reported"))
    return rows


def _route_text(routes: Counter) -> str:
    return ", ".join("%s %d" % (route, count) for route, count in sorted(routes.items())) or "none"


def _workload_section(measured, recommended_order) -> list:
    workload = measured.workload
    lines = ["## Workload %d: %s" % (workload.number, workload.title), ""]
    hosts = len(workload.hosts) or 1
    unit = "policy" if workload.policies else "key set"
    shown = POLICY_ROUTES if workload.policies else SHOWN_ROUTES
    if workload.policies:
        lines.append("%d custom policies in 4 levels of inheritance (tests/policies/basic and 5 more relying parties), "
                     "all in the tenant already (s and s4 start from an empty tenant, r and r0 from one whose "
                     "Extensions policy differs), the two key sets they reference too. *per policy* is every HTTP "
                     "request (token and discovery included) divided by the %d policies." % (
                         workload.policies, workload.policies))
    else:
        lines.append("%d key set(s) over %d host(s), forks %d. Requests are counted per run (all hosts); *per key set* "
                     "is every HTTP request (token and discovery included) divided by the %d key set(s)." % (
                         workload.keysets, hosts, workload.forks, workload.keysets))
    lines.append("")
    lines.append("| variant | module processes | %s | other | per %s | wall s, median (min–max) | × DIY | "
                 "peak RSS per module process, MiB | msal imported |" % (" | ".join(shown), unit))
    lines.append("|---|---|%s---|---|---|---|---|---|" % ("---|" * len(shown)))
    diy = median_wall(measured.runs["diy"]) if "diy" in measured.runs else None
    recommended = recommended_key(measured, recommended_order)
    for key, runs in measured.runs.items():
        routes, stable = stable_routes(runs)
        label = measured.labels.get(key, key)
        if key == recommended:
            label = "**%s (recommended)**" % label
        other = all_requests(routes) - sum(routes[route] for route in shown)
        counts = " | ".join(str(routes[route]) for route in shown)
        per_set = all_requests(routes) / workload.units if workload.units else 0
        ratio = median_wall(runs) / diy if diy else None
        msal, total = imported_count(runs[0], "msal")
        lines.append("| %s | %d | %s | %d | %.2f%s | %s | %s | %s | %s |" % (
            label, runs[0].module_processes, counts, other, per_set, "" if stable else " (varies)", _spread(runs),
            _fmt_ratio(ratio), _fmt_mib(max_rss_mib(runs[0])), "%d/%d" % (msal, total) if total else "–"))
    lines.append("")
    return lines


def _tenant_section(measured) -> list:
    """The whole-tenant workload: its requests by kind, reads apart from writes."""
    workload = measured.workload
    lines = ["## Workload %d: %s" % (workload.number, workload.title), "",
             "One `ansible-playbook` run of the `entra.b2c.ief_tenant` role per variant: one `b2c_ief_tenant` task, "
             "with one token (no token cache), plans and applies the key sets, the IEF apps, then the %d policies of "
             "the pack. Requests are counted by kind; *writes* "
             "is every request that changes the tenant. t1 starts from an empty tenant, t2 from the tenant t1 left, t3 "
             "from that tenant with the Extensions file edited since." % workload.policies, "",
             "| variant | %s | all requests | writes | wall s, median (min–max) |" % " | ".join(
                 heading for heading, _cell in TENANT_KINDS),
             "|---|%s---|---|---|" % ("---|" * len(TENANT_KINDS))]
    for key, runs in measured.runs.items():
        routes, stable = stable_routes(runs)
        lines.append("| **%s** %s | %s | %d%s | %d | %s |" % (
            key, measured.labels.get(key, key), " | ".join(tenant_kinds(routes)),
            all_requests(routes), "" if stable else " (varies)", sum(writes(routes).values()), _spread(runs)))
    lines.append("")
    first = measured.runs.get("t1")
    if first:
        by_route = "; ".join("%s: %s" % (key, route_text(runs[0].routes)) for key, runs in measured.runs.items())
        lines.append("The first run's writes: %s; the key sets its policies reference were ensured by the role just "
                     "before, so `b2c_policies` does not list them again. The requests of each run, by route: %s." % (
                         route_text(writes(first[0].routes)), by_route))
        lines.append("")
    return lines


def _time_section(by_number: dict) -> list:
    lines = ["## Where the time goes", "",
             "Per variant, for the median run: the `ansible-playbook` run, the floor (start-up with no module process, "
             "workload 1), the module processes' own wall and CPU time (summed; with forks they overlap), and the "
             "time the emulator spent answering (its latency included, summed over requests).", "",
             "| workload | variant | wall s | module processes | module wall s (sum) | module CPU s (sum) | "
             "module wall per process, ms | emulator time s (sum) |",
             "|---|---|---|---|---|---|---|---|"]
    floor = by_number.get(1).runs.get("floor") if by_number.get(1) else None
    if floor:
        lines.append("| 1 | floor: ansible-playbook start-up, no module | %.2f | 0 | – | – | – | – |" % median_wall(floor))
    for number in sorted(by_number):
        measured = by_number[number]
        for key, runs in measured.runs.items():
            if key == "floor":
                continue
            run = sorted(runs, key=lambda item: item.wall_s)[len(runs) // 2]
            module_wall = sum(probe["wall_s"] for probe in run.probes)
            module_cpu = sum(probe["cpu_s"] for probe in run.probes)
            if run.probes:
                module_figures = "%.2f | %.2f | %.0f" % (module_wall, module_cpu, module_wall / len(run.probes) * 1000)
            else:
                module_figures = "– | – | –"  # run in the worker: no module process
            lines.append("| %d | %s | %.2f | %d | %s | %.2f |" % (
                number, key, run.wall_s, len(run.probes), module_figures, run.graph_ms / 1000.0))
    lines.append("")
    return lines


def _imports_section(imports: dict) -> list:
    measured = {key: figures for key, figures in imports.items() if figures.get("total_ms") is not None}
    if not measured:
        return []
    keys = list(measured)
    lines = ["## Module start-up: import time", "",
             "`python -X importtime` inside the module process (AnsiballZ imports from its zip, so sources are "
             "compiled on the way), workload 1, median per module process, milliseconds; only the imports made once "
             "the interpreter had started the module. The figures nest: `requests` is part of the total, and so on.",
             "",
             "| import | %s |" % " | ".join("%s (%d processes)" % (key, measured[key]["processes"]) for key in keys),
             "|---|%s" % ("---|" * len(keys))]
    for name, label in IMPORT_FIGURES:
        lines.append("| %s | %s |" % (label, " | ".join("%.0f" % measured[key]["figures"][name] for key in keys)))
    lines.append("")
    return lines


def _payload_section(payloads: dict) -> list:
    if not payloads:
        return []
    groups = sorted({group for figures in payloads.values() for group in figures},
                    key=lambda group: (group != "entra.b2c", group))
    lines = ["## What every module process compiles", "",
             "AnsiballZ ships Python sources in a zip and zipimport cannot cache their bytecode, so each module process "
             "compiles them again. Source size and the compile time of each group (best of 3, in the benchmark's "
             "process), per module:", "",
             "| module | %s | total compile ms |" % " | ".join("%s: files, KiB, compile ms" % group for group in groups),
             "|---|%s---|" % ("---|" * len(groups))]
    for module, figures in sorted(payloads.items()):
        cells = []
        for group in groups:
            entry = figures.get(group)
            cells.append("%d, %.0f, %.0f" % (entry["files"], entry["bytes"] / 1024.0, entry["compile_ms"]) if entry else "–")
        total = sum(entry["compile_ms"] for entry in figures.values())
        lines.append("| %s | %s | %.0f |" % (module, " | ".join(cells), total))
    lines.append("")
    return lines


def _profile_section(profiles: dict) -> list:
    if not profiles:
        return []
    lines = ["## Profile of workload 2", "",
             "cProfile of every module process of one run of workload 2, threads included (the times of parallel "
             "threads add up, so a sum can exceed the wall time; from Python 3.12 on one profiler covers every thread "
             "and their timings mix, so the per-thread figures of the batch module are approximate there, while "
             "Python 3.11 gives each thread its own profiler). Own time by where it is spent, in seconds:", ""]
    buckets = sorted({bucket for profile in profiles.values() for bucket in profile.get("buckets", {})})
    keys = list(profiles)
    headers = ["%s (%d module processes)" % (key, profiles[key]["processes"]) for key in keys]
    lines.append("| own time in | %s |" % " | ".join(headers))
    lines.append("|---|%s" % ("---|" * len(keys)))
    order = sorted(buckets, key=lambda bucket: -max(profile.get("buckets", {}).get(bucket, 0) for profile in profiles.values()))
    for bucket in order:
        cells = ["%.3f" % profiles[key].get("buckets", {}).get(bucket, 0) for key in keys]
        lines.append("| %s | %s |" % (bucket, " | ".join(cells)))
    lines.append("| **total** | %s |" % " | ".join("%.3f" % profiles[key].get("own_total", 0) for key in keys))
    lines.append("")
    for key in keys:
        profile = profiles[key]
        if not profile.get("ours_by_cumulative"):
            continue
        lines.append("Our code in **%s**, by cumulative time over %d module process(es) (`<module>` of a module_utils "
                     "file is its import, what it imports included); own time of all our functions: %.3f s:" % (
                         key, profile["processes"], profile["ours_own_total"]))
        lines.append("")
        lines.append("| function | calls | cumulative s | per module process, ms | own s |")
        lines.append("|---|---|---|---|---|")
        for entry in profile["ours_by_cumulative"]:
            lines.append("| `%s:%d %s` | %d | %.3f | %.0f | %.3f |" % (
                entry["file"].split(OUR_CODE, 1)[1], entry["line"], entry["function"], entry["calls"],
                entry["cumulative"], entry["cumulative"] * 1000.0 / max(1, profile["processes"]), entry["own"]))
        lines.append("")
    return lines


def raw(measured_list: list, extra: dict, facts: dict) -> dict:
    """Everything render() needs, as JSON-ready data (bench.py --render turns it back into a document)."""
    workloads = {}
    for measured in measured_list:
        workload = measured.workload
        workloads[workload.number] = {
            "title": workload.title,
            "hosts": workload.hosts,
            "state": workload.state,
            "forks": workload.forks,
            "info_keysets": workload.info_keysets,
            "policies": workload.policies,
            "keysets": workload.keysets,
            "variants": {key: [{"wall_s": run.wall_s, "routes": dict(run.routes), "probes": run.probes,
                                "graph_ms": run.graph_ms} for run in runs] for key, runs in measured.runs.items()},
            "labels": measured.labels,
        }
    return {"machine": facts, "workloads": workloads, "extra": extra}


# -- the AnsiballZ payload --------------------------------------------------------------------------------------------

PAYLOAD_DATA = re.compile(r"""(?:zip_data=|ZIPDATA = )(?:'|\"\"\")([A-Za-z0-9+/=\s]+?)(?:'|\"\"\")""")


def payload_compile(ansiballz: Path, repeat: int = 3) -> dict:
    """Source size and compile time of the Python files in an AnsiballZ payload, ours apart from Ansible's.

    zipimport cannot write .pyc files next to a zip, so every module process compiles each of these sources again.
    """
    found = PAYLOAD_DATA.search(Path(ansiballz).read_text(encoding="utf-8"))
    if not found:
        return {}
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode("".join(found.group(1).split()))))
    groups: dict = {}
    for name in archive.namelist():
        if not name.endswith(".py"):
            continue
        source = archive.read(name)
        best = min(_compile_seconds(source, name) for _attempt in range(repeat))
        group = "entra.b2c" if name.startswith("ansible_collections/") else name.split("/", 1)[0]
        figures = groups.setdefault(group, {"files": 0, "bytes": 0, "compile_ms": 0.0})
        figures["files"] += 1
        figures["bytes"] += len(source)
        figures["compile_ms"] += best * 1000.0
    return groups


def _compile_seconds(source: bytes, name: str) -> float:
    started = time.perf_counter()
    compile(source, name, "exec", dont_inherit=True)
    return time.perf_counter() - started
