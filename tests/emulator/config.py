# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run-time settings a test may change through POST /_emulator/config (the behaviours public evidence disagrees on
live here; tests/emulator/README.md's fidelity table says which default the evidence picked and why)."""

from __future__ import annotations

import dataclasses
from typing import Any

NOT_FOUND_STATUSES = (400, 404)
EXISTS_STATUSES = (400, 409)
# The error a key operation on a key set that has not replicated yet answers
REPLICATION_ERRORS = ("AADB2C95052", "AADB2C90073")
# A national cloud: its Graph root (the only token audience its Graph accepts) and Entra ID's cloud facts
CLOUDS: dict[str, dict[str, str]] = {
    "global": {"graph_root": "https://graph.microsoft.com", "login_host": "login.microsoftonline.com",
               "cloud_instance_name": "microsoftonline.com"},
    "usgov": {"graph_root": "https://graph.microsoft.us", "login_host": "login.microsoftonline.us",
              "cloud_instance_name": "microsoftonline.us"},
    "usgov_dod": {"graph_root": "https://dod-graph.microsoft.us", "login_host": "login.microsoftonline.us",
                  "cloud_instance_name": "microsoftonline.us"},
    "china": {"graph_root": "https://microsoftgraph.chinacloudapi.cn", "login_host": "login.partner.microsoftonline.cn",
              "cloud_instance_name": "partner.microsoftonline.cn"},
}
GRAPH_ROOTS = tuple(cloud["graph_root"] for cloud in CLOUDS.values())
MAX_REPLICATION_DELAY = 600.0


@dataclasses.dataclass
class Settings:
    latency_ms: float = 0.0
    # None: the key set list comes in one page (what a small tenant sees); N: pages of N with @odata.nextLink
    page_size: int | None = None
    # HTTP status of AADB2C90073 (key set not found) and AADB2C95052 (not created yet): 400 is what tools observe
    not_found_status: int = 400
    # HTTP status of AADB2C95028 (key set already exists)
    exists_status: int = 400
    # True: B2C errors carry the generic code "AADB2C", the specific meaning only in the message text
    generic_error_code: bool = False
    # The tenant's cloud: tokens are issued for its Graph root only, and its Graph accepts only those
    cloud: str = "global"
    # Seconds after a create during which key operations on the new set fail as if it did not exist yet
    replication_delay: float = 0.0
    # ... answering this code (with not_found_status)
    replication_error: str = "AADB2C95052"
    # ... and whether a GET of the set itself fails too (with AADB2C90073) during that window
    replication_get_fails: bool = False

    def update(self, changes: dict[str, Any]) -> None:
        """Apply `changes` after validating all of them (nothing changes when one is bad)."""
        if not isinstance(changes, dict):
            raise ValueError("settings must be a JSON object")
        known = {field.name for field in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        checked = {name: _check(name, value) for name, value in changes.items()}
        for name, value in checked.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def copy(self) -> Settings:
        return dataclasses.replace(self)

    @property
    def graph_root(self) -> str:
        return CLOUDS[self.cloud]["graph_root"]


def _number(name: str, value: Any, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (upper is not None and value > upper):
        raise ValueError(f"{name} must be a number >= 0" + (f" and <= {upper:g}" if upper is not None else ""))
    return float(value)


def _one_of(name: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    if isinstance(value, bool) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(str(item) for item in allowed)}")
    return value


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


def _check(name: str, value: Any) -> Any:
    if name == "latency_ms":
        return _number(name, value)
    if name == "replication_delay":
        return _number(name, value, MAX_REPLICATION_DELAY)
    if name == "page_size":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError("page_size must be null or an integer >= 1")
        return value
    if name in ("generic_error_code", "replication_get_fails"):
        return _flag(name, value)
    choices: dict[str, tuple[Any, ...]] = {"not_found_status": NOT_FOUND_STATUSES, "exists_status": EXISTS_STATUSES,
                                           "cloud": tuple(CLOUDS), "replication_error": REPLICATION_ERRORS}
    return _one_of(name, value, choices[name])
