# -*- coding: utf-8 -*-
# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The transport to Microsoft Graph: tokens, retries, throttling, TLS and errors, for every API of the collection.

Internal use only: this module may change without notice.

Two kinds of request, each with its own retry rule:
- idempotent requests (GET, PUT, DELETE, PATCH) through ``request``: sent again when throttled (429), unavailable (503,
  504) or not answered, within one budget; any body and any answer, with JSON helpers on top (``request_json``), one
  pagination (``list_items``) and one commit-then-fail delete (``delete``);
- writes whose every landing counts (a key POST adds a key each time; an app registration may be made twice) through
  ``post_once``: reconciled with the state by reading, never sent again without an answer.
Every attempt carries a token; a rejected one (401) is refreshed once per request. Answers are read within bounds: a
JSON answer up to MAX_JSON_BYTES, a collection up to MAX_PAGES pages linked on Graph's own host. The transport knows no
API: the APIs (_keysets/api.py, _policies/api.py, _apps/api.py) add what their own answers mean: permission hints, which
refusal means "not found" (read as None), which passes with time (Transient, with its own wait_budget).
"""

from __future__ import annotations

import email.utils
import json
import random
import socket
import ssl
import time
import uuid
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import unquote, urlsplit

from ansible_collections.entra.b2c.plugins.module_utils._core.errors import UserError

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
JSON = "application/json"
# Key sets and app lists answer a few KB; anything far larger is not Graph (a wrong graph_endpoint, a proxy's page): a
# JSON answer is read up to this size, never without bound.
MAX_JSON_BYTES = 4 * 1024 * 1024
# A collection is paged at most this far: a tenant's key sets, policies or matching apps fill a few pages; a service
# that links page after page without end is not followed forever.
MAX_PAGES = 1000


class GraphError(UserError):
    """A failed Graph call: HTTP status, Graph error code, message and the request id Microsoft support asks for."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None,
                 request_id: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.hint = hint
        self.retries: str | None = None  # how long the client kept trying, when it gave up
        self.graph_message: str | None = None  # Graph's own words (error.message), as it gave them
        self.date: str | None = None  # when Graph answered: innerError's date, else the Date header

    def with_permission_hint(self, hint: str) -> GraphError:
        """This error, with `hint` (the permission the API called needs) when Graph refused it for want of one (403);
        each API knows its own permission, the transport none."""
        if self.status == 403:
            self.hint = hint
        return self

    def facts(self) -> dict | None:
        """The `error` a failed task returns: what Graph gave, each key null when Graph did not give it; None when
        Graph did not answer (a transport failure, an endpoint that is not Graph). Never holds what was sent."""
        if self.status is None:
            return None
        return {"status": self.status, "code": self.code, "message": self.graph_message,
                "request_id": self.request_id, "date": self.date}

    def graph_error(self) -> dict | None:
        return self.facts()

    def __str__(self) -> str:
        text = self.message
        if self.status or self.code:
            status = f"HTTP {self.status}" if self.status else None
            text += f" ({', '.join(filter(None, (status, self.code)))})"
        for detail in (self.retries, self.hint):
            if detail:
                text += f"; {detail}"
        if self.request_id:
            text += f" [request-id {self.request_id}]"
        return text


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


def retry_after_seconds(value: str | None, now: Callable[[], float] = time.time) -> float | None:
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


def backoff_seconds(attempt: int, rand: Callable[[], float] = random.random, cap: float = BACKOFF_CAP) -> float:
    """Exponential backoff with jitter: attempt 1 waits 0.5-1 s, doubling up to the cap."""
    ceiling = min(cap, BACKOFF_BASE * (2 ** (attempt - 1)))
    return ceiling * (0.5 + rand() / 2)


class RetryBudget:
    """The attempts and the waiting one logical request may spend on retries; Graph and Entra ID requests share it.

    The first attempt is under way once the budget exists; each wait granted opens the next one. The defaults are
    throttling's; a wait an API knows of has its own (GraphClient.wait_budget: a new key set's replication, say).
    """

    def __init__(self, sleep: Callable[[float], None], rand: Callable[[], float], total: float = WAIT_BUDGET,
                 max_attempts: int = MAX_ATTEMPTS, cap: float = BACKOFF_CAP):
        self.sleep = sleep
        self.rand = rand
        self.total = total
        self.max_attempts = max_attempts
        self.cap = cap
        self.attempts = 1
        self.waited = 0.0

    @property
    def remaining(self) -> float:
        """Seconds of waiting left."""
        return max(0.0, self.total - self.waited)

    def wait_or_give_up(self, retry_after: float | None, transport: bool) -> str | None:
        """Sleep before the next attempt (Retry-After, else backoff) and return None; when attempts or waiting are
        spent, return why instead: "gave up after ..."."""
        wait = backoff_seconds(self.attempts, self.rand, self.cap) if retry_after is None else retry_after
        limit = MAX_TRANSPORT_ATTEMPTS if transport else self.max_attempts
        if self.attempts >= limit or self.waited + wait > self.total:
            asked = f"; the service asked for {wait:.0f} s more" if retry_after is not None and wait > self.cap else ""
            return f"gave up after {self.attempts} attempts and {self.waited:.0f} s of waiting{asked}"
        self.sleep(wait)
        self.waited += wait
        self.attempts += 1
        return None


class RetryingHttpClient:
    """The http_client msal sends Entra ID requests through (OpenID discovery, token): msal leaves retries to it.

    Throttled (429), unavailable (503, 504), dropped and timed-out requests are sent again like Graph's, honouring
    Retry-After within the same budget; any other answer goes to msal as it came (400/401, a bad credential, never
    retried). Neither request changes anything in the tenant: sending one twice is harmless.
    """

    def __init__(self, session, sleep: Callable[[float], None] = time.sleep, rand: Callable[[], float] = random.random,
                 endpoint: Endpoint | None = None):
        self.session = session
        self.sleep = sleep
        self.rand = rand
        self.endpoint = endpoint or Endpoint("authority_host", "authority_host")
        # What went wrong on the service's side in the last request, for messages that must not blame the credential.
        self.trouble: str | None = None
        # Set when the last request never reached the host (DNS, refused, no route, connect timeout, TLS): what to check.
        self.unreachable: str | None = None

    def get(self, url, **kwargs):
        return self._send("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self._send("POST", url, **kwargs)

    def _send(self, method: str, url: str, **kwargs):
        self.trouble = self.unreachable = None
        where = f"{method} {url.split('?')[0]}"
        host = urlsplit(url).netloc
        budget = RetryBudget(self.sleep, self.rand)
        while True:
            error = wait = failure = None
            try:
                response = self.session.request(method, url, **kwargs)
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                error, failure = exc, transport_failure(exc)
                what = self.endpoint.describe(failure, host)
                if failure.tls:  # never better on a second try
                    self.trouble, self.unreachable = f"{where} failed: {what}", self.endpoint.advice(failure)
                    raise
            else:
                status = response.status_code
                if status < 500 and status != 429:
                    return response
                what = f"HTTP {status} {'(throttled)' if status == 429 else response.reason or ''}".strip()
                if status not in RETRYABLE_STATUS:
                    self.trouble = f"{where} answered {what}"
                    return response
                wait = retry_after_seconds(response.headers.get("Retry-After"))
            gave_up = budget.wait_or_give_up(wait, transport=error is not None)
            if gave_up:
                self.trouble = f"{where} {'failed:' if error else 'answered'} {what}; {gave_up}"
                if error is not None:
                    self.unreachable = self.endpoint.advice(failure)
                    raise error
                return response


def _error_from_response(method: str, path: str, response) -> GraphError:
    code = message = request_id = date = None
    body = _parsed(_read_within(response, MAX_JSON_BYTES))  # an error answer past the cap reads as one without a body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        code = error.get("code")
        message = error.get("message")
        inner = error.get("innerError") or error.get("innererror") or {}
        request_id = inner.get("request-id")
        date = inner.get("date")
    request_id = response.headers.get("request-id") or request_id
    text = f"Graph {method} {path} failed: {message or response.reason or 'no error message'}"
    error = GraphError(text, status=response.status_code, code=code, request_id=request_id)
    error.graph_message = message if isinstance(message, str) else None
    error.date = str(date) if date else response.headers.get("Date")
    return error


@dataclass
class Failure:
    """An attempt that did not succeed; what may follow (another attempt, a read, a failure) is the caller's rule."""

    error: GraphError
    sent: bool = True  # False when the request never reached the service (refused connection, connect timeout)
    answered: bool = True  # False without an answer: timeout, dropped connection, or a gateway's 504
    retry_after: float | None = None

    @property
    def transport(self) -> bool:
        return self.error.status is None

    @property
    def status(self) -> int:
        return self.error.status or 0

    @property
    def may_have_landed(self) -> bool:
        """The service had the request and may have committed it: an answered 5xx, or no answer at all."""
        return self.sent and (not self.answered or self.status >= 500)


class _Call:
    """One logical request: its attempts, their retry budget, and the one token refresh a rejected token gets."""

    def __init__(self, client: GraphClient, method: str, path: str, body: bytes | None, content_type: str | None,
                 accept: str, stream: bool = False, headers: Mapping[str, str] | None = None):
        self.client = client
        self.method = method
        self.path = path
        self.body = body
        self.content_type = content_type
        self.accept = accept
        self.budget = client.wait_budget()
        self.refreshed = False
        self.stream = stream  # True: the body of a success is left unread, for read_capped or json_or_none
        self.headers = dict(headers or {})  # an API's own request headers (Prefer, say)

    def attempt(self) -> requests.Response | Failure:
        """Send the request once (twice when the token was rejected and could be refreshed)."""
        where = f"Graph {self.method} {self.path} failed"
        try:
            response = self._send()
            if response.status_code == 401 and not self.refreshed and self.client.tokens.can_refresh:
                self.refreshed = True
                response.close()  # its body is not read: a streamed one would hold its connection
                self.client.tokens.refresh()  # an expired or revoked token: one fresh token, then the same request
                response = self._send()
        except requests.exceptions.RequestException as exc:
            failure = transport_failure(exc)
            error = GraphError(f"{where}: {self.client.endpoint.describe(failure, self.client.host)}",
                               hint=self.client.endpoint.advice(failure))
            if failure.tls:
                raise error from None  # never better on a second try
            return Failure(error, sent=failure.reached, answered=False)
        if response.status_code < 400:
            return response
        error = _error_from_response(self.method, self.path, response)
        if response.status_code == 401:
            error.hint = _rejected_token_hint(error, self.client.tokens)
            raise error
        # A 504 is a gateway that stopped waiting for the service, which may still commit: no answer either.
        return Failure(error, answered=response.status_code != 504,
                       retry_after=retry_after_seconds(response.headers.get("Retry-After")))

    def _send(self):
        headers = {
            **self.headers,  # first: the client's own headers below always win
            "Authorization": "Bearer " + self.client.tokens.token(),
            "client-request-id": str(uuid.uuid4()),
            "Accept": self.accept,
        }
        if self.content_type:
            headers["Content-Type"] = self.content_type
        extra = {"stream": True} if self.stream else {}
        return self.client.session.request(self.method, self.client.base_url + self.path, data=self.body,
                                           headers=headers, **extra)

    def wait_or_raise(self, failure: Failure) -> None:
        """Wait before the next attempt, or raise the failure once the budget is spent."""
        gave_up = self.budget.wait_or_give_up(failure.retry_after, transport=failure.transport)
        if gave_up:
            failure.error.retries = gave_up
            raise failure.error


@dataclass(frozen=True)
class Transient:
    """A refusal an API knows to pass with time (a key POST into a key set B2C has not replicated yet): `applies`
    tells it from other failures; such a POST is paused, reconciled with a read and sent again within `budget`, whose
    `waited` then says how long it took; `gave_up` words the failure once the budget is spent, from the budget's own
    "gave up after ..."."""

    applies: Callable[[Failure], bool]
    budget: RetryBudget
    gave_up: Callable[[str], str]


@dataclass(frozen=True)
class Landing:
    """How a write that may have landed is reconciled, in words: what is read, what may have happened, and what a
    re-run does (a key POST reads the key set; a create reads the tenant)."""

    read: str = "the tenant"
    happened: str = "it may have been created"
    nothing: str = "shows nothing new"
    still: str = "create it"
    rerun: str = "it reads the tenant first and creates only what is missing"


class GraphClient:
    """Graph beta requests of one tenant: tokens, retries, budgets, TLS and errors. It knows no API: the key set,
    policy and app registration APIs (KeysetGraph, PolicyGraph, AppGraph) send their requests through it."""

    def __init__(self, session, graph_root: str, tokens, tenant: str | None = None,
                 sleep: Callable[[float], None] = time.sleep, rand: Callable[[], float] = random.random):
        self.session = session
        self.base_url = graph_root.rstrip("/") + "/beta"
        self.tokens = tokens
        self.host = urlsplit(graph_root).netloc
        cloud = getattr(tokens, "cloud", None)
        self.endpoint = Endpoint.of(graph_root, cloud.graph_root, "graph_endpoint", cloud.name, "Graph") if cloud else (
            Endpoint("graph_endpoint", "graph_endpoint"))
        # A nextLink names Graph's own host even behind a graph_endpoint override: it may name either.
        self.link_hosts = {self.host.lower()} | ({urlsplit(cloud.graph_root).netloc.lower()} if cloud else set())
        self.tenant = tenant
        self.sleep = sleep
        self.rand = rand

    def wait_budget(self, total: float = WAIT_BUDGET, max_attempts: int = MAX_ATTEMPTS,
                    cap: float = BACKOFF_CAP) -> RetryBudget:
        """A budget of attempts and waiting on this client's clock; the defaults are throttling's, which every request
        gets, and an API passes its own for a wait it knows of (Transient)."""
        return RetryBudget(self.sleep, self.rand, total=total, max_attempts=max_attempts, cap=cap)

    def identity(self, name: str) -> str:
        """What tells an object of this tenant apart from any other this machine may write: Graph root, tenant and
        name (B2C ids ignore case)."""
        return "\n".join((self.base_url, self.tenant or "", name.lower()))

    # -- idempotent requests ---------------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: bytes | str | None = None, content_type: str | None = None,
                accept: str = JSON, stream: bool = False,
                headers: Mapping[str, str] | None = None) -> requests.Response:
        """Send an idempotent request and return its successful response, whatever its body.

        Throttled (429) and unavailable (503, 504) answers and transport failures are sent again within the retry
        budget, honouring Retry-After; TLS failures and any other answer raise GraphError at once. `headers` are sent
        with every attempt, besides the client's own.
        """
        if method not in IDEMPOTENT_METHODS:
            raise ValueError(f"{method} is not idempotent: use post_once")
        # With stream, the caller reads the body, with read_capped or json_or_none.
        call = _Call(self, method, path, body.encode("utf-8") if isinstance(body, str) else body, content_type, accept,
                     stream, headers)
        while True:
            outcome = call.attempt()
            if not isinstance(outcome, Failure):
                return outcome
            if not (outcome.transport or outcome.status in RETRYABLE_STATUS):
                raise outcome.error
            call.wait_or_raise(outcome)

    def request_json(self, method: str, path: str, body: dict | None = None,
                     headers: Mapping[str, str] | None = None) -> dict | None:
        """An idempotent request with a JSON body (if any) and a JSON answer (None for an empty one)."""
        response = self.request(method, path, _json_bytes(body), JSON if body is not None else None, stream=True,
                                headers=headers)
        return json_or_none(response, f"Graph's answer to {method} {path.split('?')[0]}")

    def list_items(self, path: str) -> list[dict]:
        """Every item of a collection, page after page as Graph links them (``@odata.nextLink``), up to MAX_PAGES."""
        items: list[dict] = []
        next_path = path
        for _page in range(MAX_PAGES):
            page = self.request_json("GET", next_path) or {}
            items.extend(item for item in page.get("value") or [] if isinstance(item, dict))
            link = page.get("@odata.nextLink")
            if not link:
                return items
            next_path = self._relative(str(link))
        raise GraphError(f"Graph GET {path.split('?')[0]} linked more than {MAX_PAGES} pages; paging stopped there "
                         f"rather than follow links without end: check that graph_endpoint is Microsoft Graph")

    def _relative(self, link: str) -> str:
        """What a nextLink asks of this client's Graph: the path after /beta and the query. Graph names its own host
        (graph.microsoft.com) even behind a graph_endpoint override, so a link on that host or on the endpoint's is
        sent to the endpoint; one on another host, outside /beta/ or climbing out of it (dot segments) is refused."""
        parts = urlsplit(link)
        climbs = any(unquote(segment) in (".", "..") for segment in parts.path.split("/"))
        if parts.netloc.lower() not in self.link_hosts or not parts.path.startswith("/beta/") or climbs:
            raise GraphError(f"Graph returned a nextLink outside its beta API ({link}); it was not followed: check "
                             f"that graph_endpoint is Microsoft Graph")
        return parts.path[len("/beta"):] + ("?" + parts.query if parts.query else "")

    def delete(self, path: str, gone: Callable[[], bool], missing: Callable[[GraphError], bool]) -> bool:
        """DELETE an object; False when the service says it does not exist (`missing`: the API's reading of a refusal).

        A retried DELETE whose first attempt landed also answers "not found", so callers decide `changed` from their
        own earlier read, not from this value. The service may delete and then fail to answer (commit-then-fail): after
        a 5xx or no answer, `gone` reads the object, and one that is gone was deleted, whatever the answer said.
        """
        try:
            self.request("DELETE", path)
        except GraphError as exc:
            if missing(exc):
                return False
            if exc.status is None or exc.status >= 500:
                try:
                    deleted = gone()
                except GraphError:
                    raise exc from None
                if deleted:
                    return True
            raise
        return True

    # -- writes that must never land twice ---------------------------------------------------------------------

    def post_once(self, path: str, body: dict, landed: Callable[[], dict | None], landing: Landing = Landing(),
                  transient: Transient | None = None, read_conflict: bool = False) -> dict:
        """POST a write whose every landing counts (a key added, an app registered) and return what it made.

        A failure is reconciled with the state rather than sent again blindly (`landed` reads it and returns what this
        POST made, or None):
        - no answer (timeout, dropped connection, 504): the service may still commit it, however late, so it is never
          sent again; the state is read for a while and the call fails if nothing landed;
        - an answered 5xx: the service is done with it, so what it committed shows in one read; the POST is sent
          again only if nothing landed;
        - throttled (429), or never sent (refused connection): sent again;
        - with `read_conflict`, a 409 ("already exists") is read once: what landed, else the refusal;
        - with `transient`, a refusal it knows to pass with time (a key set B2C has not replicated yet) is sent again,
          after a pause and a read that shows nothing landed, within its own budget (see Transient).
        """
        call = _Call(self, "POST", path, _json_bytes(body), JSON, JSON, stream=True)
        while True:
            outcome = call.attempt()
            if not isinstance(outcome, Failure):
                return json_or_none(outcome, f"Graph's answer to POST {path}") or {}
            if transient is not None and transient.applies(outcome):
                found = self._after_transient(outcome, transient, landed)
                if found is not None:
                    return found
                continue
            reconcile = _read_or_raise(outcome, landed, landing)
            if outcome.sent and not outcome.answered:
                found, read_for = self._await_landing(reconcile, call.budget.remaining)
                if found is not None:
                    return found
                outcome.error.retries = (
                    f"{landing.read} was read for {read_for:.0f} s and {landing.nothing}, but the service may still "
                    f"{landing.still}, so the request was not sent again; re-run the task: {landing.rerun}")
                raise outcome.error
            if read_conflict and outcome.status == 409:
                found = reconcile()
                if found is not None:
                    return found
                raise outcome.error
            found = self.landed_or_wait(call, outcome, reconcile)
            if found is not None:
                return found

    def call(self, method: str, path: str, body: dict | None = None) -> _Call:
        """One logical request to drive attempt by attempt (a write with its own rule, such as a key set create); the
        body of its success is left unread, for json_or_none."""
        return _Call(self, method, path, _json_bytes(body), JSON if body is not None else None, JSON, stream=True)

    @staticmethod
    def _after_transient(outcome: Failure, transient: Transient, landed: Callable[[], dict | None]) -> dict | None:
        """After a refusal known to pass with time: pause, then what landed meanwhile (another job's write that
        satisfies, say), else None to send the POST again. Raises once the transient's budget is spent."""
        gave_up = transient.budget.wait_or_give_up(None, transport=False)
        if gave_up:
            outcome.error.retries = transient.gave_up(gave_up)
            raise outcome.error
        return landed()

    @staticmethod
    def landed_or_wait(call: _Call, outcome: Failure, landed: Callable[[], dict | None]) -> dict | None:
        """After a failed POST that is not idempotent: what it added when it may have landed (an answered 5xx, or no
        answer) and did; else None, once the pause before the next attempt is over. Failures that no attempt can mend
        (4xx other than 429) raise, and so does a spent budget."""
        if outcome.may_have_landed:
            found = landed()
            if found is not None:
                return found
        elif outcome.sent and outcome.status != 429:
            raise outcome.error
        call.wait_or_raise(outcome)
        return None

    def _await_landing(self, landed: Callable[[], dict | None], budget: float) -> tuple:
        """Read the state until what an unanswered POST added shows, for twice the timeout (at least LANDING_MIN s,
        at most the budget left), with growing pauses: a slow service can commit long after the client gave up.

        Returns what landed (or None) and the seconds spent waiting.
        """
        timeout = getattr(self.session, "request_timeout", BACKOFF_CAP)
        budget = min(max(2 * timeout, LANDING_MIN), max(0.0, budget))
        spent, pause = 0.0, LANDING_FIRST_PAUSE
        while True:
            found = landed()
            if found is not None or spent >= budget:
                return found, spent
            pause = min(pause, budget - spent)
            self.sleep(pause)
            spent += pause
            pause = min(2 * pause, BACKOFF_CAP)


def _read_or_raise(failure: Failure, landed: Callable[[], dict | None], landing: Landing) -> Callable[[], dict | None]:
    """`landed` for a write that may have landed: a read that fails raises the write's failure, saying what may have
    happened, that the request was not sent again and what a re-run does; the read's own failure in parentheses."""

    def reconcile() -> dict | None:
        try:
            return landed()
        except GraphError as read_failure:
            failure.error.retries = (
                f"{landing.happened}, and reading {landing.read} to find out failed ({read_failure}); the request was "
                f"not sent again: re-run the task once Graph answers: {landing.rerun}")
            raise failure.error from None

    return reconcile


def _rejected_token_hint(failure: GraphError, tokens) -> str:
    if "audience" in failure.message.lower():
        # A token for another cloud's Graph: the audience comes from `cloud`, never from graph_endpoint.
        return (f"the token is for {tokens.cloud.graph_root} (cloud {tokens.cloud.name}), not for this Graph: set cloud "
                "to the national cloud of the tenant and of graph_endpoint")
    return (f"the token was rejected; check the {tokens.describe()}, and that graph_endpoint is the Graph of cloud "
            f"{tokens.cloud.name}")


def _json_bytes(body: dict | None) -> bytes | None:
    # As requests' json= encodes: no NaN or Infinity, which Graph would refuse.
    return None if body is None else json.dumps(body, allow_nan=False).encode("utf-8")


def _read_within(response, limit: int) -> bytes | None:
    """The body of a response, or None past ``limit`` bytes (as decoded; or as the Content-Length declares): reading
    stops there and the response is closed, so that one sent with ``stream`` is never buffered without bound."""
    declared = str(response.headers.get("Content-Length") or "")
    if not (declared.isdigit() and int(declared) > limit):
        size, chunks = 0, []
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > limit:
                break
            chunks.append(chunk)
        else:
            return b"".join(chunks)
    response.close()
    return None


def _parsed(body: bytes | None):
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def read_capped(response, limit: int, what: str) -> bytes:
    """The body of a response sent with ``stream``, refused past ``limit`` bytes (as decoded): reading stops there
    rather than buffering whatever the server sends. ``what`` names the answer in the message."""
    body = _read_within(response, limit)
    if body is None:
        raise GraphError(f"{what} is more than {limit // 1024} KB; reading stopped there rather than hold an answer "
                         f"without bound: check that graph_endpoint is Microsoft Graph",
                         request_id=response.headers.get("request-id"))
    return body


def json_or_none(response, what: str = "Graph's answer") -> dict | None:
    """The JSON of a successful answer, None when it is empty; read up to MAX_JSON_BYTES (see read_capped), so the
    request is best sent with ``stream``. ``what`` names the answer in the message."""
    if response.status_code == 204:
        return None
    body = read_capped(response, MAX_JSON_BYTES, what)
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise GraphError(f"Graph answered HTTP {response.status_code} with a body that is not JSON",
                         status=response.status_code, request_id=response.headers.get("request-id")) from None


@dataclass(frozen=True)
class TransportFailure:
    """What went wrong below HTTP, in words. `reached`: the host accepted the connection, so it may have the request
    (a timeout waiting for the answer, a dropped connection); otherwise nothing was sent."""

    words: str
    reached: bool
    tls: str | None = None  # "verify" (the certificate is not trusted) or "handshake" (no TLS conversation at all)


def _exception_chain(exc: BaseException):
    """The exception and everything it wraps: requests wraps urllib3's MaxRetryError, whose reason wraps the OSError."""
    seen: set = set()
    pending = [exc]
    while pending:
        item = pending.pop(0)
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        pending.extend(arg for arg in getattr(item, "args", ())[:1] if isinstance(arg, BaseException))
        pending.extend((getattr(item, "reason", None) if isinstance(getattr(item, "reason", None), BaseException)
                        else None, item.__cause__, item.__context__))


def is_transport_error(exc: BaseException) -> bool:
    """Whether a request failed below HTTP (what transport_failure describes)."""
    return HAS_REQUESTS and isinstance(exc, requests.exceptions.RequestException)


def transport_failure(exc: BaseException) -> TransportFailure:
    """Name a failed request's transport problem: TLS, DNS, refused, no route, no answer to connect, then the ones
    after the connection was made (no answer within the timeout, dropped)."""
    chain = list(_exception_chain(exc))

    def found(*types):
        return next((item for item in chain if isinstance(item, types)), None)

    if found(ssl.SSLError, requests.exceptions.SSLError):
        verification = found(ssl.SSLCertVerificationError)
        if verification is not None:
            return TransportFailure(verification.verify_message or "certificate verify failed", reached=False,
                                    tls="verify")
        reason = getattr(found(ssl.SSLError), "reason", None)  # WRONG_VERSION_NUMBER: plain http on that port
        if reason:
            return TransportFailure(str(reason).lower().replace("_", " "), reached=False, tls="handshake")
        return TransportFailure("the certificate was not accepted", reached=False, tls="verify")
    if isinstance(exc, requests.exceptions.ProxyError):
        return TransportFailure("the proxy (HTTPS_PROXY) cannot be reached or refused the connection", reached=False)
    if found(socket.gaierror) or any(type(item).__name__ == "NameResolutionError" for item in chain):
        return TransportFailure("the host name does not resolve (DNS)", reached=False)
    if found(ConnectionRefusedError):
        return TransportFailure("connection refused (nothing listens on that port)", reached=False)
    if found(urllib3.exceptions.NewConnectionError):
        # NewConnectionError subclasses ConnectTimeoutError: tell them apart first. No route, network unreachable, ...
        cause = next((item for item in chain if isinstance(item, OSError) and item.strerror), None)
        return TransportFailure(cause.strerror.lower() if cause else "the connection could not be opened", reached=False)
    if found(requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError):
        return TransportFailure("no answer to the connection within the timeout (a firewall dropping packets, or a "
                                "wrong address)", reached=False)
    if isinstance(exc, requests.exceptions.Timeout):
        return TransportFailure("no answer within the timeout", reached=True)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return TransportFailure("connection failed or was dropped", reached=True)
    return TransportFailure(exc.__class__.__name__, reached=True)


@dataclass(frozen=True)
class Endpoint:
    """A host the modules talk to, as messages name it: `label` says where it came from (an option, or a cloud), and
    `option` is what to check when it cannot be reached."""

    label: str
    option: str

    @classmethod
    def of(cls, root: str, cloud_root: str, option: str, cloud_name: str, service: str) -> Endpoint:
        if root.rstrip("/") == cloud_root.rstrip("/"):
            return cls(f"the {service} of cloud {cloud_name}", "cloud")
        return cls(option, option)

    def describe(self, failure: TransportFailure, host: str) -> str:
        """The failure, naming the host when it was never reached."""
        if failure.tls == "verify":
            return f"TLS verification of {host} ({self.label}) failed: {failure.words}"
        if failure.tls:
            return f"the TLS handshake with {host} ({self.label}) failed: {failure.words}"
        if failure.reached:
            return failure.words
        return f"cannot reach {host} ({self.label}): {failure.words}"

    def advice(self, failure: TransportFailure) -> str | None:
        """What to change when the host was never reached; None when it was."""
        if failure.tls == "verify":
            return "give the CA bundle with ca_path, or validate_certs: false for a test endpoint only"
        if failure.tls:
            return f"check that {self.option} names an https endpoint (scheme, host and port)"
        if failure.reached:
            return None
        return f"check {self.option} and the network path from the host that runs the module (DNS, firewall, HTTPS_PROXY)"
