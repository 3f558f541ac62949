# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Workload 8 of the benchmark (tests/perf/bench.py): the overhead of one task of ours above `ansible-playbook` itself.

Per ansible-core environment (this interpreter's, and each --core-env), three generated plays of one host:
the floor (one `debug` task), one no-change `b2c_keyset_key` task (token cache on, in the worker: the default path)
and the same as 20 separate task entries, one key set each. Wall times as every workload's; then untimed probe runs:
the 20-task play with tests/perf/callbacks/b2c_task_probe.py (per task: run() time in the worker, imports paid), and
without --no-profile the one-task play under cProfile (inside run()) and under `-X importtime` (the whole run, the
floor's likewise, to price the imports the task adds).
"""

from __future__ import annotations

import json
import pstats
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

PERF_DIR = Path(__file__).resolve().parent
REPO_ROOT = PERF_DIR.parent.parent
WORKLOAD = 8
TASKS = 20
TARGET_RATIO = 1.20  # the target: a no-change task at most 1.20x the floor
OURS = "ansible_collections.entra.b2c"
# What a task after the first must not import again (its worker inherits them from the parent).
PAID = ("requests", "urllib3", "msal", "cryptography", OURS)

PLAY_HEAD = """---
# Written by tests/perf/bench.py (workload %(number)d): %(what)s
- name: Task overhead
  hosts: all
  gather_facts: false
  module_defaults:
    group/entra.b2c.graph:
      tenant_id: "{{ bench_tenant_id }}"
      client_id: "{{ bench_client_id }}"
      client_secret: "{{ bench_client_secret }}"
      graph_endpoint: "{{ bench_graph_url }}"
      authority_host: "{{ bench_authority_url }}"
      ca_path: "{{ bench_ca_path }}"
      token_cache: "{{ bench_token_cache }}"
  tasks:
"""
DEBUG_TASK = """    - name: One debug task
      ansible.builtin.debug:
        msg: floor
"""
KEY_TASK = """    - name: Policy key %(index)02d
      entra.b2c.b2c_keyset_key:
        keyset: Task%(index)02d
        use: %(use)s
        valid_for: 365d
        renew_before: 30d
"""


def variants(core: str) -> list:
    """(key, label, playbook, tasks) of one core's variants; keys carry the core."""
    return [("floor-%s" % core, "floor: one debug task (ansible-core %s)" % core, "overhead-0.yml", 0),
            ("one-%s" % core, "one no-change b2c_keyset_key task (ansible-core %s)" % core, "overhead-1.yml", 1),
            ("many-%s" % core, "%d separate b2c_keyset_key tasks (ansible-core %s)" % (TASKS, core),
             "overhead-%d.yml" % TASKS, TASKS)]


def write_playbooks(workdir: Path) -> None:
    """The floor, the one-task and the 20-task plays (the same play head; the key sets Task01..Task20)."""
    for tasks in (0, 1, TASKS):
        what = "the floor, one debug task" if not tasks else "%d b2c_keyset_key task(s), nothing to change" % tasks
        body = DEBUG_TASK if not tasks else "".join(
            KEY_TASK % {"index": index, "use": "sig" if index % 2 else "enc"} for index in range(1, tasks + 1))
        (workdir / ("overhead-%d.yml" % tasks)).write_text(PLAY_HEAD % {"number": WORKLOAD, "what": what} + body,
                                                           encoding="utf-8")


def core_of(venv: Optional[str]) -> str:
    """The ansible-core minor of a virtual environment (None: this interpreter's)."""
    if venv is None:
        from ansible.release import __version__  # pylint: disable=import-outside-toplevel

        return ".".join(__version__.split(".")[:2])
    python = Path(venv) / "bin" / "python"
    if not python.exists():
        raise SystemExit("--core-env %s: no bin/python there" % venv)
    version = subprocess.run([str(python), "-c", "from ansible.release import __version__ as v; print(v)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    return ".".join(version.split(".")[:2])


def version_key(core: str) -> tuple:
    return tuple(int(part) for part in core.split(".") if part.isdigit())


# -- the probe runs ---------------------------------------------------------------------------------------------------

def probe_runs(bench, workload, variant_list: list, inventory: Path) -> dict:
    """Untimed runs per core: the 20-task play with the task probe (all quick mode does); the floor and the one-task
    play with it (timestamps in the parent); with profiling, both with the task in the worker under cProfile and under
    -X importtime. Returns {core: figures}."""
    callback = {"ANSIBLE_CALLBACK_PLUGINS": str(PERF_DIR / "callbacks"), "ANSIBLE_CALLBACKS_ENABLED": "b2c_task_probe"}
    found = {}
    for core in sorted({variant.core for variant in variant_list}, key=version_key):
        by_tasks = {variant.tasks: variant for variant in variant_list if variant.core == core}
        bench.say("workload %d, ansible-core %s: task probe over the floor, one task and %d tasks" % (WORKLOAD, core, TASKS))
        run = bench.run(workload, by_tasks[TASKS], inventory, probe=False, extra_env=callback)
        figures = {"tasks": task_records(run.probe_dir)}
        if bench.args.quick:  # the suite's check: the imports of the 20 tasks, not the times
            found[core] = figures
            continue
        samples = PROFILE_SAMPLES if bench.args.profile else 1
        parents = {tasks: [_timed_parent(bench, workload, by_tasks[tasks], inventory, callback)
                           for _sample in range(samples)] for tasks in (0, 1)}
        figures["phases"] = {tasks: {name: statistics.median(_phases(parent)[name] for parent in samples_of)
                                     for name, _label in PHASES} for tasks, samples_of in parents.items()}
        figures["parent"] = {
            # play start -> the first task starts: the one-task play's first task also loads its action plugin (and
            # with it the module, our module_utils and requests) in the parent, before any worker is forked
            "to_first_task_ms": {tasks: statistics.median(1000.0 * (parent["tasks"][0][1] - parent["play_started"])
                                                          for parent in samples_of) for tasks, samples_of in parents.items()},
            # the parent's task start -> its result: the whole task, worker and all (the floor's is the debug task)
            "task_ms": {tasks: statistics.median(1000.0 * (parent["results"][0][1] - parent["tasks"][0][1])
                                                 for parent in samples_of) for tasks, samples_of in parents.items()},
            "samples": samples}
        if bench.args.profile:
            profiles = {0: [], 1: []}
            for _sample in range(PROFILE_SAMPLES):
                for tasks in (0, 1):
                    bench.say("workload %d, ansible-core %s: cProfile of the task in the worker, %s" % (
                        WORKLOAD, core, by_tasks[tasks].label))
                    run = bench.run(workload, by_tasks[tasks], inventory, probe=False,
                                    extra_env=dict(callback, B2C_BENCH_TASK_PROFILE="1"))
                    profiles[tasks].append(run_profile(run.probe_dir))
            figures["worker_profile"] = {tasks: median_profile(samples_of) for tasks, samples_of in profiles.items()}
            samples = []
            for _sample in range(bench.args.import_samples):
                pair = {}
                for tasks in (0, 1):
                    bench.say("workload %d, ansible-core %s: -X importtime, %s" % (WORKLOAD, core, by_tasks[tasks].label))
                    pair[tasks] = parse_importtime(bench.run(workload, by_tasks[tasks], inventory, probe=False,
                                                             extra_env={"PYTHONPROFILEIMPORTTIME": "1"}).output)
                samples.append(import_figures(pair[0], pair[1]))
            figures["imports"] = {name: statistics.median(sample[name] for sample in samples) for name in samples[0]
                                  if name not in ("ours_top", "ours_names")}
            figures["imports"]["ours_top"] = samples[0]["ours_top"]
            figures["imports"]["ours_compile_ms"], figures["imports"]["ours_files"] = compile_ms(samples[0]["ours_names"])
            figures["imports"]["compile_python"] = "%d.%d" % sys.version_info[:2]
        found[core] = figures
    return found


def _parent(probe_dir: Path) -> dict:
    return json.loads((probe_dir / "parent.json").read_text(encoding="utf-8"))


def _timed_parent(bench, workload, variant, inventory: Path, callback: dict) -> dict:
    """A run with the probe's callback; its parent.json with the benchmark's own clock readings around the run added
    (time.perf_counter is one monotonic clock for every process of the machine)."""
    before = time.perf_counter()
    run = bench.run(workload, variant, inventory, probe=False, extra_env=callback)
    after = time.perf_counter()
    return dict(_parent(run.probe_dir), before=before, after=after)


# The phases of one ansible-playbook run, from the parent's timestamps: (key, label).
PHASES = (
    ("start", "start-up to the callback's load: the interpreter, ansible-core's imports, the CLI, the inventory"),
    ("to_play", "callback loaded → the play starts: the playbook parsed, the play set up"),
    ("to_first_task", "play start → the first task starts: the strategy loads its action plugin (ours: with the module, "
                      "our module_utils and requests)"),
    ("tasks", "the first task's start → the last result: the tasks, worker and all"),
    ("to_stats", "last result → the play recap"),
    ("exit", "play recap → the process has exited: Python's shutdown, Ansible's clean-up"),
)


def _phases(parent: dict) -> dict:
    """Milliseconds of each of PHASES in one run (the bench's readings frame the run: they include its set-up of the
    run, a few ms, in start)."""
    first_task, last_result = parent["tasks"][0][1], parent["results"][-1][1]
    marks = [parent["before"], parent["loaded"], parent["play_started"], first_task, last_result, parent["stats"],
             parent["after"]]
    return {name: 1000.0 * (marks[index + 1] - marks[index]) for index, (name, _label) in enumerate(PHASES)}


def task_records(probe_dir: Path) -> list:
    """Per task, in order: its name, whether run() ran in a worker, run()'s time, the time from the parent's task start
    to run() and from run()'s end to the parent's result, and what the worker imported during run()."""
    parent = json.loads((probe_dir / "parent.json").read_text(encoding="utf-8"))
    workers = sorted((json.loads(path.read_text(encoding="utf-8")) for path in probe_dir.glob("task-*.json")),
                     key=lambda record: record["started"])
    records = []
    results = list(parent["results"])
    for (name, queued), worker in zip(parent["tasks"], workers):
        returned = next((at for task, at in results if task == name), None)
        records.append({
            "task": name, "in_worker": worker["in_worker"], "run_ms": 1000.0 * (worker["ended"] - worker["started"]),
            "to_run_ms": 1000.0 * (worker["started"] - queued),
            "to_result_ms": 1000.0 * (returned - worker["ended"]) if returned is not None else None,
            "loaded_at_start": worker["loaded_at_start"],
            "paid": sorted({name for name in worker["imported_during_run"] if name.split(".")[0] in PAID
                            or name.startswith(OURS)}),
            "imports_during_run": len(worker["imported_during_run"]),
            "imported": sorted(set(worker["imported_during_run"])),
            "imports_before_run": len(worker.get("imported_before_run", [])),
            "imported_before": sorted(set(worker.get("imported_before_run", []))),
        })
    if len(workers) != len(parent["tasks"]):
        raise RuntimeError("task probe: %d task starts, %d run() records in %s" % (
            len(parent["tasks"]), len(workers), probe_dir))
    return records


# What the cProfile of the task in the worker is split into: (label, file suffix, function) of the cumulative entries
# to report (the largest entry of that name, where several match).
PROFILE_SAMPLES = 3  # cProfile runs of the floor and the one-task play per core: a busy machine's pauses land in one
PROFILE_ITEMS = (
    ("the whole task in the worker: TaskExecutor.run", "ansible/executor/task_executor.py", "run"),
    ("TaskExecutor._execute", "ansible/executor/task_executor.py", "_execute"),
    ("templating and validating the task (Task.post_validate)", "ansible/playbook/task.py", "post_validate"),
    ("templating the task's arguments (Task._post_validate_args; 2.19 and later: with the module_defaults)",
     "ansible/playbook/task.py", "_post_validate_args"),
    ("module_defaults templated and merged (get_action_args_with_defaults, before 2.19)",
     "ansible/executor/module_common.py", "get_action_args_with_defaults"),
    ("Jinja compiling templates (Environment.compile; the worker's own template cache starts empty)",
     "jinja2/environment.py", "compile"),
    ("loading the connection (TaskExecutor._get_connection)", "ansible/executor/task_executor.py", "_get_connection"),
    ("loading the action plugin (TaskExecutor._get_action_handler_with_module_context)",
     "ansible/executor/task_executor.py", "_get_action_handler_with_module_context"),
    ("the action plugin's run(): GraphAction.run (debug: ActionModule.run)", "", "run:action"),
    ("ActionBase.run (ansible-core's checks of the task)", "ansible/plugins/action/__init__.py", "run"),
    ("whether to run in the worker (_why_not_in_process)", "plugin_utils/_in_process.py", "_why_not_in_process"),
    ("arguments as AnsiballZ sends them (as_sent)", "plugin_utils/_in_process.py", "as_sent"),
    ("validation: ArgumentSpecValidator.validate", "module_utils/common/arg_spec.py", "validate"),
    ("the module's flow (all below)", "plugin_utils/_in_process.py", "worker_result"),
    ("token: TokenProvider.token (the token cache read)", "module_utils/_core/auth.py", "token"),
    ("Graph request(s): requests Session.send (connect, TLS, 30 ms latency, read)", "requests/sessions.py", "send"),
    ("connection: TCP connect and TLS handshake (urllib3 HTTPSConnection.connect)", "urllib3/connection.py", "connect"),
    ("TCP connect", "urllib3/util/connection.py", "create_connection"),
    ("TLS handshake (do_handshake)", "~", "<method 'do_handshake' of '_ssl._SSLSocket' objects>"),
    ("TLS context: CA bundle loading (load_verify_locations)", "~",
     "<method 'load_verify_locations' of '_ssl._SSLContext' objects>"),
    ("imports during run() (_find_and_load)", "<frozen importlib._bootstrap>", "_find_and_load"),
)


def run_profile(probe_dir: Path) -> dict:
    """The cProfile of run() of the one-task play: the whole, and the cumulative time of each PROFILE_ITEMS entry."""
    files = sorted(probe_dir.glob("executor-*.prof"))
    if not files:
        raise RuntimeError("no cProfile of the task's worker in %s" % probe_dir)
    stats = pstats.Stats(str(files[0])).stats  # type: ignore[attr-defined]
    total = max(cumulative for (_calls, _n, _own, cumulative, _callers) in stats.values())
    items = []
    for label, suffix, function in PROFILE_ITEMS:
        if function == "run:action":  # the action plugin's run(), ours or debug's
            runs = ("plugin_utils/_in_process.py", "ansible/plugins/action/debug.py")
            matches = [(ncalls, cumulative) for (filename, _line, name), (_c, ncalls, _own, cumulative, _callers)
                       in stats.items() if name == "run" and filename.endswith(runs)]
        else:
            matches = [(ncalls, cumulative) for (filename, _line, name), (_c, ncalls, _own, cumulative, _callers)
                       in stats.items() if name == function and filename.endswith(suffix)]
        if matches:
            items.append({"item": label, "ms": 1000.0 * max(cumulative for _n, cumulative in matches),
                          "calls": sum(ncalls for ncalls, _cumulative in matches)})
    return {"total_ms": 1000.0 * total, "items": items}


def median_profile(profiles: list) -> dict:
    """Per item, the median over the samples (an item missing from a sample counts as 0 ms there)."""
    labels = [item["item"] for item in profiles[0]["items"]]
    for profile in profiles[1:]:
        labels += [item["item"] for item in profile["items"] if item["item"] not in labels]
    items = []
    for label, _suffix, _function in PROFILE_ITEMS:
        if label not in labels:
            continue
        found = [next((item for item in profile["items"] if item["item"] == label), None) for profile in profiles]
        items.append({"item": label, "ms": statistics.median(item["ms"] if item else 0.0 for item in found),
                      "calls": max(item["calls"] for item in found if item)})
    return {"total_ms": statistics.median(profile["total_ms"] for profile in profiles), "items": items,
            "samples": len(profiles)}


IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def parse_importtime(output: str) -> list:
    """(self us, cumulative us, depth, name) of every -X importtime line (of every process of the run)."""
    lines = []
    for line in output.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            lines.append((int(match.group(1)), int(match.group(2)), len(match.group(3)) // 2, match.group(4)))
    return lines


def import_figures(floor: list, task: list) -> dict:
    """Milliseconds of imports: all of the floor run, all of the one-task run, the difference; in the one-task run the
    action plugin's import (cumulative) and, inside it, requests, msal, cryptography and our own modules' self time."""
    def cumulative(lines, name):
        return sum(cum for _self, cum, _depth, found in lines if found == name) / 1000.0

    figures = {"floor_total_ms": sum(own for own, *_rest in floor) / 1000.0,
               "task_total_ms": sum(own for own, *_rest in task) / 1000.0,
               # the action plugin module itself is executed by ansible-core's plugin loader (no import line): what it
               # imports shows at the top level, our module and _in_process with everything under them
               "action_plugin_ms": sum(cum for _self, cum, depth, name in task if depth == 0 and name.startswith(OURS))
               / 1000.0,
               "requests_ms": cumulative(task, "requests"),
               "msal_ms": cumulative(task, "msal"),
               "cryptography_ms": cumulative(task, "cryptography"),
               "ours_self_ms": sum(own for own, _cum, _depth, name in task if name.startswith(OURS)) / 1000.0}
    figures["added_ms"] = figures["task_total_ms"] - figures["floor_total_ms"]
    ours = sorted(((own / 1000.0, name) for own, _cum, _depth, name in task if name.startswith(OURS)), reverse=True)
    figures["ours_top"] = [(name[len(OURS) + 1:], own) for own, name in ours[:6]]
    figures["ours_names"] = [name for _own, name in ours]
    return figures


def compile_ms(names: list) -> tuple:
    """Milliseconds to compile() the source of our modules `names` (best of 5 each, in this interpreter): ansible-core's
    collection loader compiles a collection's Python source on every import, it keeps no .pyc. Returns (ms, files)."""
    total, files = 0.0, 0
    for name in names:
        relative = Path(*name.split(".")[3:])
        path = REPO_ROOT / relative.with_suffix(".py")
        if not path.exists():
            path = REPO_ROOT / relative / "__init__.py"
        if not path.exists():
            continue
        source = path.read_text(encoding="utf-8")
        files += 1
        best = None
        for _repeat in range(5):
            started = time.perf_counter()
            compile(source, str(path), "exec", dont_inherit=True)
            took = time.perf_counter() - started
            best = took if best is None else min(best, took)
        total += best
    return 1000.0 * total, files


# -- the report -------------------------------------------------------------------------------------------------------

def _median(runs: list) -> float:
    return statistics.median(run.wall_s for run in runs)


def per_core(measured) -> list:
    """(core, floor s, one task s, 20 tasks s) of every core measured, oldest first."""
    cores = sorted({key.split("-", 1)[1] for key in measured.runs}, key=version_key)
    rows = []
    for core in cores:
        runs = [measured.runs.get("%s-%s" % (name, core)) for name in ("floor", "one", "many")]
        if all(runs):
            rows.append((core, *(_median(item) for item in runs)))
    return rows


def _paid_after_first(tasks: list) -> list:
    return [record for record in tasks[1:] if record["paid"]]


def summary(measured) -> list:
    """The "In short" line of workload 8: per core, one task against the floor and each task after the first."""
    rows = per_core(measured) if measured else []
    if not rows:
        return []
    return ["- Workload %d (%s): one no-change `b2c_keyset_key` task takes %s; each task after the first adds %s." % (
        WORKLOAD, measured.workload.title.split(":", 1)[0], ", ".join(
            "%.2f× the `ansible-playbook` floor on ansible-core %s (%+.2f s)" % (one / floor, core, one - floor)
            for core, floor, one, _many in rows), ", ".join(
            "%.3f s on %s" % ((many - one) / (TASKS - 1), core) for core, _floor, one, many in rows))]


def target_rows(measured, extra: dict, met) -> list:
    """The Targets rows of workload 8: per core, the no-change task against the floor, and no import after the first."""
    rows = []
    probes = extra.get("overhead") or {}
    for core, floor, one, _many in per_core(measured):
        rows.append(("no-change task ≤ %.2f× floor (workload %d, ansible-core %s)" % (TARGET_RATIO, WORKLOAD, core),
                     "%.2f s vs %.2f s: %.2f× (%+.2f s)" % (one, floor, one / floor, one - floor),
                     met(one / floor <= TARGET_RATIO)))
        tasks = (probes.get(core) or {}).get("tasks")
        if tasks:
            paid = _paid_after_first(tasks)
            rows.append(("%d separate tasks: none after the first imports requests, msal, cryptography or our code "
                         "(workload %d, ansible-core %s)" % (len(tasks), WORKLOAD, core),
                         "%d of %d later tasks imported any" % (len(paid), len(tasks) - 1), met(not paid)))
    return rows


def section(measured, extra: dict) -> list:
    workload = measured.workload
    lines = ["## Workload %d: %s" % (workload.number, workload.title), ""]
    lines.append("One host, the local connection, the controller's Python, token cache on (warm): the default path, "
                 "the module runs in the worker Ansible forks for the task. The floor is the same play with one "
                 "`debug` task instead (it forks a worker too). Each ansible-core runs in its own environment, and "
                 "its ratios are against the floor measured in that environment in the same run. *per task* is "
                 "(%d tasks − floor) / %d; *each later task* is (%d tasks − one task) / %d." % (
                     TASKS, TASKS, TASKS, TASKS - 1))
    lines.append("")
    lines.append("| ansible-core | floor s | one task s | one task / floor | above the floor s | %d tasks s | "
                 "per task s | each later task s |" % TASKS)
    lines.append("|---|---|---|---|---|---|---|---|")
    for core, floor, one, many in per_core(measured):
        lines.append("| %s | %.2f | %.2f | %.2f× | %.2f | %.2f | %.3f | %.3f |" % (
            core, floor, one, one / floor, one - floor, many, (many - floor) / TASKS, (many - one) / (TASKS - 1)))
    lines.append("")
    probes = extra.get("overhead") or {}
    for core in sorted(probes, key=version_key):
        lines.extend(_core_probe(core, probes[core]))
    return lines


def _core_probe(core: str, figures: dict) -> list:
    lines = ["### Where a task's time goes, ansible-core %s" % core, ""]
    tasks = figures.get("tasks") or []
    if tasks:
        first, later = tasks[0], tasks[1:]
        paid = _paid_after_first(tasks)
        lines.append("The %d-task play under the task probe (`tests/perf/callbacks/b2c_task_probe.py`, an untimed run): "
                     "every task's `run()` ran in %s; the first task's worker imported %s during `run()`; %s." % (
                         len(tasks), "a worker" if all(record["in_worker"] for record in tasks) else
                         "**not always a worker**", ", ".join(first["paid"]) or "none of requests, msal, "
                         "cryptography or our code", "no later task imported any of them" if not paid else
                         "**%d later tasks did** (%s)" % (len(paid), ", ".join(sorted({n for r in paid for n in r["paid"]})))))
        others = sorted({name for record in tasks for name in record.get("imported", [])} - {
            name for record in tasks for name in record["paid"]})
        if others:
            lines.append("")
            lines.append("Other modules imported inside `run()`, in the worker (so paid by every task): %s." % ", ".join(
                "`%s`" % name for name in others))
        before = sorted({name for record in later for name in record.get("imported_before", [])})
        if before:
            lines.append("")
            lines.append("Modules a later task's worker imported before `run()` (ansible-core's own, while it prepares "
                         "the task): %s." % ", ".join("`%s`" % name for name in before))
        lines.append("")
        lines.append("| | first task | later tasks, median |")
        lines.append("|---|---|---|")
        to_run = "parent's task start → `run()` starts in the worker (queue, fork, TaskExecutor), ms"
        for key, label in (("to_run_ms", to_run),
                           ("run_ms", "the action plugin's `run()`, ms"),
                           ("to_result_ms", "`run()` ends → the parent has the result, ms"),
                           ("imports_during_run", "modules imported during `run()`"),
                           ("imports_before_run", "modules imported in the worker before `run()` (ansible-core's)")):
            values = [record[key] for record in later if record[key] is not None]
            lines.append("| %s | %s | %s |" % (label, _num(first[key]), _num(statistics.median(values)) if values else "–"))
        lines.append("")
    phases = figures.get("phases")
    if phases:
        floor, task = (phases.get(key) or phases.get(str(key)) for key in (0, 1))
        lines.append("The whole run, phase by phase (timestamps of the probe's callback in `ansible-playbook`'s parent "
                     "and the benchmark's own around the run, one monotonic clock; median of %d untimed runs each):" % (
                         (figures.get("parent") or {}).get("samples", 1)))
        lines.append("")
        lines.append("| phase | floor (debug), ms | one b2c_keyset_key task, ms | difference, ms |")
        lines.append("|---|---|---|---|")
        for name, label in PHASES:
            lines.append("| %s | %.0f | %.0f | %+.0f |" % (label, floor[name], task[name], task[name] - floor[name]))
        lines.append("| the whole run | %.0f | %.0f | %+.0f |" % (
            sum(floor.values()), sum(task.values()), sum(task.values()) - sum(floor.values())))
        lines.append("")
    parent = figures.get("parent")
    if parent:
        first, task = ({int(key): value for key, value in parent[name].items()} for name in ("to_first_task_ms", "task_ms"))
        lines.append("Timestamps in `ansible-playbook`'s parent process (the probe's callback, untimed runs of the floor "
                     "and the one-task play, median of %d each): from the play's start to its first task's start %.0f ms for the floor, "
                     "%.0f ms for the one-task play (**%+.0f ms**: the strategy loads the task's action plugin there, "
                     "which imports the module, our module_utils and requests, once, before the first worker is "
                     "forked); from the task's start to its result (worker and all) %.0f ms for `debug`, %.0f ms for "
                     "`b2c_keyset_key` (**%+.0f ms**)." % (parent.get("samples", 1), first[0], first[1], first[1] - first[0], task[0], task[1],
                                                           task[1] - task[0]))
        lines.append("")
    imports = figures.get("imports")
    if imports:
        lines.append("Imports (`-X importtime` of the whole `ansible-playbook` run, every process; median of the "
                     "samples): the one-task run imports %.0f ms, the floor %.0f ms, **%.0f ms more**. In the one-task "
                     "run, what the action plugin imports (in the parent, before the first worker is forked: the "
                     "module, `_in_process`, our module_utils and what they import) takes %.0f ms, of which `requests` %.0f ms, "
                     "our own modules' self time %.0f ms, msal %.0f ms, cryptography %.0f ms." % (
                         imports["task_total_ms"], imports["floor_total_ms"], imports["added_ms"],
                         imports["action_plugin_ms"], imports["requests_ms"], imports["ours_self_ms"],
                         imports["msal_ms"], imports["cryptography_ms"]))
        if imports.get("ours_top"):
            lines.append("")
            lines.append("Our modules with the most import self time (one sample): %s. ansible-core's collection loader "
                         "compiles a collection's source on every import (it keeps no .pyc): compiling the %d files of "
                         "ours this task imports takes %.0f ms here (best of 5 each, Python %s)." % (
                             ", ".join("`%s` %.1f ms" % (name, own) for name, own in imports["ours_top"]),
                             imports.get("ours_files", 0), imports.get("ours_compile_ms", 0.0),
                             imports.get("compile_python", "?")))
        lines.append("")
    profiles = figures.get("worker_profile")
    if profiles:
        floor = {item["item"]: item for item in (profiles.get(0) or profiles.get("0"))["items"]}
        task = {item["item"]: item for item in (profiles.get(1) or profiles.get("1"))["items"]}
        samples = (profiles.get(1) or profiles.get("1")).get("samples", 1)
        lines.append("The task in its worker under cProfile (`TaskExecutor.run` wrapped by the probe), the floor's "
                     "`debug` task against the one `b2c_keyset_key` task: cumulative ms, median of %d runs each; "
                     "cProfile's own overhead is included, so read them as shares; the emulator adds its latency to "
                     "every request." % samples)
        lines.append("")
        lines.append("| item | debug (floor), ms | b2c_keyset_key, ms | calls |")
        lines.append("|---|---|---|---|")
        for label, _suffix, _function in PROFILE_ITEMS:
            if label in floor or label in task:
                lines.append("| %s | %s | %s | %s |" % (
                    label, "%.1f" % floor[label]["ms"] if label in floor else "–",
                    "%.1f" % task[label]["ms"] if label in task else "–",
                    task[label]["calls"] if label in task else floor[label]["calls"]))
        lines.append("")
    return lines


def _num(value) -> str:
    return "%d" % value if isinstance(value, int) else "%.1f" % value
