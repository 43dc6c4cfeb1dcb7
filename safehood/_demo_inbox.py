"""The demo's notification inbox: a loopback HTTP server that Apprise ``json://`` targets post
to, printing each notification, so a demo user sees who would have been told what; it also
receives the signed webhooks and checks their signatures, as a city's platform would."""

from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from safehood._broker import free_port
from safehood.alerting import verify_webhook

WEBHOOK_PATH = "/webhook"


class _InboxHandler(BaseHTTPRequestHandler):
    server: _InboxServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path == WEBHOOK_PATH:
            self._webhook(body)
            return
        try:
            note: dict[str, Any] = json.loads(body)
        except ValueError:
            note = {"message": body.decode(errors="replace")}
        self.server.received += 1
        who = self.path.strip("/").replace("/", " ") or "?"
        title = str(note.get("title", "")).strip()
        print(f"[notify -> {who}] {title}", flush=True)
        ack = next((line for line in str(note.get("message", "")).splitlines()
                    if line.startswith("Acknowledge: ")), None)
        if ack and who == "officers":
            print(f"    {ack}", flush=True)
        self.send_response(200)
        self.end_headers()

    def _webhook(self, body: bytes) -> None:
        genuine = verify_webhook(
            self.server.webhook_secret, body, self.headers.get("X-Safehood-Timestamp", ""),
            self.headers.get("X-Safehood-Signature", ""), now_s=time.time())
        try:
            alert = json.loads(body).get("alert", {})
        except ValueError:
            alert = {}
        print(f"[webhook -> city platform] {self.headers.get('X-Safehood-Event')} "
              f"{alert.get('type')} {alert.get('id')} "
              f"(signature {'ok' if genuine else 'REFUSED'})", flush=True)
        self.send_response(204 if genuine else 401)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


class _InboxServer(ThreadingHTTPServer):
    received = 0
    webhook_secret = b""


class DemoInbox:
    """Start with :meth:`start`; :meth:`url` gives the Apprise URL of one recipient,
    :attr:`webhook_url` the signed webhooks' endpoint."""

    def __init__(self) -> None:
        self.port = free_port()
        self._server = _InboxServer(("127.0.0.1", self.port), _InboxHandler)
        self.webhook_secret = secrets.token_hex(16)
        self._server.webhook_secret = self.webhook_secret.encode()
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-inbox",
                                        daemon=True)

    @property
    def received(self) -> int:
        return self._server.received

    def url(self, *path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{'/'.join(path)}"

    @property
    def webhook_url(self) -> str:
        """Where the demo's signed webhooks go (secret: :attr:`webhook_secret`)."""
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
