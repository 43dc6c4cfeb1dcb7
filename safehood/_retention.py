"""The retention task of the live pipeline: readings in the reading store, and alerts, dead
letters and leftover personal data in the database, deleted once older than the settings
allow (README, "Retention")."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from safehood.config import Settings
from safehood.database import PurgeCounts, RetentionLimits, purge_expired
from safehood.store import ReadingStore

log = logging.getLogger(__name__)


def enforce_retention(settings: Settings, engine: Engine, store: ReadingStore,
                      now_ms: int) -> PurgeCounts:
    """One pass: what is older than its limit at ``now_ms`` is deleted."""
    limits = RetentionLimits(
        readings_days=settings.retention_readings_days,
        resolved_alerts_days=settings.retention_resolved_alerts_days,
        dead_letters_days=settings.retention_dead_letters_days,
        personal_data_days=settings.retention_personal_data_days,
    )
    store.delete_before(limits.readings_cutoff_ms(now_ms))
    return purge_expired(engine, limits, now_ms)


class RetentionTask:
    """Runs :func:`enforce_retention` at start and every ``retention_interval_s`` in a
    thread of its own until stopped; a failed pass is logged and tried at the next."""

    def __init__(self, settings: Settings, engine: Engine, store: ReadingStore,
                 clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self._settings = settings
        self._engine = engine
        self._store = store
        self._clock_ms = clock_ms
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(30)

    def _run(self) -> None:
        while True:
            try:
                counts = enforce_retention(self._settings, self._engine, self._store,
                                           self._clock_ms())
                if any((counts.alerts, counts.dead_letters, counts.silences, counts.tokens)):
                    log.info("retention deleted %s", counts)
            except Exception:
                log.exception("retention pass failed; trying again at the next")
            if self._stopping.wait(self._settings.retention_interval_s):
                return
