# Copyright (c) entra.b2c contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HTTPS transport (ThreadingHTTPServer + TLS, HTTP/1.1 keep-alive) and the `Emulator` that tests start in-process."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import socketserver
import ssl
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .config import Settings
from .identity import READ_WRITE_ALL, IdentityProvider, new_client_secret
from .pki import make_tls_files
from .service import Request, Service
from .store import KeySetStore

if TYPE_CHECKING:
    from .control import ControlClient

LOG = logging.getLogger("emulator")
MAX_BODY_BYTES = 4 * 1024 * 1024
# idle keep-alive connections are closed after this many seconds
IDLE_TIMEOUT = 60
DEFAULT_TENANT_DOMAIN = "emulatorb2c.onmicrosoft.com"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "entra-b2c-emulator"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    # headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms per request
    disable_nagle_algorithm = True
    server: _HttpsServer

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        # The TLS handshake runs here, in the connection's own thread, so one slow client cannot stall accept()
        self.request.do_handshake()

    def handle(self) -> None:
        self.server.track(self.request)
        try:
            super().handle()
        except (ssl.SSLError, ConnectionError, TimeoutError, OSError) as exc:
            LOG.debug("connection from %s ended: %s", self.client_address[0], exc)
        finally:
            self.server.untrack(self.request)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _read_body(self) -> bytes | None:
        """The request body (Content-Length or chunked); None after answering 413 for an oversized one."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY_BYTES:
                    self._send_plain(413, "request body too large")
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send_plain(413, "request body too large")
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _send_plain(self, status: int, text: str) -> None:
        payload = json.dumps({"error": text}).encode("utf-8")
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self._send_plain(400, "malformed request body framing")
            return
        if body is None:
            return
        parts = urlsplit(self.path)
        request = Request(self.command, parts.path, parts.query, self.headers, body)
        response = self.server.service.handle(request)
        if response.drop:
            # A fault: close the connection without a byte of response
            self.close_connection = True
            return
        # bytes are sent as they are (a policy's XML); anything else is JSON
        payload = response.body if isinstance(response.body, bytes) else b"" if response.body is None else json.dumps(response.body).encode("utf-8")
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if response.status != 204:
            # RFC 9110 forbids Content-Length on 204; every other response carries one (keep-alive framing)
            if payload:
                self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines carry paths and status codes only: secrets travel in headers and bodies, never logged
        LOG.info("%s %s", self.client_address[0], format % args)


class _HttpsServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: Service, context: ssl.SSLContext) -> None:
        super().__init__(address, _Handler)
        self.service = service
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall start-up on machines without DNS
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """End kept-alive connections so their threads finish now rather than at the idle timeout."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        LOG.debug("error while serving %s", client_address, exc_info=True)


class Emulator:
    """Microsoft Graph (beta) key sets and Entra ID's token endpoint for one B2C tenant, over real HTTPS.

    Usable as a context manager. `start()` binds, registers the default app and serves in a daemon thread.
    `settings` are those of POST /_emulator/config (emulator.config.Settings), applied at start and kept by reset.
    """

    def __init__(self, latency_ms: float = 0, data_file: str | None = None, state_dir: str | None = None, port: int = 0,
                 host: str = "127.0.0.1", tenant_id: str | None = None, tenant_domain: str | None = None,
                 client_id: str | None = None, client_secret: str | None = None, apps: list[dict[str, Any]] | None = None,
                 settings: dict[str, Any] | None = None, permissions: list[str] | None = None) -> None:
        self.host = host
        self.port = port
        self.data_file = data_file
        self.tenant_id = tenant_id or str(uuid.uuid4())
        self.tenant_domain = tenant_domain or DEFAULT_TENANT_DOMAIN
        self.client_id = client_id or str(uuid.uuid4())
        self.client_secret = client_secret or new_client_secret()
        self.extra_apps = list(apps or [])
        # the ready app's Graph application permissions (default: key sets only, what the key set tests expect)
        self.permissions = list(permissions) if permissions is not None else [READ_WRITE_ALL]
        self._given_state_dir = state_dir
        self._state_dir: Path | None = None
        self._settings = Settings(latency_ms=float(latency_ms))
        # start-up settings (cloud, replication_delay, ...): what `reset` returns to; ValueError when one is bad
        self._settings.update(dict(settings or {}))
        self._server: _HttpsServer | None = None
        self._thread: threading.Thread | None = None
        self._control: ControlClient | None = None
        self.url = ""
        self.ca_path = ""
        self.service: Service | None = None

    def start(self) -> Emulator:
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        if self._given_state_dir:
            self._state_dir = Path(self._given_state_dir)
        else:
            self._state_dir = Path(tempfile.mkdtemp(prefix="b2c-emulator-"))
        try:
            self._start(self._state_dir)
        except BaseException:
            if self._server is not None:
                self._server.server_close()
                self._server = None
            self._cleanup_state_dir()
            raise
        LOG.info("serving %s (tenant %s)", self.url, self.tenant_domain)
        return self

    def _start(self, state_dir: Path) -> None:
        tls = make_tls_files(state_dir, self.host)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(tls.cert_path, tls.key_path)
        self.ca_path = tls.ca_path

        identity = IdentityProvider(self.tenant_id, self.tenant_domain, self._settings)
        store = KeySetStore(self.tenant_domain, self._settings, self.data_file)
        store.load()
        self.service = Service(store, identity, self._settings, self._settings.copy())
        self._server = _HttpsServer((self.host, self.port), self.service, context)
        self.port = self._server.server_address[1]
        url_host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        self.url = f"https://{url_host}:{self.port}"
        self.service.bind(self.url)
        # Apps are registered once the address is known: federated records default to this server's issuer URL
        identity.register_app({"client_id": self.client_id, "client_secret": self.client_secret, "permissions": list(self.permissions),
                               "display_name": "entra.b2c emulator default app"}, builtin=True)
        for app in self.extra_apps:
            identity.register_app(app, builtin=True)

        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="b2c-emulator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._control is not None:
            self._control.close()
            self._control = None
        self._cleanup_state_dir()

    def _cleanup_state_dir(self) -> None:
        """Remove the state directory when the emulator made it (a given --state-dir is left alone)."""
        if not self._given_state_dir and self._state_dir is not None:
            shutil.rmtree(self._state_dir, ignore_errors=True)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def control(self) -> ControlClient:
        """A ControlClient bound to this emulator (imported lazily: it needs `requests`, the server does not)."""
        if self._control is None:
            from .control import ControlClient
            self._control = ControlClient(self.url, self.ca_path)
        return self._control

    def info(self) -> dict[str, str]:
        """What `python -m emulator` prints: where it is and the ready app's credentials."""
        return {"url": self.url, "ca_path": self.ca_path, "tenant_id": self.tenant_id, "tenant_domain": self.tenant_domain,
                "client_id": self.client_id, "client_secret": self.client_secret}
