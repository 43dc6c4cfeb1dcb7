"""A notification service on a loopback port for real Apprise ``json://`` deliveries."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class NotificationReceiver:
    """What Apprise posted, by path. A path's first ``fail[path]`` requests get the status in
    ``status[path]`` (default 500); while ``down`` is set every request gets 500, as a
    notification service having a bad day."""

    port: int = 0
    down: bool = False
    received: list[tuple[str, int, dict]] = field(default_factory=list)
    # The request headers, in the order of ``received`` (ntfy's actions come there).
    headers: list[dict[str, str]] = field(default_factory=list)
    # When each request of ``received`` arrived (time.monotonic()), for latency benchmarks.
    arrived_s: list[float] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    def bodies(self, path: str, ok_only: bool = True) -> list[dict]:
        with self.lock:
            return [body for p, code, body in self.received
                    if p == f"/{path}" and (code == 200 or not ok_only)]

    def refused(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, code, _ in self.received if p == f"/{path}" and code != 200)

    def _answer(self, path: str, body: dict, headers: dict[str, str] | None = None) -> int:
        arrived = time.monotonic()
        with self.lock:
            self.arrived_s.append(arrived)
            self.headers.append(headers or {})
            left = self.fail.get(path, 0)
            if left:
                self.fail[path] = left - 1
            code = 500 if self.down else self.status.get(path, 500) if left else 200
            self.received.append((path, code, body))
        return code


@contextmanager
def serving_posts(answer: Callable[[str, bytes, dict[str, str]], int]) -> Iterator[int]:
    """A loopback HTTP server that answers each POST with the status ``answer(path, body,
    headers)`` returns and an empty body; gives its port, and stops on leaving."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(answer(self.path, body, dict(self.headers)))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def serve_notifications() -> Iterator[NotificationReceiver]:
    """A :class:`NotificationReceiver` serving until the generator is closed."""
    receiver = NotificationReceiver()
    with serving_posts(lambda path, body, headers: receiver._answer(path, json.loads(body),
                                                                    headers)) as receiver.port:
        yield receiver
