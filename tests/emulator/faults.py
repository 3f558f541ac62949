# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Injected faults (queues consumed one per matching request) and the request log the tests read back."""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .routes import ROUTE_NAMES

FAULT_ITEM_KEYS = frozenset({"status", "retry_after", "drop", "delay", "commit", "code", "message"})
LOG_LIMIT = 10000


def check_fault_item(item: Any) -> dict[str, Any]:
    """Validate one response item of a fault queue (the forms are listed in tests/emulator/README.md)."""
    if not isinstance(item, dict):
        raise ValueError(f"a fault response is a JSON object, not {item!r:.60}")
    unknown = sorted(set(item) - FAULT_ITEM_KEYS)
    if unknown:
        raise ValueError(f"unknown fault fields: {', '.join(unknown)}; known: {', '.join(sorted(FAULT_ITEM_KEYS))}")
    status = item.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599):
        raise ValueError("a fault status must be an HTTP error status (400-599)")
    for name in ("retry_after", "delay"):
        value = item.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise ValueError(f"{name} must be a number >= 0")
    for name in ("drop", "commit"):
        if name in item and not isinstance(item[name], bool):
            raise ValueError(f"{name} must be true or false")
    for name in ("code", "message"):
        if name in item and not isinstance(item[name], str):
            raise ValueError(f"{name} must be a string")
    if item.get("drop") and status is not None:
        raise ValueError("a fault either drops the connection or answers a status, not both")
    if item.get("commit") and not (item.get("drop") or status is not None):
        raise ValueError("commit needs a status or drop: the write happens, then the client gets that")
    if not (item.get("drop") or status is not None or item.get("delay") is not None):
        raise ValueError("a fault needs a status, drop or delay")
    return dict(item)


@dataclass
class Fault:
    route: str
    method: str | None
    keyset: str | None
    responses: collections.deque = field(default_factory=collections.deque)

    def matches(self, route: str, method: str, keyset: str | None) -> bool:
        return (self.route == route and (self.method is None or self.method == method)
                and (self.keyset is None or self.keyset == keyset) and bool(self.responses))

    def describe(self) -> dict[str, Any]:
        return {"route": self.route, "method": self.method, "keyset": self.keyset, "responses": list(self.responses)}


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, spec: Any) -> dict[str, Any]:
        if not isinstance(spec, dict):
            raise ValueError("a fault is a JSON object")
        route = spec.get("route")
        if route not in ROUTE_NAMES:
            raise ValueError(f"route must be one of {', '.join(ROUTE_NAMES)}")
        method = spec.get("method")
        if method is not None and not isinstance(method, str):
            raise ValueError("method must be a string or null")
        keyset = spec.get("keyset")
        if keyset is not None and not isinstance(keyset, str):
            raise ValueError("keyset must be a string or null")
        responses = spec.get("responses")
        if not isinstance(responses, list) or not responses:
            raise ValueError("responses must be a non-empty list")
        fault = Fault(route, method.upper() if method else None, keyset, collections.deque(check_fault_item(item) for item in responses))
        with self._lock:
            self._faults.append(fault)
        return fault.describe()

    def take(self, route: str, method: str, keyset: str | None) -> dict[str, Any] | None:
        """The next response item of the first matching fault (consumed), or None to behave normally."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(route, method, keyset):
                    return fault.responses.popleft()
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.describe() for fault in self._faults if fault.responses]


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: collections.deque = collections.deque(maxlen=LOG_LIMIT)
        self._seq = 0

    def add(self, *, method: str, path: str, query: str, route: str, status: int | None, started: float, started_wall: float,
            keyset: str | None, fault: dict[str, Any] | None, extra: dict[str, Any] | None = None) -> None:
        with self._lock:
            self._seq += 1
            entry = {
                "seq": self._seq, "ts": round(started_wall, 6), "method": method, "path": path, "query": query, "route": route,
                "status": status, "duration_ms": round((time.monotonic() - started) * 1000, 3), "keyset": keyset, "fault": fault,
            }
            entry.update(extra or {})
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
