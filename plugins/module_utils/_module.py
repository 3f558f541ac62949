# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The base of every entra.b2c module: shared options, the Graph connection, failures reported in one place.

Internal use only: this module may change without notice.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
import time
from typing import Callable, Iterator, Optional

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
from ansible_collections.entra.b2c.plugins.module_utils._token_cache import TokenCache

# Credential options have no env fallback here on purpose: an argument must win over the environment as a whole kind,
# which resolve_credential decides after parsing.
GRAPH_ARGUMENT_SPEC = dict(
    tenant_id=dict(type="str", aliases=["tenant"], fallback=(env_fallback, ["AZURE_TENANT_ID", "AZURE_TENANT"])),
    client_id=dict(type="str", fallback=(env_fallback, ["AZURE_CLIENT_ID"])),
    client_secret=dict(type="str", aliases=["secret"], no_log=True),
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

USER_ERRORS = (AuthError, GraphError, KeyInputError)
MAX_TIMEOUT = 3600
# Options of any module of the collection whose values are secrets (their aliases included).
SECRET_OPTIONS = ("client_secret", "secret", "client_certificate_password", "access_token", "pkcs12",
                  "pkcs12_password")


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
        spec = dict(GRAPH_ARGUMENT_SPEC)
        spec.update(argument_spec)
        super().__init__(argument_spec=spec, **kwargs)
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))
        self._client: Optional[GraphClient] = None
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
            graph_root = endpoint_root(params["graph_endpoint"], "graph_endpoint", params["allow_http"]) if params.get(
                "graph_endpoint") else cloud.graph_root
            if graph_root.startswith("http://"):
                self.warn("graph_endpoint %s is plain http: tokens and key facts travel unencrypted" % graph_root)
            authority_host = endpoint_root(params["authority_host"], "authority_host") if params.get(
                "authority_host") else cloud.authority_host
            timeout = params["timeout"]
            if not (timeout is not None and 0 < timeout <= MAX_TIMEOUT):  # also refuses nan and inf
                raise AuthError("timeout: %r must be a number of seconds above 0 and at most %d" % (timeout, MAX_TIMEOUT))
            if params.get("token_cache") and os.path.isdir(params["token_cache"]):
                raise AuthError("token_cache: %s is a directory; give the path of a file in it, such as %s" % (
                    params["token_cache"], os.path.join(params["token_cache"], "tokens.json")))
            session = GraphSession(self._tls_verify(environ), timeout)
            cache = TokenCache(params["token_cache"]) if params.get("token_cache") else None
            tokens = TokenProvider(credential, cloud, authority_host, session, timeout, cache=cache)
            self._client = GraphClient(session, graph_root, tokens)
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
            raise AuthError("ca_path: %s does not exist" % ca_path)
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
        """Serialize read-decide-write on one key set among the runs of this machine (forks of a play, parallel jobs).

        B2C has no conditional writes, so two runs that both read "no valid key" would both add one; holding this
        lock from the read to the write makes the second run see the first one's key. Runs on other machines are
        not covered (see docs/reliability.md).
        """
        client = self.connect()
        identity = "\n".join((client.base_url, client.tokens.credential.tenant_id or "", keyset_id.lower()))
        directory = os.path.join(tempfile.gettempdir(), "entra-b2c-locks-%d" % os.getuid())
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            if os.stat(directory).st_uid != os.getuid():
                raise AuthError("lock directory %s belongs to another user; remove it" % directory)
            fd = os.open(os.path.join(directory, hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32] + ".lock"),
                         os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise AuthError("cannot create a lock file in %s (%s)" % (directory, exc.strerror)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def run(self, body: Callable[["GraphModule"], dict]) -> None:
        """Run the module body; every user-facing failure becomes fail_json here and nowhere else."""
        try:
            result = body(self)
        except USER_ERRORS as exc:
            self.fail_json(msg=str(exc), **getattr(exc, "result", {}))
        self.exit_json(**result)
