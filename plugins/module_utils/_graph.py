# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one Microsoft Graph client of the collection: retries, throttling and error translation.

Internal use only: this module may change without notice.
"""

from __future__ import annotations

import email.utils
import random
import time
import uuid
from typing import Callable, Optional
from urllib.parse import quote, urlsplit

try:
    import requests
    import urllib3
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError as _import_error:  # pragma: no cover - reported by the module through missing_required_lib
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = _import_error

USER_AGENT = "entra.b2c-ansible/0.1"
RETRYABLE_STATUS = (429, 503, 504)
MAX_ATTEMPTS = 8
MAX_TRANSPORT_ATTEMPTS = 3  # refused, reset or timed-out connections: a few tries, then say so
WAIT_BUDGET = 60.0  # seconds of waiting between attempts before a task gives up
BACKOFF_BASE = 1.0
BACKOFF_CAP = 16.0
# An unanswered key-adding POST: how long to read the state for its key, at least (twice the timeout if longer), and
# the first pause between reads (doubling up to BACKOFF_CAP).
LANDING_MIN = 10.0
LANDING_FIRST_PAUSE = 1.0
IDEMPOTENT_METHODS = ("GET", "PUT", "DELETE", "PATCH", "HEAD")

# A missing key set: AADB2C90073 (not found) or AADB2C95052 (not created), with 400 or 404. Some B2C answers carry only
# the generic code "AADB2C", the meaning then only in the message text.
NOT_FOUND_CODES = ("AADB2C90073", "AADB2C95052")
GENERIC_B2C_CODE = "AADB2C"
GENERIC_NOT_FOUND_TEXTS = ("cannot be found", "is not created", "has not been created")

PERMISSION_HINT = (
    "the app registration needs the Microsoft Graph application permission TrustFrameworkKeySet.ReadWrite.All "
    "(TrustFrameworkKeySet.Read.All is enough for reads) with admin consent in the B2C tenant; a signed-in admin also "
    "needs the Entra role B2C IEF Keyset Administrator")


class GraphError(Exception):
    """A failed Graph call: HTTP status, Graph error code, message and the request id Microsoft support asks for."""

    def __init__(self, message: str, status: Optional[int] = None, code: Optional[str] = None,
                 request_id: Optional[str] = None, hint: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.hint = hint
        self.retries: Optional[str] = None  # how long the client kept trying, when it gave up
        self.result: dict = {}  # facts of what was done before the failure, for the module to report

    def __str__(self) -> str:
        parts = [self.message]
        if self.status or self.code:
            parts.append("(%s)" % ", ".join(filter(None, (
                "HTTP %s" % self.status if self.status else None, self.code))))
        text = " ".join(parts)
        if self.retries:
            text += "; " + self.retries
        if self.hint:
            text += "; " + self.hint
        if self.request_id:
            text += " [request-id %s]" % self.request_id
        return text

    @property
    def not_found(self) -> bool:
        # B2C answers a missing key set with 400 (or 404): decide on the code, or on the text of a generic one.
        if self.code in NOT_FOUND_CODES:
            return True
        if self.code == GENERIC_B2C_CODE:
            return any(text in self.message.lower() for text in GENERIC_NOT_FOUND_TEXTS)
        return self.status == 404 and self.code in (None, "NotFound", "ResourceNotFound")

    @property
    def already_exists(self) -> bool:
        # AADB2C95028 comes with 400 (or 409), or as the generic code with its text.
        if self.code == "AADB2C95028" or self.status == 409:
            return True
        return self.code == GENERIC_B2C_CODE and "already exists" in self.message.lower()


class GraphSession(requests.Session if HAS_REQUESTS else object):  # type: ignore[misc]
    """A Session that applies its TLS and timeout settings on every request.

    requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's own ``verify`` unless ``verify`` is passed per
    request; msal uses this session too, so the per-request default is enforced here.
    """

    def __init__(self, verify, timeout: float):
        super().__init__()
        self.tls_verify = verify
        self.request_timeout = timeout
        self.headers["User-Agent"] = USER_AGENT

    def request(self, method, url, *args, **kwargs):  # pylint: disable=arguments-differ,signature-differs
        if kwargs.get("verify") is None:
            kwargs["verify"] = self.tls_verify
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.request_timeout
        return super().request(method, url, *args, **kwargs)


def retry_after_seconds(value: Optional[str], now: Callable[[], float] = time.time) -> Optional[float]:
    """Seconds to wait from a Retry-After header: delta seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now())


def backoff_seconds(attempt: int, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: attempt 1 waits 0.5-1 s, doubling up to the cap."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempt - 1)))
    return ceiling * (0.5 + rand() / 2)


class RetryBudget:
    """The attempts and the waiting one logical request may spend on retries; Graph and Entra ID requests share it."""

    def __init__(self, sleep: Callable[[float], None], rand: Callable[[], float]):
        self.sleep = sleep
        self.rand = rand
        self.attempt = 0
        self.waited = 0.0

    def wait_or_give_up(self, retry_after: Optional[float], transport: bool) -> Optional[str]:
        """Sleep before the next attempt (Retry-After, else backoff) and return None; when attempts or waiting are
        spent, return why instead: "gave up after ..."."""
        wait = backoff_seconds(self.attempt, self.rand) if retry_after is None else retry_after
        limit = MAX_TRANSPORT_ATTEMPTS if transport else MAX_ATTEMPTS
        if self.attempt >= limit or self.waited + wait > WAIT_BUDGET:
            return "gave up after %d attempts and %.0f s of waiting%s" % (
                self.attempt, self.waited, "; the service asked for %.0f s more" % wait if wait > BACKOFF_CAP else "")
        self.sleep(wait)
        self.waited += wait
        return None


class RetryingHttpClient:
    """The http_client msal sends Entra ID requests through (OpenID discovery, token): msal leaves retries to it.

    Throttled (429), unavailable (503, 504), dropped and timed-out requests are sent again like Graph's, honouring
    Retry-After within the same budget; any other answer goes to msal as it came (400/401, a bad credential, never
    retried). Neither request changes anything in the tenant: sending one twice is harmless.
    """

    def __init__(self, session, sleep: Callable[[float], None] = time.sleep, rand: Callable[[], float] = random.random):
        self.session = session
        self.sleep = sleep
        self.rand = rand
        # What went wrong on the service's side in the last request, for messages that must not blame the credential.
        self.trouble: Optional[str] = None

    def get(self, url, **kwargs):
        return self._send("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self._send("POST", url, **kwargs)

    def _send(self, method: str, url: str, **kwargs):
        self.trouble = None
        where = "%s %s" % (method, url.split("?")[0])
        budget = RetryBudget(self.sleep, self.rand)
        while True:
            budget.attempt += 1
            error = response = wait = None
            try:
                response = self.session.request(method, url, **kwargs)
            except requests.exceptions.SSLError:
                raise
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                error, what = exc, _transport_reason(exc)
            else:
                status = response.status_code
                if status < 500 and status != 429:
                    return response
                what = "HTTP %d %s" % (status, "(throttled)" if status == 429 else response.reason or "")
                if status not in RETRYABLE_STATUS:
                    self.trouble = "%s answered %s" % (where, what.strip())
                    return response
                wait = retry_after_seconds(response.headers.get("Retry-After"))
            gave_up = budget.wait_or_give_up(wait, transport=error is not None)
            if gave_up:
                self.trouble = "%s %s %s; %s" % (where, "failed:" if error else "answered", what.strip(), gave_up)
                if error is not None:
                    raise error
                return response


def _error_from_response(method: str, path: str, response) -> GraphError:
    code = message = request_id = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        code = error.get("code")
        message = error.get("message")
        inner = error.get("innerError") or error.get("innererror") or {}
        request_id = inner.get("request-id")
    request_id = response.headers.get("request-id") or request_id
    text = "Graph %s %s failed: %s" % (method, path, message or response.reason or "no error message")
    hint = None
    if response.status_code == 403:
        hint = PERMISSION_HINT
    return GraphError(text, status=response.status_code, code=code, request_id=request_id, hint=hint)


class GraphClient:
    """Graph beta requests with retries that never repeat a non-idempotent POST blindly."""

    def __init__(self, session, graph_root: str, tokens, sleep: Callable[[float], None] = time.sleep,
                 rand: Callable[[], float] = random.random):
        self.session = session
        self.base_url = graph_root.rstrip("/") + "/beta"
        self.tokens = tokens
        self.sleep = sleep
        self.rand = rand
        self.request_count = 0

    # -- transport -------------------------------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Optional[dict] = None,
             reconcile: Optional[Callable[[], Optional[dict]]] = None, resend_safe: bool = False) -> Optional[dict]:
        """Send one logical request; returns the JSON body (None for 204).

        reconcile is for non-idempotent POSTs: it reads the service's state and returns the result the POST produced if
        it landed, else None. A POST that got no answer (timeout, dropped connection, 504) may still be at work in the
        service: it is never sent again; the state is read for a while and the call fails if nothing landed. After a
        500 or 503 answer the state is read once and the POST sent again only if nothing landed. resend_safe marks a
        POST whose duplicate the service refuses (a key set that exists answers 409): it is handled like a 500.
        """
        idempotent = method in IDEMPOTENT_METHODS
        budget = RetryBudget(self.sleep, self.rand)
        refreshed = False
        while True:
            budget.attempt += 1
            failure: Optional[GraphError] = None
            wait: Optional[float] = None
            unanswered = False  # the service may have the request and still be working on it
            try:
                response = self._send(method, path, body)
            except requests.exceptions.RequestException as exc:
                failure = GraphError("Graph %s %s failed: %s" % (method, path, _transport_reason(exc)))
                if isinstance(exc, requests.exceptions.SSLError) or (not idempotent and reconcile is None):
                    raise failure from None
                unanswered = _may_have_been_sent(exc)
            else:
                if response.status_code < 400:
                    return _json_or_none(response)
                failure = _error_from_response(method, path, response)
                if response.status_code == 401 and not refreshed and self.tokens.can_refresh:
                    refreshed = True
                    self.tokens.refresh()  # an expired or revoked token: one fresh token, then the same request again
                    continue
                if response.status_code == 401:
                    failure.hint = _rejected_token_hint(failure, self.tokens)
                    raise failure
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                throttled = response.status_code == 429  # the service did not act: safe for any method
                transient = response.status_code >= 500 and (idempotent and response.status_code in RETRYABLE_STATUS
                                                             or reconcile is not None)
                if not (throttled or transient):
                    raise failure
                # A 504 is a gateway that stopped waiting for the service, which may still commit: no answer either.
                # A 500 or 503 is the service's own answer: it is done with the request, so whatever it committed
                # (commit-then-fail) shows in the read below (graph-b2c-keysets.md: read the set before retrying).
                unanswered = response.status_code == 504
            if not idempotent and reconcile is not None and (unanswered or (failure.status or 0) >= 500):
                if unanswered and not resend_safe:
                    landed, read_for = self._await_landing(reconcile, WAIT_BUDGET - budget.waited)
                    if landed is not None:
                        return landed
                    failure.retries = (
                        "the key set was read for %.0f s and shows no new key, but the service may still add it, so "
                        "the request was not sent again; re-run the task: it reads the key set first and adds a key "
                        "only if none landed" % read_for)
                    raise failure
                landed = reconcile()
                if landed is not None:
                    return landed
            gave_up = budget.wait_or_give_up(wait, transport=not failure.status)
            if gave_up:
                failure.retries = gave_up
                raise failure

    def _await_landing(self, reconcile: Callable[[], Optional[dict]], budget: float) -> tuple:
        """Read the state until what an unanswered POST added shows, for twice the timeout (at least LANDING_MIN s,
        at most the budget left), with growing pauses: a slow service can commit long after the client gave up.

        Returns the landed result (or None) and the seconds spent waiting.
        """
        timeout = getattr(self.session, "request_timeout", BACKOFF_CAP)
        budget = min(max(2 * timeout, LANDING_MIN), max(0.0, budget))
        spent, pause = 0.0, LANDING_FIRST_PAUSE
        while True:
            landed = reconcile()
            if landed is not None or spent >= budget:
                return landed, spent
            pause = min(pause, budget - spent)
            self.sleep(pause)
            spent += pause
            pause = min(2 * pause, BACKOFF_CAP)

    def _send(self, method: str, path: str, body: Optional[dict]):
        headers = {
            "Authorization": "Bearer " + self.tokens.token(),
            "client-request-id": str(uuid.uuid4()),
            "Accept": "application/json",
        }
        self.request_count += 1
        return self.session.request(method, self.base_url + path, json=body, headers=headers)

    # -- key sets --------------------------------------------------------------------------------------------------

    @staticmethod
    def keyset_path(keyset_id: str, suffix: str = "") -> str:
        # The id is validated before use; quoting still guarantees it can never leave its path segment.
        return "/trustFramework/keySets/" + quote(keyset_id, safe="") + suffix

    def get_keyset(self, keyset_id: str) -> Optional[dict]:
        try:
            return self.call("GET", self.keyset_path(keyset_id))
        except GraphError as exc:
            if exc.not_found:
                return None
            raise

    def list_keysets(self) -> list:
        keysets = []
        path: Optional[str] = "/trustFramework/keySets"
        while path:
            page = self.call("GET", path) or {}
            keysets.extend(page.get("value") or [])
            next_link = page.get("@odata.nextLink")
            path = self._relative(next_link) if next_link else None
        return keysets

    @staticmethod
    def _relative(link: str) -> str:
        """A nextLink names graph.microsoft.com even behind a graph_endpoint override: keep only what follows /beta."""
        parts = urlsplit(link)
        if not parts.path.startswith("/beta/"):
            raise GraphError("Graph returned a nextLink that is not a beta API address: %s" % link)
        return parts.path[len("/beta"):] + ("?" + parts.query if parts.query else "")

    def create_keyset(self, name: str) -> dict:
        """Create an empty key set; an existing one (created concurrently or by a landed retry) is returned as is."""
        def landed() -> Optional[dict]:
            return self.get_keyset(name)

        try:
            # Resending is safe: a create that landed meanwhile makes the next one answer AADB2C95028, handled below.
            created = self.call("POST", "/trustFramework/keySets", {"id": name}, reconcile=landed, resend_safe=True)
        except GraphError as exc:
            if exc.already_exists:
                existing = self.get_keyset(name)
                if existing is not None:
                    return existing
            raise
        return created or {"id": name, "keys": []}

    def delete_keyset(self, keyset_id: str) -> bool:
        """Delete a key set; False when the service says it does not exist.

        A retried DELETE whose first attempt landed also answers "not found", so callers decide `changed` from their
        own earlier read, not from this value.
        """
        try:
            self.call("DELETE", self.keyset_path(keyset_id))
        except GraphError as exc:
            if exc.not_found:
                return False
            if exc.status is None or exc.status >= 500:
                # The service may have deleted the set before failing to answer (commit-then-fail): a set that is
                # gone is deleted, whatever the DELETE's answer said.
                try:
                    gone = self.get_keyset(keyset_id) is None
                except GraphError:
                    raise exc from None
                if gone:
                    return True
            raise
        return True

    def add_key(self, keyset_id: str, action: str, body: dict, landed: Callable[[], Optional[dict]]) -> dict:
        """POST a key-adding action (generateKey, uploadSecret, uploadCertificate, uploadPkcs12).

        These are not idempotent: `landed` reads the set again after an ambiguous failure and returns the key that
        the POST added, if any, so a retry never adds a second key.
        """
        return self.call("POST", self.keyset_path(keyset_id, "/" + action), body, reconcile=landed) or {}

    def generate_key(self, keyset_id: str, body: dict, landed: Callable[[], Optional[dict]]) -> dict:
        return self.add_key(keyset_id, "generateKey", body, landed)


def _rejected_token_hint(failure: GraphError, tokens) -> str:
    if "audience" in failure.message.lower():
        # A token for another cloud's Graph: the audience comes from `cloud`, never from graph_endpoint.
        return ("the token is for %s (cloud %s), not for this Graph: set cloud to the national cloud of the tenant and of "
                "graph_endpoint" % (tokens.cloud.graph_root, tokens.cloud.name))
    return "the token was rejected; check the %s, and that graph_endpoint is the Graph of cloud %s" % (
        tokens.credential.describe(), tokens.cloud.name)


def _json_or_none(response) -> Optional[dict]:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise GraphError("Graph answered HTTP %s with a body that is not JSON" % response.status_code,
                         status=response.status_code, request_id=response.headers.get("request-id")) from None


def _may_have_been_sent(exc: Exception) -> bool:
    """Whether a transport failure came after the request may have reached the service (not a refused connection)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps what went wrong
    return not isinstance(reason, urllib3.exceptions.NewConnectionError)


def _transport_reason(exc: Exception) -> str:
    if isinstance(exc, requests.exceptions.SSLError):
        return ("TLS verification failed (%s); give the CA bundle with ca_path, or validate_certs: false for a test "
                "endpoint only" % exc.__class__.__name__)
    if isinstance(exc, requests.exceptions.Timeout):
        return "no answer within the timeout"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection failed or was dropped"
    return exc.__class__.__name__
