# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The two error dialects the emulator speaks: Microsoft Graph's envelope and Entra ID's OAuth errors."""

from __future__ import annotations

import datetime
from typing import Any


def graph_date(now: datetime.datetime | None = None) -> str:
    """Graph's innerError date: ISO 8601 UTC without fraction or offset, like the service sends."""
    return (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S")


def entra_timestamp(now: datetime.datetime | None = None) -> str:
    """Entra ID's error timestamp format, e.g. 2024-12-27 14:53:13Z."""
    return (now or datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%d %H:%M:%SZ")


class GraphError(Exception):
    """An error answered in Graph's envelope: {"error": {"code", "message", "innerError"}}."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self, request_id: str, client_request_id: str) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": graph_date(),
                    "request-id": request_id,
                    "client-request-id": client_request_id,
                },
            }
        }


class EntraError(Exception):
    """An OAuth error from the token service: {"error", "error_description": "AADSTSnnn: ...", "error_codes", ...}."""

    def __init__(self, status: int, error: str, aadsts: int, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {error}: AADSTS{aadsts}: {description}")
        self.status = status
        self.error = error
        self.aadsts = aadsts
        self.description = description
        self.headers = dict(headers or {})

    def body(self, trace_id: str, correlation_id: str, base_url: str) -> dict[str, Any]:
        timestamp = entra_timestamp()
        return {
            "error": self.error,
            "error_description": (f"AADSTS{self.aadsts}: {self.description}\r\nTrace ID: {trace_id}\r\n"
                                  f"Correlation ID: {correlation_id}\r\nTimestamp: {timestamp}"),
            "error_codes": [self.aadsts],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{base_url}/error?code={self.aadsts}",
        }


# B2C key set errors: codes and message templates from Microsoft's B2C error code reference
# (https://learn.microsoft.com/en-us/azure/active-directory-b2c/error-codes)
GENERIC_B2C_CODE = "AADB2C"


def keyset_not_found(keyset_id: str, tenant: str, status: int) -> GraphError:
    return GraphError(status, "AADB2C90073", f"KeyContainer with 'id': '{keyset_id}' cannot be found in the directory '{tenant}'.")


def keyset_not_created(keyset_id: str, tenant: str, status: int) -> GraphError:
    return GraphError(status, "AADB2C95052",
                      f"The trustframework key set with id '{keyset_id}' in tenant '{tenant}' is not created. "
                      "Please use 'Create api' to create the key set first.")


def keyset_exists(keyset_id: str, tenant: str, status: int) -> GraphError:
    return GraphError(status, "AADB2C95028", f"Can't create trustframework key set with name '{keyset_id}' because it already exists.")


def kty_missing() -> GraphError:
    return GraphError(400, "AADB2C95030", "Missing kty parameter for the trustframework key.")


def kty_invalid(kty: Any) -> GraphError:
    return GraphError(400, "AADB2C95031", f"Bad kty parameter '{kty}' for the trustframework key. Must be RSA or oct.")


def kty_missing_in_key(index: int) -> GraphError:
    return GraphError(400, "AADB2C95037", "The presented TrustFrameworkKey entity is missing kty.")


def use_invalid(use: Any) -> GraphError:
    return GraphError(400, "AADB2C95033", f"Bad use parameter '{use}' for the trustframework key.")


def kty_mixed(existing: str, requested: str) -> GraphError:
    return GraphError(400, "AADB2C95032", "One can't mix RSA and Oct types in one key set.")


def use_mixed(existing: str, requested: str) -> GraphError:
    return GraphError(400, "AADB2C95042", "One can't mix signature and encryption usage in one key set.")


def pkcs12_password() -> GraphError:
    return GraphError(400, "AADB2C95025", "The presented password for the uploaded certificate is wrong.")


def kid_in_put() -> GraphError:
    return GraphError(400, "AADB2C95059", "One of the keys in the payload has 'kid' which is not empty.")


THROTTLED_MESSAGE = "There are too many requests at this moment. Please wait for some time and try again."
CONCURRENT_WRITE_MESSAGE = ("Multiple concurrent writes to the same object detected. Please perform update operations on the "
                            "same object sequentially.")


def throttled(retry_after: int | None) -> GraphError:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return GraphError(429, "AADB2C95043", THROTTLED_MESSAGE, headers)


def generic(error: GraphError) -> GraphError:
    """The same error as some B2C answers carry it: code "AADB2C", the meaning only in the message."""
    if not error.code.startswith(GENERIC_B2C_CODE) or error.code == GENERIC_B2C_CODE:
        return error
    return GraphError(error.status, GENERIC_B2C_CODE, error.message, error.headers)


def bad_request(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def invalid_token(message: str, login_host: str = "login.microsoftonline.com") -> GraphError:
    # Graph sends this challenge with every 401, naming its cloud's authority
    challenge = (f'Bearer realm="", authorization_uri="https://{login_host}/common/oauth2/authorize", '
                 'client_id="00000003-0000-0000-c000-000000000000"')
    return GraphError(401, "InvalidAuthenticationToken", message, {"WWW-Authenticate": challenge})


def insufficient_privileges() -> GraphError:
    return GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


# Default codes and messages of injected faults, by HTTP status
GRAPH_FAULT_DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "Injected fault: bad request."),
    401: ("InvalidAuthenticationToken", "Access token has expired or is not yet valid."),
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    404: ("AADB2C90073", "Injected fault: the key container cannot be found in the directory."),
    409: ("AADB2C95053", CONCURRENT_WRITE_MESSAGE),
    429: ("AADB2C95043", THROTTLED_MESSAGE),
    500: ("generalException", "An internal server error occurred."),
    502: ("BadGateway", "Bad gateway."),
    503: ("serviceNotAvailable", "The service is temporarily unavailable. Retry after a few minutes."),
    504: ("gatewayTimeout", "The operation timed out."),
}

ENTRA_FAULT_DEFAULTS: dict[int, tuple[str, int, str]] = {
    400: ("invalid_request", 90000, "Injected fault: invalid request."),
    401: ("invalid_client", 7000215, "Injected fault: invalid client credentials."),
    429: ("temporarily_unavailable", 90055, "There are too many incoming requests for this tenant. Retry later."),
    500: ("server_error", 90033, "A transient error has occurred. Please try again."),
    503: ("temporarily_unavailable", 90033, "A transient error has occurred. Please try again."),
    504: ("temporarily_unavailable", 90033, "A transient error has occurred. Please try again."),
}
