# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A thin `requests` client of the emulator's test controls (/_emulator/...)."""

from __future__ import annotations

from typing import Any

import requests


class ControlError(RuntimeError):
    """The emulator refused a control request (its message says why)."""


class ControlClient:
    def __init__(self, url: str, ca_path: str, timeout: float = 30) -> None:
        self.url = url.rstrip("/")
        self.ca_path = ca_path
        self.timeout = timeout
        self._session = requests.Session()

    def close(self) -> None:
        self._session.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        # verify on each call: REQUESTS_CA_BUNDLE would otherwise override a session-level setting
        response = self._session.request(method, f"{self.url}/_emulator/{path}", json=body, verify=self.ca_path, timeout=self.timeout)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code >= 400:
            message = payload.get("error") if isinstance(payload, dict) else response.text
            raise ControlError(f"{method} /_emulator/{path}: HTTP {response.status_code}: {message}")
        return payload

    def reset(self) -> None:
        """Empty tenant (apps from start kept); faults, request log, revocations and settings cleared."""
        self._call("POST", "reset")

    def seed(self, keysets: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add key sets holding arbitrary keys; returns them as the service would show them."""
        return self._call("POST", "seed", {"keysets": keysets})["keysets"]

    def state(self) -> dict[str, Any]:
        return self._call("GET", "state")

    def requests(self) -> list[dict[str, Any]]:
        return self._call("GET", "requests")

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def add_fault(self, route: str, responses: list[dict[str, Any]], method: str | None = None, keyset: str | None = None) -> dict[str, Any]:
        return self._call("POST", "faults", {"route": route, "responses": responses, "method": method, "keyset": keyset})

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def register_app(self, **fields: Any) -> dict[str, Any]:
        """Register an app (client_id, client_secret, certificate_pem, federated, permissions, display_name)."""
        return self._call("POST", "apps", fields)

    def federated_token(self, subject: str, audience: str = "api://AzureADTokenExchange", lifetime: int = 600) -> str:
        return self._call("POST", "federated-token", {"subject": subject, "audience": audience, "lifetime": lifetime})["token"]

    def access_token(self, client_id: str | None = None, roles: list[str] | None = None, expires_in: int = 3600,
                     audience: str | None = None) -> str:
        """A token minted for an app (default audience: the Graph root of the emulator's cloud)."""
        body = {"client_id": client_id, "roles": roles, "expires_in": expires_in, "audience": audience}
        return self._call("POST", "access-token", body)["access_token"]

    def secrets(self) -> list[str]:
        """Every secret the emulator knows: client secrets, issued tokens, private key members (for leak scans)."""
        return self._call("GET", "secrets")["secrets"]

    def revoke_tokens(self) -> None:
        self._call("POST", "revoke-tokens")

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change settings (latency_ms, page_size, not_found_status, exists_status, generic_error_code, cloud,
        replication_delay, replication_error, replication_get_fails); returns all settings."""
        return self._call("POST", "config", settings)

    def replicating(self) -> dict[str, float]:
        """The key sets still in their replication window, with the seconds left by the emulator's clock."""
        return self._call("GET", "replication")["replicating"]

    def seed_policies(self, policies: list[dict[str, Any]]) -> list[str]:
        """Store custom policies as given, no B2C rule applied: [{"content": xml, "id"?: id}]; returns their ids."""
        return self._call("POST", "policies", {"policies": policies})["policies"]

    def clear_policies(self) -> None:
        """Remove every custom policy (key sets stay)."""
        self._call("DELETE", "policies")

    def policies(self, content: bool = False) -> list[dict[str, Any]]:
        """The tenant's custom policies: [{"id"}], with content=True also the stored XML as $value answers it."""
        return self._call("GET", "policies?content=true" if content else "policies")["policies"]

    def directory(self) -> dict[str, Any]:
        """The tenant's app registrations, service principals (Microsoft Graph's included) and oauth2PermissionGrants,
        as GET answers them: {"applications", "servicePrincipals", "oauth2PermissionGrants"}."""
        return self.state()["directory"]
