"""Serving the API with uvicorn so that shutdown never hangs on open live streams."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

from ._context import Services
from ._loop_lag import LoopLagMonitor

log = logging.getLogger(__name__)
_TOKEN_IN_QUERY = re.compile(r"([?&]token=)[^&\s]+")


class RedactTokens(logging.Filter):
    """Hides ``?token=...`` (the live stream's EventSource login) in uvicorn's access log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_QUERY.sub(r"\1***", a) if isinstance(a, str) else a
                                for a in record.args)
        return True


def _redact_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in access.filters):
        access.addFilter(RedactTokens())


class ApiServer(uvicorn.Server):
    """uvicorn for a safehood app: ends the open live streams before uvicorn waits for its
    connections to finish (an SSE response never finishes by itself).

    ``start()`` runs it in a background thread and returns once it listens; ``stop()``
    shuts it down. ``run()`` (blocking, with signal handling) works as in uvicorn.
    """

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 8000, *,
                 log_level: str = "warning", graceful_timeout_s: float = 5.0) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level=log_level,
                                timeout_graceful_shutdown=int(graceful_timeout_s) or 1,
                                lifespan="on")
        super().__init__(config)
        _redact_access_log()
        self._services: Services = app.state.services
        self._thread: threading.Thread | None = None

    @property
    def loop_lag(self) -> LoopLagMonitor:
        """The pauses of the server's event loop (also on ``/metrics``)."""
        return self._services.loop_lag

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.config.port}"

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._services.streams.close()
        await super().shutdown(sockets)

    def start(self, timeout_s: float = 30.0) -> None:
        """Load the registry's copy, serve in a daemon thread; return once the server
        accepts connections."""
        # At start, not at the first request (seconds at 10,000 devices), and so that it is
        # built before the process settles its heap (``safehood._heap``).
        try:
            self._services.registry.load()
        except Exception:  # the database is down: /readyz says so, a request retries
            log.exception("loading the registry at start failed")
        self._thread = threading.Thread(target=self.run, name="api-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the API server did not start on {self.url}")
            if time.monotonic() > deadline:
                self.should_exit = True
                raise TimeoutError(f"the API server did not start on {self.url} in {timeout_s}s")
            time.sleep(0.02)

    def stop(self, timeout_s: float = 15.0) -> bool:
        """Shut down (ending live streams) and wait for the thread; False when it is still
        running after ``timeout_s``."""
        self.should_exit = True
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            return False
        self._thread = None
        return True
