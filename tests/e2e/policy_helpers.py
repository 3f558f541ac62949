# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the custom policy tests share: the test set of tests/policies/basic rendered for the emulator's tenant, the
app that may manage policies, and readings of the request log."""

from __future__ import annotations

from pathlib import Path

from conftest import TENANT_APP, TESTS_DIR, routes

POLICY_SET = TESTS_DIR / "policies" / "basic"
BASE, LOCALIZATION, EXTENSIONS = "B2C_1A_Basic_Base", "B2C_1A_Basic_Localization", "B2C_1A_Basic_Extensions"
SIGN_IN, SIGN_IN_API = "B2C_1A_Basic_SignIn", "B2C_1A_Basic_SignInForApi"
UPLOAD_ORDER = [BASE, LOCALIZATION, EXTENSIONS, SIGN_IN, SIGN_IN_API]
LEVELS = [[BASE], [LOCALIZATION], [EXTENSIONS], [SIGN_IN, SIGN_IN_API]]
KEYSETS = [{"keyset": "TokenSigningKeyContainer", "use": "sig"}, {"keyset": "TokenEncryptionKeyContainer", "use": "enc"}]
TOKEN_ROUTES = ("token", "discovery", "jwks")


def render(directory: Path, tenant: str, source: Path = POLICY_SET) -> Path:
    """The policy set with {{ b2c_tenant }} filled in (what the template lookup does), one file per policy."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.xml")):
        (directory / path.name).write_text(path.read_text(encoding="utf-8").replace("{{ b2c_tenant }}", tenant),
                                           encoding="utf-8")
    return directory


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def tenant_connection(ansible, **overrides) -> dict:
    """The play's connection as the app that holds both the key set and the policy permission."""
    return ansible.connection(client_id=TENANT_APP["client_id"], client_secret=TENANT_APP["client_secret"], **overrides)


def policies_task(name="policies", **args) -> dict:
    return {"name": name, "entra.b2c.b2c_policies": args, "ignore_errors": True}


def keys_task() -> dict:
    return {"name": "keys", "entra.b2c.b2c_keyset_key_batch": {"keysets": KEYSETS}}


def seed_keys(control) -> None:
    control.seed([{"id": "B2C_1A_" + item["keyset"], "keys": [{"use": item["use"], "kty": "RSA"}]} for item in KEYSETS])


def graph_routes(control) -> list:
    return [route for route in routes(control) if route not in TOKEN_ROUTES]


def puts(control) -> list:
    """The policies uploaded, in the order the service finished them."""
    return [entry["policy"] for entry in control.requests() if entry["route"] == "policies.put" and entry["status"] < 400]


def in_levels(order: list, levels: list) -> bool:
    """Whether `order` runs through `levels` one after the other, any order within a level."""
    position = 0
    for level in levels:
        if sorted(order[position:position + len(level)]) != sorted(level):
            return False
        position += len(level)
    return position == len(order)


def max_overlap(control, route: str) -> int:
    """The most requests of `route` the emulator was serving at the same moment."""
    spans = [(entry["ts"], entry["ts"] + entry["duration_ms"] / 1000.0) for entry in control.requests()
             if entry["route"] == route]
    return max(sum(1 for start, end in spans if start <= moment < end) for moment, _end in spans)
