# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run one Ansible module process (an AnsiballZ script) and record what it cost.

The benchmark points ansible_python_interpreter at a two-line shell wrapper that execs
``python module_probe.py AnsiballZ_<module>.py``. The module then runs in this same process (AnsiballZ runs modules
in-process), and at exit one JSON file per process lands in $B2C_BENCH_PROBE_DIR with:
peak RSS (getrusage RUSAGE_SELF), CPU and wall time, and whether msal / cryptography / requests were imported.

Optional, for the profiling runs only:
- B2C_BENCH_PROFILE=1: cProfile of the main thread and of every thread the module starts, dumped next to the record.
- python -X importtime (the wrapper adds it when B2C_BENCH_IMPORTTIME is set): the import-time report goes to a file instead of the module's
  stderr; the line "probe: module starts" marks where the module's own imports begin.
"""

import os
import sys
import time

STARTED = time.perf_counter()
PROBE_DIR = os.environ.get("B2C_BENCH_PROBE_DIR", "")
IMPORT_LOG = None
if PROBE_DIR and "importtime" in getattr(sys, "_xoptions", {}):
    # Python writes the import-time lines to file descriptor 2: send it to a file, away from the module's stderr.
    IMPORT_LOG = open(os.path.join(PROBE_DIR, "%d.imports" % os.getpid()), "w", encoding="utf-8")  # pylint: disable=consider-using-with
    sys.stderr.flush()
    os.dup2(IMPORT_LOG.fileno(), 2)

import atexit  # noqa: E402  (after the redirection, so their import lines are captured too)
import resource  # noqa: E402
import runpy  # noqa: E402
import threading  # noqa: E402

WATCHED_PACKAGES = ("msal", "cryptography", "requests", "urllib3", "jwt")
PROFILERS = []


def _profile_threads():
    """Profile the main thread and every thread the module starts.

    Before Python 3.12 a cProfile profiler sees only the thread that enabled it, so each thread gets its own; from
    3.12 on cProfile uses sys.monitoring, which covers every thread and allows only one active profiler.
    """
    import cProfile  # pylint: disable=import-outside-toplevel

    if sys.version_info < (3, 12):
        original_run = threading.Thread.run

        def profiled_run(self):
            profiler = cProfile.Profile()
            PROFILERS.append(profiler)
            profiler.runcall(original_run, self)

        threading.Thread.run = profiled_run
    main = cProfile.Profile()
    PROFILERS.append(main)
    main.enable()


def _record(script):
    for profiler in PROFILERS:
        profiler.disable()
    if not PROBE_DIR:
        return
    import json  # pylint: disable=import-outside-toplevel  # only at exit: not charged to the module's imports

    usage = resource.getrusage(resource.RUSAGE_SELF)
    entry = {
        "pid": os.getpid(),
        "module": os.path.basename(script).replace("AnsiballZ_", "").rsplit(".py", 1)[0],
        "wall_s": round(time.perf_counter() - STARTED, 4),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 4),
        "max_rss_kb": usage.ru_maxrss,  # kilobytes on Linux
        "imported": {name: name in sys.modules for name in WATCHED_PACKAGES},
        "modules_loaded": len(sys.modules),
        "threads_profiled": max(0, len(PROFILERS) - 1),
    }
    for index, profiler in enumerate(PROFILERS):
        profiler.dump_stats(os.path.join(PROBE_DIR, "%d.%d.pstats" % (os.getpid(), index)))
    with open(os.path.join(PROBE_DIR, "%d.json" % os.getpid()), "w", encoding="utf-8") as handle:
        json.dump(entry, handle)
    if IMPORT_LOG is not None:
        IMPORT_LOG.close()


def main():
    args = sys.argv[1:]
    if not args or args[0] == "-":
        # Pipelining: the module arrives on stdin.
        script, source = "<stdin>", sys.stdin.read()
    else:
        script, source = args[0], None
    atexit.register(_record, script)
    if PROBE_DIR and os.environ.get("B2C_BENCH_PROFILE"):
        _profile_threads()
    if IMPORT_LOG is not None:
        IMPORT_LOG.write("probe: module starts\n")
        IMPORT_LOG.flush()
    sys.argv = args or [""]
    if source is None:
        runpy.run_path(script, run_name="__main__")
    else:
        exec(compile(source, script, "exec"), {"__name__": "__main__"})  # pylint: disable=exec-used


if __name__ == "__main__":
    main()
