"""The demo's notification inbox: a loopback HTTP server that Apprise ``json://`` targets post
to, printing each notification, so a demo user sees who would have been told what."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from safehood._broker import free_port


class _InboxHandler(BaseHTTPRequestHandler):
    server: _InboxServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        try:
            note: dict[str, Any] = json.loads(body)
        except ValueError:
            note = {"message": body.decode(errors="replace")}
        self.server.received += 1
        who = self.path.strip("/").replace("/", " ") or "?"
        title = str(note.get("title", "")).strip()
        print(f"[notify -> {who}] {title}", flush=True)
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _InboxServer(ThreadingHTTPServer):
    received = 0


class DemoInbox:
    """Start with :meth:`start`; :meth:`url` gives the Apprise URL of one recipient."""

    def __init__(self) -> None:
        self.port = free_port()
        self._server = _InboxServer(("127.0.0.1", self.port), _InboxHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-inbox",
                                        daemon=True)

    @property
    def received(self) -> int:
        return self._server.received

    def url(self, *path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{'/'.join(path)}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
