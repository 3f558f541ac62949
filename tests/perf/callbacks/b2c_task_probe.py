# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A probe of the benchmark (tests/perf/bench.py, workload 8), enabled only in its untimed probe runs: what each task of
the collection costs in the worker, and whether it paid for imports.

Loaded in ansible-playbook's parent process before any worker is forked, it

- adds an audit hook that notes every module import (the "import" audit event fires only when a module is not in
  sys.modules yet, that is when it is really imported), in whichever process: workers inherit it by fork;
- at the start of the first task whose action plugin the strategy has loaded, wraps the collection's
  GraphAction.run (plugins/plugin_utils/_in_process.py) in the parent: every worker forked afterwards inherits the
  wrapper, which records when run() started and ended, which of the watched modules were already in sys.modules then,
  and what the worker imported during run();
- with B2C_BENCH_TASK_PROFILE=1, wraps ansible-core's TaskExecutor.run (the whole task in the worker: templating,
  module_defaults, loading the connection and the action plugin, the action's run()) in cProfile, for any task
  (the floor's debug task too), dumped to executor-<pid>.prof.

One JSON file per worker (task-<pid>.json, written at once: a worker ends with os._exit) and one of the parent
(parent.json) land in $B2C_BENCH_PROBE_DIR. Times are time.perf_counter() values, one clock for every process.
The collection's code is not changed: the wrapper calls the original run().
"""

from __future__ import annotations

import json
import os
import sys
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: b2c_task_probe
type: aggregate
short_description: per-task probe of the entra.b2c benchmark
description: Records, per task of the collection, the time of its action plugin's run() and the imports it paid.
"""

IN_PROCESS = "ansible_collections.entra.b2c.plugins.plugin_utils._in_process"
WATCHED = ("requests", "urllib3", "msal", "cryptography", "ansible_collections.entra.b2c.plugins.module_utils._core.graph",
           "ansible_collections.entra.b2c.plugins.module_utils._core.auth",
           "ansible_collections.entra.b2c.plugins.modules.b2c_keyset_key")
PARENT_PID = os.getpid()
IMPORTS: list = []  # (perf_counter, module name) of every import in this process (and, inherited, its forks)
TASK_MARK = [0]  # len(IMPORTS) at the parent's last task start: a worker's imports before run() follow it


def _audit(event, args):
    if event == "import":
        IMPORTS.append((time.perf_counter(), args[0]))


def _write(name: str, data: dict) -> None:
    directory = os.environ.get("B2C_BENCH_PROBE_DIR")
    if directory:
        with open(os.path.join(directory, name), "w", encoding="utf-8") as handle:
            json.dump(data, handle)


def _wrap(original):
    def run(self, tmp=None, task_vars=None):
        started = time.perf_counter()
        before = {name: name in sys.modules for name in WATCHED}
        already = len(IMPORTS)
        try:
            return original(self, tmp, task_vars)
        finally:
            ended = time.perf_counter()
            pid = os.getpid()
            _write("task-%d.json" % pid, {
                "pid": pid, "in_worker": pid != PARENT_PID, "task": self._task.get_name(), "started": started,
                "ended": ended, "loaded_at_start": before, "imported_during_run": [name for _t, name in IMPORTS[already:]],
                "imported_before_run": [name for _t, name in IMPORTS[TASK_MARK[0]:already]]})

    run.b2c_bench_probe = True
    return run


def _profiled(original):
    def run(self):
        import cProfile  # pylint: disable=import-outside-toplevel

        profiler = cProfile.Profile()
        try:
            return profiler.runcall(original, self)
        finally:
            profiler.dump_stats(os.path.join(os.environ["B2C_BENCH_PROBE_DIR"], "executor-%d.prof" % os.getpid()))

    run.b2c_bench_probe = True
    return run


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "b2c_task_probe"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loaded = time.perf_counter()
        sys.addaudithook(_audit)
        if os.environ.get("B2C_BENCH_TASK_PROFILE"):
            from ansible.executor.task_executor import TaskExecutor  # pylint: disable=import-outside-toplevel

            if not getattr(TaskExecutor.run, "b2c_bench_probe", False):
                TaskExecutor.run = _profiled(TaskExecutor.run)
        self.tasks: list = []  # (name, perf_counter at v2_playbook_on_task_start)
        self.results: list = []  # (name, perf_counter when the parent got the result)
        self.wrapped_at = None
        self.play_started = None
        self.loaded_before_first_task = None

    def v2_playbook_on_play_start(self, play):
        if self.play_started is None:
            self.play_started = time.perf_counter()

    def v2_playbook_on_task_start(self, task, is_conditional):
        now = time.perf_counter()
        if self.loaded_before_first_task is None:  # the strategy has loaded the first task's action plugin by now
            self.loaded_before_first_task = {name: name in sys.modules for name in WATCHED}
        module = sys.modules.get(IN_PROCESS)
        if module is not None and self.wrapped_at is None:
            action = module.GraphAction
            if not getattr(action.run, "b2c_bench_probe", False):
                action.run = _wrap(action.run)
            self.wrapped_at = len(self.tasks)
        self.tasks.append((task.get_name(), now))
        TASK_MARK[0] = len(IMPORTS)

    def _result(self, result):
        self.results.append((result._task.get_name(), time.perf_counter()))  # pylint: disable=protected-access

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = v2_runner_on_unreachable = _result

    def v2_playbook_on_stats(self, stats):
        _write("parent.json", {
            "pid": PARENT_PID, "loaded": self.loaded, "stats": time.perf_counter(), "play_started": self.play_started,
            "tasks": self.tasks, "results": self.results, "wrapped_at_task": self.wrapped_at,
            "loaded_before_first_task": self.loaded_before_first_task,
            "imports": [(at, name) for at, name in IMPORTS
                        if name.split(".")[0] in ("requests", "urllib3", "msal", "cryptography", "ansible_collections")]})
