# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run-time settings a test may change through POST /_emulator/config (the spec's [guess] behaviours live here)."""

from __future__ import annotations

import dataclasses
from typing import Any

NOT_FOUND_STATUSES = (404, 400)
EXISTS_STATUSES = (409, 400)


@dataclasses.dataclass
class Settings:
    latency_ms: float = 0.0
    # None: the key set list comes in one page (what a small tenant sees); N: pages of N with @odata.nextLink
    page_size: int | None = None
    # HTTP status of AADB2C90073 (key set not found) and AADB2C95052 (not created yet): public tools disagree
    not_found_status: int = 404
    # HTTP status of AADB2C95028 (key set already exists)
    exists_status: int = 409

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


def _check(name: str, value: Any) -> Any:
    if name == "latency_ms":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError("latency_ms must be a number >= 0")
        return float(value)
    if name == "page_size":
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError("page_size must be null or an integer >= 1")
        return value
    allowed = NOT_FOUND_STATUSES if name == "not_found_status" else EXISTS_STATUSES
    if value not in allowed or isinstance(value, bool):
        raise ValueError(f"{name} must be one of {', '.join(str(status) for status in allowed)}")
    return value
