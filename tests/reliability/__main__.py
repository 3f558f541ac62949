# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the fault matrix, the soak and the bad-input table against the emulator; write docs/reliability.md.

    PYTHONPATH=tests python -m reliability [--out docs/reliability.md] [--runs 500] [--seed N]
                                           [--only matrix,soak,bad-input,replication]

Uses ansible-playbook from this interpreter's bin directory. Exits 1 when a promise is broken (a duplicate or extra
key, an unclean failure, a bad value not refused before any request, a secret in any output), 0 otherwise.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import bad_input, matrix, replication, report, soak
from .harness import REPO_ROOT, LeakTally, counting_runner, load_e2e_harness, make_upload_material

SECTIONS = ("matrix", "soak", "bad-input", "replication")


def log(text: str) -> None:
    sys.stderr.write("[reliability] %s\n" % text)
    sys.stderr.flush()


def parse_args(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m reliability", description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--out", default=str(REPO_ROOT / "docs" / "reliability.md"), help="the page to write")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated: %s" % ", ".join(SECTIONS))
    parser.add_argument("--runs", type=int, default=500, help="soak runs (module executions)")
    parser.add_argument("--keysets", type=int, default=10, help="soak key sets (runs per round)")
    parser.add_argument("--seed", type=int, default=soak.SoakConfig.seed, help="soak RNG seed")
    parser.add_argument("--forks", type=int, default=12, help="parallel module runs of the matrix play")
    parser.add_argument("--parallel", type=int, default=4,
                        help="matrix cases that run alone (token, discovery, list), each on its own emulator, at once")
    parser.add_argument("--verbosity", type=int, default=3, help="ansible-playbook -v count (default -vvv)")
    parser.add_argument("--workdir", help="keep playbooks, inventories and results here (default: a temporary dir)")
    args = parser.parse_args(argv)
    args.sections = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error("--only: unknown section(s) %s; choose from %s" % (", ".join(sorted(unknown)), ", ".join(SECTIONS)))
    return args


def run_matrix(emulator_class, workdir: Path, tally: LeakTally, args) -> list:
    """Keyed cases in one play on one emulator while the cases that must run alone use emulators of their own."""
    material = make_upload_material()
    uploaded_secret = "rel-" + secrets.token_urlsafe(18)
    cases = matrix.all_cases()
    keyed = [case for case in cases if case.call.keyed]
    alone = [case for case in cases if not case.call.keyed]

    def run_alone(case):
        with emulator_class(latency_ms=0) as emulator:
            runner = counting_runner(emulator, workdir / case.name, tally, args.verbosity)
            return matrix.run_cases(runner, [case], material, uploaded_secret)

    with ThreadPoolExecutor(max_workers=max(1, args.parallel)) as pool:
        futures = [pool.submit(run_alone, case) for case in alone]
        log("matrix: %d cases in one play (forks %d), %d alone (%d at a time)" % (
            len(keyed), args.forks, len(alone), args.parallel))
        with emulator_class(latency_ms=0) as emulator:
            runner = counting_runner(emulator, workdir / "matrix", tally, args.verbosity)
            outcomes = matrix.run_cases(runner, keyed, material, uploaded_secret, forks=args.forks)
        for future in futures:
            outcomes += future.result()
    order = {(case.call.key, case.fault.key, case.intensity): index for index, case in enumerate(cases)}
    return sorted(outcomes, key=lambda outcome: order[(outcome.case.call.key, outcome.case.fault.key,
                                                       outcome.case.intensity)])


def run_soak(emulator_class, workdir: Path, tally: LeakTally, args) -> soak.SoakReport:
    config = soak.SoakConfig(runs=args.runs, keysets=args.keysets, seed=args.seed)

    def progress(number, rounds, current):
        if number % 5 == 0 or number == rounds:
            log("soak: round %d/%d, %d runs, extra keys %d, problems %d" % (
                number, rounds, current.runs, current.extra_keys, len(current.problems)))

    with emulator_class(latency_ms=0) as emulator:
        runner = counting_runner(emulator, workdir / "soak", tally, args.verbosity)
        return soak.run_soak(runner, config, progress)


def run_bad_input(emulator_class, workdir: Path, tally: LeakTally, args) -> bad_input.TableRun:
    """One play per module (as the suite does), the cases numbered through."""
    cases = bad_input.table()
    log("bad input: %d cases" % len(cases))
    total = bad_input.TableRun([], [])
    with emulator_class(latency_ms=0) as emulator:
        runner = counting_runner(emulator, workdir / "bad-input", tally, args.verbosity)
        for module in bad_input.MODULES:
            part = bad_input.run_table(runner, [case for case in cases if case.module == module],
                                       first_number=len(total.verdicts) + 1)
            total.verdicts += part.verdicts
            total.unclaimed += part.unclaimed
            total.isolated += part.isolated
    return total


def run_replication(emulator_class, workdir: Path, tally: LeakTally, args) -> replication.ReplicationReport:
    with emulator_class(latency_ms=0) as emulator:
        runner = counting_runner(emulator, workdir / "replication", tally, args.verbosity)
        return replication.run_replication(runner, make_upload_material(), "rel-" + secrets.token_urlsafe(18),
                                           progress=lambda text: log("replication: " + text))


def describe_environment() -> dict:
    def output(*command) -> str:
        try:
            return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = output("git", "rev-parse", "--short", "HEAD") or "unknown"
    if output("git", "status", "--porcelain", "--untracked-files=no", "--", "plugins"):
        commit += " with local changes to plugins/"
    import ansible.release  # pylint: disable=import-outside-toplevel  # the driver's own ansible-core
    try:
        import msal  # pylint: disable=import-outside-toplevel
        msal_version = msal.__version__
    except ImportError:
        msal_version = "missing"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "ansible_core": ansible.release.__version__,
        "python": platform.python_version(),
        "msal": msal_version,
        "platform": platform.system(),
        "cores": os.cpu_count(),
    }


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from emulator import Emulator  # pylint: disable=import-outside-toplevel  # tests/ is on sys.path (see harness)

    load_e2e_harness()
    tally = LeakTally()
    started = time.monotonic()
    meta = describe_environment()
    meta["command"] = "make reliability"
    meta["argv"] = "python -m reliability " + " ".join(sys.argv[1:] if argv is None else argv)
    results = report.Results(meta=meta)
    with tempfile.TemporaryDirectory(prefix="entra-b2c-reliability-") as temporary:
        workdir = Path(args.workdir or temporary)
        if "matrix" in args.sections:
            section_start = time.monotonic()
            results.outcomes = run_matrix(Emulator, workdir, tally, args)
            log("matrix: %d cases in %.0f s, %d broken promises, %d duplicate keys" % (
                len(results.outcomes), time.monotonic() - section_start, len(results.matrix_problems),
                results.duplicates))
        if "soak" in args.sections:
            section_start = time.monotonic()
            results.soak = run_soak(Emulator, workdir, tally, args)
            log("soak: %d runs in %.0f s, extra keys %d, problems %d" % (
                results.soak.runs, time.monotonic() - section_start, results.soak.extra_keys,
                len(results.soak.problems)))
        if "bad-input" in args.sections:
            section_start = time.monotonic()
            results.table = run_bad_input(Emulator, workdir, tally, args)
            log("bad input: %d cases in %.0f s, %d problems" % (
                len(results.table.verdicts), time.monotonic() - section_start, len(results.bad_input_problems)))
        if "replication" in args.sections:
            results.replication = run_replication(Emulator, workdir, tally, args)
            log("replication: %d runs in %.0f s, overshoot %s, %d problems" % (
                len(results.replication.runs), results.replication.seconds,
                replication.summarize(results.replication.overshoots), len(results.replication.problems)))
    meta["seconds"] = time.monotonic() - started
    results.runs_scanned, results.bytes_scanned = tally.runs_scanned, tally.bytes_scanned
    results.secrets_known, results.leak_hits = len(tally.known), sorted(set(tally.hits))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.render(results), encoding="utf-8")
    log("wrote %s: %d runs scanned, %d secrets known, %d hits; %s" % (
        out, tally.runs_scanned, len(tally.known), len(tally.hits),
        "PROMISES BROKEN (see its Findings)" if results.failed else "no promise broken"))
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
