# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Workload 10 of the benchmark (tests/perf/bench.py): exporting a 6-policy tenant, against the floor.

On the tenant workload 7 deploys (the LocalAccounts-shaped policies, the role's two key sets, the two IEF apps),
tests/perf/playbooks/tenant_export.yml, a play of one `entra.b2c.b2c_tenant_export` task into an emptied scratch
directory, against workload 9's floor (tests/perf/playbooks/tenant_floor.yml, the same host with one `debug` task), in
alternating rounds, in this interpreter's ansible-core. Both get one file of extra variables: workload 9's
ief_tenant_connection and the export's dest. After the rounds, untimed: a second export into the same directory, which
must change nothing, and the round trip, `cd <dest> && ansible-playbook entra.b2c.ief_tenant -e @ief_tenant.yml` with
the same connection, which must write nothing (the export's contract). Requests from the emulator's request log;
changed counts from ansible-playbook's recap.
"""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path
from typing import Optional

import tenant_floor

WORKLOAD = 10
STATE = "tenant-export"  # Workload.state
PLAYBOOK = "tenant_export.yml"  # in tests/perf/playbooks
FLOOR_PLAYBOOK = tenant_floor.FLOOR_PLAYBOOK
ROUND_TRIP_PLAYBOOK = "entra.b2c.ief_tenant"  # by its name, as the export's ief_tenant.yml says to run it
VARS_FILE = "tenant-export-vars.json"  # in the scratch directory: it holds the app's secret
DEST = "export"  # the repository the export writes, in the scratch directory
REPOSITORY_VARS = "ief_tenant.yml"  # the export's file of the role's variables, in DEST
FLOOR, EXPORT, AGAIN, ROUND_TRIP = "floor", "export", "again", "round-trip"  # variant keys
# The target: one token and its reads (the policy list, one read per policy, the key set list, the two IEF
# apps looked up by display name), nothing else. msal's discovery GET (its OpenID configuration) is part of acquiring
# the token, as in workload 1's target: it is shown, not counted.
TARGET_ROUTES = {"token": 1, "policies.list": 1, "policies.get": 6, "keysets.list": 1, "applications.list": 2}
UNCOUNTED = ("discovery",)


def variants() -> list:
    """(key, label, playbook, tenant) of the timed variants."""
    return [(FLOOR, "floor: one debug task", FLOOR_PLAYBOOK, ""),
            (EXPORT, "b2c_tenant_export into an empty directory", PLAYBOOK, "deployed")]


def write_vars(workdir: Path) -> None:
    """The extra variables of every run (-e @file): workload 9's ief_tenant_connection (its file is written first)
    and the export's dest; the round trip gets the repository's own ief_tenant.yml before it."""
    connection = json.loads((workdir / tenant_floor.VARS_FILE).read_text(encoding="utf-8"))["ief_tenant_connection"]
    path = workdir / VARS_FILE
    path.write_text(json.dumps({"ief_tenant_connection": connection, "bench_export_dest": str(workdir / DEST)},
                               indent=1), encoding="utf-8")
    path.chmod(0o600)


def before_run(workdir: Path, key: str) -> None:
    """Each timed export starts from an empty directory; the second export and the round trip need the last one."""
    dest = workdir / DEST
    if key == EXPORT:
        shutil.rmtree(dest, ignore_errors=True)
    elif key in (AGAIN, ROUND_TRIP) and not (dest / REPOSITORY_VARS).is_file():
        raise RuntimeError("workload %d, %s: no export in %s to run from" % (WORKLOAD, key, dest))


def recap(output: str) -> dict:
    return tenant_floor.tasks_of(output)["recap"]


def problems(key: str, routes, written: dict, output: str) -> list:
    """What a run did wrong: the floor makes no request; no export writes to the tenant, the first into an empty
    directory changes it, the second changes nothing; the role run from the export writes nothing."""
    if key == FLOOR:
        return ["the floor made requests: %s" % dict(routes)] if routes else []
    found = []
    if written:
        found.append("%s wrote to the tenant: %s" % ("the role run from the export" if key == ROUND_TRIP else "an export",
                                                     written))
    changed = recap(output).get("changed", 0)
    if key == EXPORT and changed != 1:
        found.append("an export into an empty directory reported changed=%d, expected 1" % changed)
    if key == AGAIN and changed != 0:
        found.append("a second export into the same directory reported changed=%d, expected 0 (changed: false)" % changed)
    return found


def run_figures(run, dest: Optional[Path] = None) -> dict:
    """What the report keeps of an untimed run (results.json has no output)."""
    found = {"wall_s": run.wall_s, "routes": dict(run.routes), "recap": recap(run.output)}
    if dest is not None:
        found["files"] = sorted(str(path.relative_to(dest)) for path in dest.rglob("*") if path.is_file())
    return found


def figures(measured, again, round_trip, dest: Path) -> dict:
    """The timed exports' recap (every round's), the second export's and the round trip's requests and recap."""
    exports = measured.runs.get(EXPORT, [])
    return {"export": {"recap": recap(exports[0].output) if exports else {},
                       "stable": all(run.routes == exports[0].routes for run in exports)},
            AGAIN: run_figures(again, dest), ROUND_TRIP: run_figures(round_trip)}


# -- the report -------------------------------------------------------------------------------------------------------

def _median(runs: list) -> float:
    return statistics.median(run.wall_s for run in runs)


def _spread(runs: list) -> str:
    walls = sorted(run.wall_s for run in runs)
    return "%.2f" % walls[0] if len(walls) == 1 else "%.2f (%.2f–%.2f)" % (statistics.median(walls), walls[0], walls[-1])


def _route_text(routes: dict) -> str:
    return ", ".join("%s %d" % (route, count) for route, count in sorted(routes.items()) if count) or "none"


def _writes(routes: dict, is_write) -> int:
    return sum(count for route, count in routes.items() if is_write(route))


def target_met(routes: dict) -> bool:
    return {route: count for route, count in routes.items() if count and route not in UNCOUNTED} == TARGET_ROUTES


def _runs(measured):
    if not measured or EXPORT not in measured.runs or FLOOR not in measured.runs:
        return None, None
    return measured.runs[FLOOR], measured.runs[EXPORT]


def summary(measured, extra: dict) -> list:
    floor, export = _runs(measured)
    if not export:
        return []
    routes = dict(export[0].routes)
    trip = (extra.get("tenant_export") or {}).get(ROUND_TRIP)
    return ["- Workload %d (%s): one `b2c_tenant_export` task takes %.2f s against the floor's %.2f s (%.2f×), "
            "with %d request(s) (%s); the target, one token and its reads, is %s%s." % (
                WORKLOAD, measured.workload.title.split(":", 1)[0], _median(export), _median(floor),
                _median(export) / _median(floor), sum(routes.values()), _route_text(routes),
                "met" if target_met(routes) else "**not met**",
                "; the role run from the export made %d request(s), none a write" % sum(trip["routes"].values())
                if trip else "")]


def target_rows(measured, extra: dict, met, is_write) -> list:
    floor, export = _runs(measured)
    if not export:
        return []
    routes = dict(export[0].routes)
    rows = [("export of a %d-policy tenant: one token and its reads (workload %d)" % (measured.workload.policies, WORKLOAD),
             "%s; writes %d" % (_route_text(routes), _writes(routes, is_write)), met(target_met(routes)))]
    trip = (extra.get("tenant_export") or {}).get(ROUND_TRIP)
    if trip:
        rows.append(("`%s` run from the export: no write (workload %d)" % (ROUND_TRIP_PLAYBOOK, WORKLOAD),
                     "writes %d; all requests %d" % (_writes(trip["routes"], is_write), sum(trip["routes"].values())),
                     met(_writes(trip["routes"], is_write) == 0)))
    rows.append(("export wall time against the floor (workload %d)" % WORKLOAD, "%.2f s vs %.2f s: %.2f× (%+.2f s)" % (
        _median(export), _median(floor), _median(export) / _median(floor), _median(export) - _median(floor)), "reported"))
    return rows


def section(measured, extra: dict, is_write) -> list:
    workload = measured.workload
    found = extra.get("tenant_export") or {}
    lines = ["## Workload %d: %s" % (workload.number, workload.title), ""]
    lines.append("On the tenant workload 7 deploys (%d policies, the role's two key sets, the two IEF apps), "
                 "`tests/perf/playbooks/%s`: one `entra.b2c.b2c_tenant_export` task into an emptied scratch directory, "
                 "in the worker, without the token cache, against the floor `tests/perf/playbooks/%s` (the same host, "
                 "one `debug` task), in alternating rounds; both get one file of extra variables, the role's "
                 "`ief_tenant_connection` (the tenant by its domain name) and the export's `dest`. The target, one "
                 "token and its reads (%s; msal's discovery GET, part of acquiring the token, not counted), is "
                 "reported. Untimed, after the rounds: a second export into the same "
                 "directory, which must change nothing, and the round trip, `cd <dest> && ansible-playbook %s -e "
                 "@%s` with the same connection, which must write nothing: the export's contract. Every run is "
                 "checked and fails the benchmark otherwise." % (
                     workload.policies, PLAYBOOK, FLOOR_PLAYBOOK, _route_text(TARGET_ROUTES), ROUND_TRIP_PLAYBOOK,
                     REPOSITORY_VARS))
    lines.append("")
    lines.append("| run | wall s, median (min–max) | token | Graph requests | writes | recap: changed | requests by route |")
    lines.append("|---|---|---|---|---|---|---|")
    export_recap = (found.get("export") or {}).get("recap") or {}
    for key, runs in measured.runs.items():
        routes = dict(runs[0].routes)
        stable = all(dict(run.routes) == routes for run in runs)
        changed = export_recap.get("changed", "?") if key == EXPORT else 0
        lines.append("| %s | %s | %d | %d%s | %d | %s | %s |" % (
            measured.labels.get(key, key), _spread(runs), routes.get("token", 0),
            sum(count for route, count in routes.items() if route not in ("token", "discovery", "jwks")),
            "" if stable else " (varies)", _writes(routes, is_write), changed, _route_text(routes)))
    for key, label in ((AGAIN, "second export into the same directory (untimed)"),
                       (ROUND_TRIP, "`%s -e @%s` from the export (untimed)" % (ROUND_TRIP_PLAYBOOK, REPOSITORY_VARS))):
        run = found.get(key)
        if run:
            routes = run["routes"]
            lines.append("| %s | %.2f | %d | %d | %d | %s | %s |" % (
                label, run["wall_s"], routes.get("token", 0),
                sum(count for route, count in routes.items() if route not in ("token", "discovery", "jwks")),
                _writes(routes, is_write), run["recap"].get("changed", "?"), _route_text(routes)))
    lines.append("")
    files = (found.get(AGAIN) or {}).get("files")
    if files:
        lines.append("The repository the export writes: %d files (%s)." % (
            len(files), ", ".join("`%s`" % name for name in files)))
        lines.append("")
    return lines
