# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The base of every entra.b2c module: shared options, the Graph connection, failures reported in one place.

Internal use only: this module may change without notice.
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import time
from collections.abc import Iterator
from typing import Callable

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.entra.b2c.plugins.module_utils._auth import (
    CLOUD_ENV,
    AuthError,
    TokenProvider,
    default_ca_bundle,
    endpoint_root,
    resolve_cloud,
    resolve_credential,
)
from ansible_collections.entra.b2c.plugins.module_utils._graph import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    GraphClient,
    GraphError,
    GraphSession,
)
from ansible_collections.entra.b2c.plugins.module_utils._keys import KeyInputError
from ansible_collections.entra.b2c.plugins.module_utils._lock import LockError, machine_lock
from ansible_collections.entra.b2c.plugins.module_utils._token_cache import TokenCache

# Credential options have no env fallback here on purpose: an argument must win over the environment as a whole kind,
# which resolve_credential decides after parsing.
GRAPH_ARGUMENT_SPEC = dict(
    tenant_id=dict(type="str", aliases=["tenant"], fallback=(env_fallback, ["AZURE_TENANT_ID", "AZURE_TENANT"])),
    client_id=dict(type="str", fallback=(env_fallback, ["AZURE_CLIENT_ID"])),
    client_secret=dict(type="str", no_log=True),
    client_certificate_path=dict(type="path"),
    client_certificate_password=dict(type="str", no_log=True),
    federated_token_file=dict(type="path", no_log=False),
    access_token=dict(type="str", no_log=True),
    cloud=dict(type="str", fallback=(env_fallback, list(CLOUD_ENV))),
    graph_endpoint=dict(type="str"),
    authority_host=dict(type="str"),
    validate_certs=dict(type="bool", default=True),
    allow_http=dict(type="bool", default=False),
    ca_path=dict(type="path"),
    timeout=dict(type="float", default=30),
    token_cache=dict(type="path", no_log=False, fallback=(env_fallback, ["ENTRA_B2C_TOKEN_CACHE"])),
)

# The options of doc_fragments/keys.py, section by section (DOCUMENTATION, CREATE, WINDOW): a module that extends a
# section of the fragment takes the section's spec from here.
KEYSET_SPEC = dict(
    keyset=dict(type="str", required=True, aliases=["name", "keyset_id"], no_log=False),
)
CREATE_SPEC = dict(
    create_keyset=dict(type="bool", default=True, no_log=False),
)
WINDOW_SPEC = dict(
    nbf=dict(type="raw", aliases=["not_before"]),
    exp=dict(type="raw", aliases=["expires"]),
    valid_for=dict(type="str"),
    renew_before=dict(type="str", default="0"),
)

# Endpoint overrides from the environment: azure-identity's name for the authority host, and the same form for Graph.
GRAPH_ENDPOINT_ENV = "AZURE_GRAPH_ENDPOINT"
AUTHORITY_HOST_ENV = "AZURE_AUTHORITY_HOST"
# A host name or address with an optional port and nothing else: https is meant. Anything else goes to endpoint_root
# as given, which refuses it with its message.
_BARE_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?/?", re.ASCII)

USER_ERRORS = (AuthError, GraphError, KeyInputError, LockError)
MAX_TIMEOUT = 3600
# Options whose raw values a failing module masks, whichever module it is: the credentials, and the values that
# b2c_keyset_secret (secret) and b2c_keyset_certificate (pkcs12, pkcs12_password) upload. A module that does not take
# one of them masks it too, so that `secret:` meant as the app's secret is refused without being shown.
SECRET_OPTIONS = ("client_secret", "client_certificate_password", "access_token", "secret", "pkcs12",
                  "pkcs12_password")


def optional(spec: dict) -> dict:
    """A copy of an argument spec with neither defaults nor required options: the entries of a batch module, whose
    unset options fall back to the module's own."""
    return {name: {key: value for key, value in option.items() if key not in ("default", "required")}
            for name, option in spec.items()}


def _endpoint_override(params: dict, option: str, variable: str, environ) -> tuple:
    """(value, how messages name it) of an endpoint option: the argument, else its environment variable, else None.

    A bare host (``login.microsoftonline.us``, the form of azure-identity's AZURE_AUTHORITY_HOST values) means https.
    """
    value, origin = params.get(option), option
    if not value and environ.get(variable, "").strip():
        value, origin = environ[variable], f"{option} (from {variable})"
    if not value:
        return None, origin
    value = str(value).strip()
    return ("https://" + value if _BARE_HOST.fullmatch(value) else value), origin


def error_result(exc: BaseException) -> dict:
    """``{"error": {status, code, message, request_id, date}}`` when exc is a failure Graph answered, else ``{}``: what a
    failed task (or a failed entry of a batch) returns beside ``msg`` for playbooks to test."""
    facts = exc.facts() if isinstance(exc, GraphError) else None
    return {"error": facts} if facts is not None else {}


def first_error(entries: list) -> dict:
    """The task-level ``error`` of a batch: the first failed entry's, in the entries' order; ``{}`` when none has one."""
    for entry in entries:
        if isinstance(entry, dict) and entry.get("failed") and entry.get("error") is not None:
            return {"error": entry["error"]}
    return {}


def _raw_module_args() -> dict:
    try:
        from ansible.module_utils.basic import _load_params  # pylint: disable=import-outside-toplevel
        raw = _load_params()
    except Exception:  # pylint: disable=broad-exception-caught  # best effort: masking must never break failing
        return {}
    return raw if isinstance(raw, dict) else {}


class GraphModule(AnsibleModule):
    """AnsibleModule plus the shared Graph options and a lazily built client."""

    def __init__(self, argument_spec: dict, **kwargs):
        # Copies: the shared specs are module-level values, and AnsibleModule owns what it is given.
        super().__init__(argument_spec=copy.deepcopy({**GRAPH_ARGUMENT_SPEC, **argument_spec}), **kwargs)
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))
        self._client: GraphClient | None = None
        self.now = int(time.time())  # one clock read per run: every decision of the run uses the same now

    def connect(self) -> GraphClient:
        """Resolve credentials, cloud and endpoints (no network yet); the token is acquired on first request."""
        if self._client is None:
            params = self.params
            environ = os.environ
            credential = resolve_credential(params, environ)
            for secret in credential.secrets():
                self.no_log_values.add(secret)  # values from the environment are masked like no_log arguments
            cloud = resolve_cloud(params.get("cloud"))
            graph_endpoint, graph_origin = _endpoint_override(params, "graph_endpoint", GRAPH_ENDPOINT_ENV, environ)
            graph_root = endpoint_root(graph_endpoint, graph_origin, params["allow_http"]) if graph_endpoint else (
                cloud.graph_root)
            if graph_root.startswith("http://"):
                self.warn(f"graph_endpoint {graph_root} is plain http: tokens and key facts travel unencrypted")
            authority, authority_origin = _endpoint_override(params, "authority_host", AUTHORITY_HOST_ENV, environ)
            authority_host = endpoint_root(authority, authority_origin) if authority else cloud.authority_host
            timeout = params["timeout"]
            if not (timeout is not None and 0 < timeout <= MAX_TIMEOUT):  # also refuses nan and inf
                raise AuthError(f"timeout: {timeout!r} must be a number of seconds above 0 and at most {MAX_TIMEOUT}")
            cache_path = params.get("token_cache")
            if cache_path and os.path.isdir(cache_path):
                raise AuthError(f"token_cache: {cache_path} is a directory; give the path of a file in it, such as "
                                f"{os.path.join(cache_path, 'tokens.json')}")
            session = GraphSession(self._tls_verify(environ), timeout)
            cache = TokenCache(cache_path) if cache_path else None
            tokens = TokenProvider(credential, cloud, authority_host, session, timeout, cache=cache)
            self._client = GraphClient(session, graph_root, tokens, tenant=credential.tenant_id)
        return self._client

    def _tls_verify(self, environ):
        if not self.params["validate_certs"]:
            self.warn("validate_certs is false: TLS certificates of Graph and the authority are not verified; "
                      "use ca_path for a private CA instead")
            try:
                import urllib3  # pylint: disable=import-outside-toplevel
                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # warned once, above
            except ImportError:  # pragma: no cover - requests always brings urllib3
                pass
            return False
        ca_path = default_ca_bundle(self.params.get("ca_path"), environ)
        if ca_path and not os.path.exists(ca_path):
            raise AuthError(f"ca_path: {ca_path} does not exist")
        return ca_path or True

    def fail_json(self, msg, **kwargs):  # pylint: disable=arguments-differ
        # ansible-core stops collecting no_log values when a list-of-dicts option holds a non-dict, and then echoes
        # the raw arguments (client_secret included) in `invocation`: mask every secret option's raw value here too.
        raw = _raw_module_args()
        masked = getattr(self, "no_log_values", None)
        if masked is None:
            masked = self.no_log_values = set()
        for name, value in raw.items():
            if name in SECRET_OPTIONS and isinstance(value, str) and value:
                masked.add(value)
        super().fail_json(msg=msg, **kwargs)

    @contextlib.contextmanager
    def keyset_lock(self, keyset_id: str) -> Iterator[None]:
        """Serialize read-decide-write on one key set of one tenant among the runs of this machine (see _lock.py)."""
        with machine_lock(self.connect().keyset_identity(keyset_id)):
            yield

    def run(self, body: Callable[[GraphModule], dict]) -> None:
        """Run the module body; every user-facing failure becomes fail_json here and nowhere else."""
        try:
            result = body(self)
        except USER_ERRORS as exc:
            self.fail_json(msg=str(exc), **{**getattr(exc, "result", {}), **error_result(exc)})
        self.exit_json(**result)
