# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a flow sees of its task run, whichever door it came through: a module process or the controller's worker.

Internal use only: this module may change without notice.

A flow takes a RunContext (validated options, check and diff mode, one clock read, warnings, the Graph connection)
and returns the task's result or raises a UserError; ``outcome`` is the one place that turns those errors into a
failed result. Neither knows AnsibleModule: GraphModule (_core/module.py) and the action plugin (plugin_utils/_in_process.py)
each build a context and report the outcome their own way.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ansible_collections.entra.b2c.plugins.module_utils._core.auth import (
    AuthError,
    TokenProvider,
    default_ca_bundle,
    endpoint_root,
    resolve_cloud,
    resolve_credential,
)
from ansible_collections.entra.b2c.plugins.module_utils._core.errors import TaskFailed, UserError
from ansible_collections.entra.b2c.plugins.module_utils._core.graph import GraphClient, GraphError, GraphSession
from ansible_collections.entra.b2c.plugins.module_utils._core.identity import (
    Permission,
    discovery_path,
    is_guid,
    permission_check,
    same_tenant_problem,
    tenant_of_issuer,
    token_claims,
)
from ansible_collections.entra.b2c.plugins.module_utils._core.lock import machine_lock
from ansible_collections.entra.b2c.plugins.module_utils._core.token_cache import TokenCache

# Endpoint overrides from the environment: azure-identity's name for the authority host, and the same form for Graph.
GRAPH_ENDPOINT_ENV = "AZURE_GRAPH_ENDPOINT"
AUTHORITY_HOST_ENV = "AZURE_AUTHORITY_HOST"
# A host name or address with an optional port and nothing else: https is meant. Anything else goes to endpoint_root
# as given, which refuses it with its message.
_BARE_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?/?", re.ASCII)
MAX_TIMEOUT = 3600

Api = TypeVar("Api")
T = TypeVar("T")
R = TypeVar("R")


def _endpoint_override(params: Mapping, option: str, variable: str, environ: Mapping) -> tuple:
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


class RunContext:
    """One task run: its validated options, check and diff mode, the run's single `now`, warnings, and Graph.

    `warn` and `mask` are the door's: a module process warns and masks through AnsibleModule, the worker collects.
    """

    def __init__(self, params: Mapping, check_mode: bool = False, diff: bool = False,
                 warn: Callable[[str], None] | None = None, mask: Callable[[str], None] | None = None,
                 environ: Mapping | None = None, now: int | None = None,
                 progress: Callable[[str], None] | None = None):
        self.params = params
        self.check_mode = bool(check_mode)
        self.diff = bool(diff)
        self.now = int(time.time()) if now is None else now  # one clock read: every decision of the run uses it
        self.warnings: list = []
        self._warn = warn
        self._mask = mask
        self._progress = progress
        self._environ = os.environ if environ is None else environ
        self._client: GraphClient | None = None
        self._apis: dict = {}
        self._tenant_ids: dict = {}
        # How the run words a message of one of its parts (b2c_ief_tenant: in the options or variables the user set).
        self.wording: Callable[[str], str] | None = None

    def warn(self, message: str) -> None:
        if self.wording is not None:
            message = self.wording(message)
        self.warnings.append(message)
        if self._warn is not None:
            self._warn(message)

    @contextlib.contextmanager
    def step(self, done: str) -> Iterator[None]:
        """A write, reported as "<done> (<seconds> s)" the moment it completes, where the door can show it while the
        task runs (the worker path: a long deploy shows its progress in AWX's job output); a failed one, not at all."""
        started = time.monotonic()
        yield
        if self._progress is not None:
            self._progress(f"{done} ({time.monotonic() - started:.1f} s)")

    def derived(self, params: Mapping, check_mode: bool | None = None) -> RunContext:
        """A context for one part of a larger run (the whole tenant runs the key, app and policy flows on it): its
        own options, the same connection and token, APIs, clock, warnings and progress. Warnings already given are
        not given again, as a plan and its apply run the same checks."""
        part = RunContext(params, check_mode=self.check_mode if check_mode is None else check_mode, diff=self.diff,
                          warn=self._warn_once, mask=self._mask, environ=self._environ, now=self.now,
                          progress=self._progress)
        part._client, part._apis, part._tenant_ids = self.connect(), self._apis, self._tenant_ids
        return part

    def _warn_once(self, message: str) -> None:
        if (self.wording(message) if self.wording else message) not in self.warnings:
            self.warn(message)

    def remember_reads(self, factory: Callable[[GraphClient], Api], reads: Sequence[str]) -> None:
        """From now on the run's `factory` API answers each of its `reads` as it did the first time, until its first
        write (RememberedReads): a plan's reads, replayed by its apply."""
        self._apis[factory] = RememberedReads(self.api(factory), reads)

    def mask(self, value: str) -> None:
        """Never show this value (a secret from the environment, a private key given where a certificate was)."""
        if self._mask is not None and value:
            self._mask(value)

    def connect(self) -> GraphClient:
        """Resolve credentials, cloud and endpoints (no network yet); the token is acquired on first request."""
        if self._client is None:
            params, environ = self.params, self._environ
            credential = resolve_credential(params, environ)
            for secret in credential.secrets():
                self.mask(secret)  # values from the environment are masked like no_log arguments
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
            session = GraphSession(self._tls_verify(), timeout)
            cache = TokenCache(cache_path) if cache_path else None
            tokens = TokenProvider(credential, cloud, authority_host, session, timeout, cache=cache)
            self._client = GraphClient(session, graph_root, tokens, tenant=credential.tenant_id)
        return self._client

    def api(self, factory: Callable[[GraphClient], Api]) -> Api:
        """The run's one instance of an API over the connection (the policy or the app registrations API)."""
        if factory not in self._apis:
            self._apis[factory] = factory(self.connect())
        return self._apis[factory]

    # -- who the run acts as, checked before its first write --------------------------------------------------------

    def claims(self) -> dict:
        """The claims of the run's access token (acquired now if it was not yet), unverified: see _core/identity.py."""
        return token_claims(self.connect().tokens.token())

    def credential_tenant_id(self) -> str | None:
        """The id of the tenant the credential signs in to: tenant_id when it is one, else the token's `tid`."""
        given = self.connect().tenant
        if is_guid(given):
            return str(given).strip().lower()
        tid = self.claims().get("tid")
        return str(tid).lower() if tid else None

    def tenant_id_of(self, domain: str) -> str | None:
        """The tenant id a domain name belongs to, from its OpenID discovery document (no permission needed); None
        when the authority knows no such tenant. Asked once per domain and run."""
        key = domain.strip().lower()
        if key not in self._tenant_ids:
            tokens = self.connect().tokens
            response = tokens.http_client.get(tokens.authority_host + discovery_path(key))
            if response.status_code in (400, 404):  # AADSTS90002: no such tenant
                self._tenant_ids[key] = None
            elif response.status_code != 200:
                raise GraphError(f"the OpenID discovery of {domain} at {tokens.authority_host} answered HTTP "
                                 f"{response.status_code}; run again once it answers", status=response.status_code)
            else:
                try:
                    issuer = response.json().get("issuer")
                except (ValueError, AttributeError):
                    issuer = None
                self._tenant_ids[key] = tenant_of_issuer(issuer)
        return self._tenant_ids[key]

    def tenant_problem(self, domain: str, where: str) -> str | None:
        """The refusal when the tenant `domain` (named by `where`) is not the credential's, None when it is; None too
        when the credential names no tenant (an opaque token: the service compares at the write)."""
        credential_tenant = self.credential_tenant_id()
        if not credential_tenant:
            return None
        return same_tenant_problem(domain, self.tenant_id_of(domain), credential_tenant, where)

    def require_permissions(self, needed: Sequence[Permission], what: str) -> None:
        """Refuse, before the first write, a run whose app-only token lacks a permission its writes need; with a
        delegated token or one without claims the check cannot be made, and the run warns that it was skipped."""
        problem, skipped = permission_check(self.claims(), needed, what)
        if problem:
            raise UserError(problem)
        if skipped:
            self.warn(skipped)

    def _tls_verify(self) -> Any:
        if not self.params["validate_certs"]:
            self.warn("validate_certs is false: TLS certificates of Graph and the authority are not verified; "
                      "use ca_path for a private CA instead")
            try:
                import urllib3  # pylint: disable=import-outside-toplevel
                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # warned once, above
            except ImportError:  # pragma: no cover - requests always brings urllib3
                pass
            return False
        ca_path = default_ca_bundle(self.params.get("ca_path"), self._environ)
        if ca_path and not os.path.exists(ca_path):
            raise AuthError(f"ca_path: {ca_path} does not exist")
        return ca_path or True

    @contextlib.contextmanager
    def keyset_lock(self, keyset_id: str) -> Iterator[None]:
        """Serialize read-decide-write on one key set of one tenant among the runs of this machine (see _core/lock.py)."""
        with machine_lock(self.connect().identity(keyset_id)):
            yield


class RememberedReads:
    """An API whose reads answer what they answered before, until its first write: the apply of a planned run reads
    the tenant as its plan did (no second read of what the plan read), and reads afresh once it has written."""

    def __init__(self, api: Any, reads: Sequence[str]):
        self._api = api
        self._reads = frozenset(reads)
        self._answers: dict = {}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._api, name)
        if not callable(attribute):
            return attribute
        if name in self._reads:
            def read(*args: Any) -> Any:
                key = (name, args)
                with self._lock:
                    if key in self._answers:
                        return self._answers[key]
                answer = attribute(*args)
                with self._lock:
                    self._answers[key] = answer
                return answer
            return read

        def write(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self._answers.clear()
            return attribute(*args, **kwargs)
        return write


def in_parallel(function: Callable[[T], R], items: Sequence[T], parallel: int) -> list[R]:
    """function over items, up to `parallel` at a time, results in the items' order."""
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(parallel, len(items))) as pool:
        return list(pool.map(function, items))


def error_result(exc: BaseException) -> dict:
    """``{"error": {status, code, message, request_id, date}}`` when Graph answered the failed request, else ``{}``:
    what a failed task (or a failed entry of a batch) returns beside ``msg`` for playbooks to test."""
    facts = exc.graph_error() if isinstance(exc, UserError) else None
    return {"error": facts} if facts is not None else {}


def first_error(entries: list) -> dict:
    """The task-level ``error`` of a batch: the first failed entry's, in the entries' order; ``{}`` when none has one."""
    for entry in entries:
        if isinstance(entry, dict) and entry.get("failed") and entry.get("error") is not None:
            return {"error": entry["error"]}
    return {}


def failure(exc: UserError) -> dict:
    """The failed result of an error: the fields it carries, ``failed``, ``msg`` and Graph's ``error``."""
    carried = exc.result if isinstance(exc, TaskFailed) else {}
    return {**carried, "failed": True, "msg": str(exc), **error_result(exc)}


def outcome(flow: Callable[[RunContext], dict], run: RunContext) -> dict:
    """The task's result: what the flow returned, or its failure. The one place errors become failures."""
    try:
        return flow(run)
    except UserError as exc:
        return failure(exc)
