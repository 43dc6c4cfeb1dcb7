"""A real InfluxDB 1.x for the tests and the benchmark, and a forwarder that lets the
InfluxDB 2 client write to it.

``InfluxServer`` runs ``influxd`` with a config of its own: every listener on 127.0.0.1
on a free port, data in a temporary directory, no reporting, no UDP/Graphite/collectd/
OpenTSDB inputs. Debian's influxd 1.6 predates ``/api/v2/write`` (added in 1.8), so
``InfluxForwarder`` (test code only) maps ``POST /api/v2/write?org=O&bucket=B&precision=P``
onto ``POST /write?db=B&precision=P`` with the same body and passes every other request
(``/query``, ``/ping``) straight through. Stopping the forwarder makes "InfluxDB" unreachable
for the client without touching the server.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from safehood._broker import free_port, stop_process, wait_for_port

_HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
    "proxy-authorization", "proxy-authenticate", "host", "content-length",
    "date", "server",  # the forwarder's own
})

_CONFIG = """\
reporting-enabled = false
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = "{root}/meta"
  logging-enabled = false

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false
  unix-socket-enabled = false

[ifql]
  enabled = false
  bind-address = "127.0.0.1:{ifql_port}"

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false

[logging]
  level = "warn"

[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false
"""


class InfluxServer:
    """``influxd`` on free loopback ports, its config and data under ``root``, with an
    :class:`InfluxForwarder` in front: give clients :attr:`client_url`."""

    def __init__(self, root: Path, executable: str = "influxd") -> None:
        self.root = Path(root)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.rpc_port = free_port()
        self.executable = shutil.which(executable) or executable
        self.config_path = self.root / "influxdb.conf"
        self.log_path = self.root / "influxd.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.forwarder = InfluxForwarder(self.url)

    @property
    def url(self) -> str:
        """The server itself (InfluxDB 1.x API)."""
        return f"http://{self.host}:{self.port}"

    @property
    def client_url(self) -> str:
        """Where an InfluxDB 2 client goes: the forwarder."""
        return self.forwarder.url

    def start(self, timeout_s: float = 30.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(_CONFIG.format(
            root=self.root, http_port=self.port, rpc_port=self.rpc_port, ifql_port=free_port(),
        ))
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.process = subprocess.Popen(
            [self.executable, "run", "-config", str(self.config_path)],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"influxd exited at start: {self._log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/ping", timeout=1).status_code == 204:
                    self.forwarder.start()
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"influxd did not answer /ping: {self._log_tail()}")
            time.sleep(0.1)

    def _log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:]

    def query(self, statement: str, database: str | None = None) -> dict:
        """Run InfluxQL directly on the server (POST, so CREATE/DROP work too)."""
        params = {"q": statement}
        if database:
            params["db"] = database
        response = httpx.post(f"{self.url}/query", params=params, timeout=30)
        response.raise_for_status()
        body = response.json()
        for result in body.get("results", []):
            if "error" in result:
                raise RuntimeError(f"{statement}: {result['error']}")
        return body

    def create_database(self, name: str) -> None:
        self.query(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        self.query(f'DROP DATABASE "{name}"')

    def stop(self) -> None:
        self.forwarder.close()
        if self.process is None:
            return
        stop_process(self.process, timeout_s=15)
        self.process = None


class _ForwardingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ForwardingServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _forward(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parts.query
        if path == "/api/v2/write":
            params = parse_qs(query)
            bucket = params.get("bucket", [""])[0]
            database, _, retention_policy = bucket.partition("/")
            mapped = {"db": database, "precision": params.get("precision", ["ns"])[0]}
            if retention_policy:
                mapped["rp"] = retention_policy
            path, query = "/write", urlencode(mapped)
        self.server.requests[parts.path] += 1
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        try:
            upstream = self.server.upstream.request(
                self.command, path + ("?" + query if query else ""), content=body, headers=headers
            )
        except httpx.HTTPError as exc:
            self._reply(502, f'{{"error": "forwarder: {type(exc).__name__}"}}'.encode(), {})
            return
        self._reply(upstream.status_code, upstream.content, upstream.headers)

    def _reply(self, status: int, content: bytes, headers: httpx.Headers | dict) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-encoding":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = _forward


class _ForwardingServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], upstream: httpx.Client,
                 requests: Counter[str]) -> None:
        super().__init__(address, _ForwardingHandler)
        self.upstream = upstream
        self.requests = requests
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Cut every open keep-alive connection, as a dying server would."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class InfluxForwarder:
    """A loopback HTTP server that speaks ``/api/v2/write`` in front of an InfluxDB 1.x.

    ``stop()`` closes its port (clients get "connection refused", as from a dead server);
    ``start()`` opens the same port again.
    """

    def __init__(self, upstream_url: str, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.upstream_url = upstream_url
        self._upstream = httpx.Client(base_url=upstream_url, timeout=30)
        # Requests served, by path ("/api/v2/write", "/ping", "/query").
        self.requests: Counter[str] = Counter()
        self._server: _ForwardingServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        if self._server is not None:
            return
        self._server = _ForwardingServer((self.host, self.port), self._upstream, self.requests)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="influx-forwarder", daemon=True
        )
        self._thread.start()
        wait_for_port(self.host, self.port)

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server.drop_connections()
        if self._thread is not None:
            self._thread.join(10)
        self._server = None
        self._thread = None

    @contextlib.contextmanager
    def down(self) -> Iterator[None]:
        """``with forwarder.down():`` InfluxDB is unreachable inside the block."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def close(self) -> None:
        self.stop()
        self._upstream.close()
