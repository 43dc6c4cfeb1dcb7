"""The notification dispatcher and its log: delivery off the detection path, with retries,
recorded so that a retry never pages anyone twice (Alertmanager's ``nflog``)."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from types import TracebackType
from typing import Protocol

from . import const
from ._ack import AckLinks
from ._metrics import NOTIFICATION_ATTEMPTS, NOTIFICATION_FAILURES
from ._models import AlertChange, DeliveryAttempt, HistoryEntry
from ._notify import DeliveryResult, Notification, Notifier, Target
from ._routing import ContactDirectory, render_message, targets_for

logger = logging.getLogger(__name__)


class NotificationLog(Protocol):
    """What was sent, kept beside the alerts (every :class:`~alerting.AlertRepository` is
    one). Must be thread safe: the dispatcher writes from its own thread."""

    def record_attempt(self, attempt: DeliveryAttempt, event: HistoryEntry | None = None) -> None:
        """Append ``attempt``, and ``event`` to the alert's history."""
        ...

    def delivered(self, key: str) -> bool:
        """Whether a notification with this key was delivered successfully already."""
        ...


class Router(Protocol):
    """Which changes a dispatcher delivers, and to whom."""

    def wants(self, change: AlertChange) -> bool:
        """Whether anyone is to be told of ``change``."""
        ...

    def targets(self, change: AlertChange) -> Mapping[str, Sequence[Target]]:
        """The targets of each audience of ``change`` (an audience may map to none)."""
        ...


class AudienceRouter:
    """The people's router: a change goes to the contacts of its audiences (``directory``),
    when the alert path decided to notify it."""

    def __init__(self, directory: ContactDirectory) -> None:
        self._directory = directory

    def wants(self, change: AlertChange) -> bool:
        return change.notify and bool(change.audience)

    def targets(self, change: AlertChange) -> Mapping[str, Sequence[Target]]:
        return targets_for(self._directory, change)


@dataclass(frozen=True, slots=True)
class DispatcherStats:
    """Counters since start: changes queued and dropped (queue full), notifications
    delivered, retried, given up (retries exhausted or a permanent failure), skipped (the
    log says they were delivered already)."""

    queued: int = 0
    dropped: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0


@dataclass(slots=True)
class _Job:
    notification: Notification
    audience: str
    attempt: int = 1


class NotificationDispatcher:
    """Delivers the notifiable changes of alerts, never on the caller's thread.

    ``submit`` puts a change on a bounded queue and returns at once; a full queue drops the
    change, logs an error and records the drop on the alert. A new alert (``raised``) is
    delivered before the other changes queued (escalations, reminders, updates), which
    keep their order. One worker thread routes each
    change to its targets (``directory``), renders the message and calls ``notifier``. A
    retryable failure is tried again after ``backoff_initial_s``, doubling up to
    ``backoff_max_s``, at most ``max_attempts`` times in all; every attempt and its result is
    recorded in ``log`` (the alert's notification attempts and its history). A notification whose
    key (alert, change, tier, target) was delivered once is never sent again.

    ``close`` stops taking changes and drains what is queued and pending for up to its
    timeout. Use it as a context manager, or subscribe ``submit`` to an AlertManager.

    ``router`` chooses changes and targets (default: an :class:`AudienceRouter` on
    ``directory``; webhooks have their own). With ``ack_links`` every notification asking
    someone to act carries an acknowledge link for its recipient.
    """

    def __init__(
        self,
        notifier: Notifier,
        log: NotificationLog,
        *,
        directory: ContactDirectory | None = None,
        public_url: str | None = None,
        router: Router | None = None,
        ack_links: AckLinks | None = None,
        queue_size: int = const.DEFAULT_QUEUE_SIZE,
        max_attempts: int = const.DEFAULT_MAX_ATTEMPTS,
        backoff_initial_s: float = const.DEFAULT_BACKOFF_INITIAL_S,
        backoff_max_s: float = const.DEFAULT_BACKOFF_MAX_S,
        clock: Callable[[], float] = time.time,
        event_clock: Callable[[str], int | None] | None = None,
    ) -> None:
        if queue_size < 1 or max_attempts < 1 or backoff_initial_s < 0:
            raise ValueError("queue_size and max_attempts must be >= 1, backoff >= 0")
        self._notifier = notifier
        self._log = log
        self._directory = directory or ContactDirectory()
        self._router = router or AudienceRouter(self._directory)
        self._ack_links = ack_links
        self._public_url = public_url.rstrip("/") if public_url else None
        self._queue_size = queue_size
        self._max_attempts = max_attempts
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = max(backoff_max_s, backoff_initial_s)
        self._clock = clock
        self._event_clock = event_clock
        self._cond = threading.Condition()
        self._changes: deque[AlertChange] = deque()
        # New alerts go before escalations, reminders and updates of alerts already told of:
        # after a jump of event time hundreds of escalations fall due at once.
        self._raised: deque[AlertChange] = deque()
        self._retries: list[tuple[float, int, _Job]] = []
        self._sequence = itertools.count()
        self._drops: deque[AlertChange] = deque(maxlen=const.DROP_LOG_SIZE)
        self._busy = False
        self._closing = False
        self._stopping = False
        self._counts = {f.name: 0 for f in fields(DispatcherStats)}
        self._thread = threading.Thread(target=self._run, name="safehood-notify", daemon=True)
        self._thread.start()

    @property
    def stats(self) -> DispatcherStats:
        with self._cond:
            return DispatcherStats(**self._counts)

    def submit(self, change: AlertChange) -> bool:
        """Queue a change for delivery; never blocks, never raises. Returns whether it was
        queued (``False`` for a change nobody is to be told of, after ``close``, or when the
        queue is full: that drop is logged and recorded on the alert)."""
        try:
            if not self._router.wants(change):
                return False
            with self._cond:
                if self._closing:
                    logger.error("notification of %s after close: not sent", change.key)
                    return False
                if len(self._changes) + len(self._raised) >= self._queue_size:
                    self._counts["dropped"] += 1
                    self._drops.append(change)
                    logger.error("notification queue full (%d): dropped %s %s of alert %s",
                                 self._queue_size, change.kind, change.audience, change.alert.id)
                    self._cond.notify_all()
                    return False
                (self._raised if change.kind == const.RAISED else self._changes).append(change)
                self._counts["queued"] += 1
                self._cond.notify_all()
                return True
        except Exception:  # the caller is the ingest path: never let a bug reach it
            logger.exception("could not queue notification")
            return False

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until nothing is queued, pending a retry or being sent; ``False`` on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while (self._raised or self._changes or self._retries or self._drops
                   or self._busy):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def close(self, timeout_s: float = const.DEFAULT_CLOSE_TIMEOUT_S) -> None:
        """Stop taking changes, deliver what is queued or waiting for a retry for up to
        ``timeout_s``, then stop; what is left is recorded as abandoned."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            with self._cond:
                self._stopping = True
                self._cond.notify_all()
            self._thread.join(max(1.0, timeout_s / 10))
        if self._thread.is_alive():
            logger.error("notification worker still busy after close; abandoning it")

    def __enter__(self) -> NotificationDispatcher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # -- worker --------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                work = self._next()
                if work is None:
                    break
                self._busy = True
            try:
                work()
            except Exception:
                logger.exception("notification worker failed on one item; going on")
        self._abandon()

    def _next(self) -> Callable[[], None] | None:
        """The next piece of work (under the lock), waiting for it; ``None`` to stop."""
        while True:
            if self._stopping:
                return None
            if self._drops:
                change = self._drops.popleft()
                return lambda: self._record_drop(change)
            now = time.monotonic()
            if self._retries and self._retries[0][0] <= now:
                _, _, job = heapq.heappop(self._retries)
                return lambda: self._deliver(job)
            if self._raised or self._changes:
                change = (self._raised or self._changes).popleft()
                return lambda: self._expand(change)
            if self._closing and not self._retries:
                return None
            self._cond.wait(self._retries[0][0] - now if self._retries else None)

    def _expand(self, change: AlertChange) -> None:
        registry = self._directory.registry
        link = None
        if self._public_url:
            link = const.ALERT_LINK.format(public_url=self._public_url, id=change.alert.id)
        # Audiences nobody can be told are recorded after the sends: a record is a database
        # write, and under load it held up the page of a new alert by tens of milliseconds.
        unreachable: list[str] = []
        for audience, targets in self._router.targets(change).items():
            if not targets:
                unreachable.append(audience)
                continue
            title_body = render_message(change, registry, self._public_url, audience)
            for target in targets:
                # A reader whose language is known reads it; the rest the default.
                title, body = (title_body if target.language is None else render_message(
                    change, registry, self._public_url, audience, target.language))
                ack_url = (self._ack_links.link(change, target.id, self._now_ms())
                           if self._ack_links else None)
                notification = Notification(
                    key=f"{change.key}:{target.id}", alert_id=change.alert.id,
                    change=change.kind, revision=change.revision, tier=change.tier,
                    target=target, title=title,
                    body=body + (f"\nAcknowledge: {ack_url}" if ack_url else ""),
                    severity=change.alert.severity, link=link, ack_url=ack_url,
                    alert=change.alert, site=change.alert.site)
                self._deliver(_Job(notification, audience))
        for audience in unreachable:
            self._record(DeliveryAttempt(
                alert_id=change.alert.id, key=f"{change.key}:{audience}:-",
                change=change.kind, revision=change.revision, tier=change.tier,
                audience=audience, target="-", url="", attempt=0,
                at_ms=self._now_ms(change.alert.site),
                ok=False, result=const.NO_TARGET, error=f"no {audience} contact configured"))
            logger.warning("alert %s: no %s contact to notify", change.alert.id, audience)

    def _deliver(self, job: _Job) -> None:
        notification = job.notification
        try:
            if self._log.delivered(notification.key):
                self._count("skipped")
                return
        except Exception:
            logger.exception("notification log unreadable; sending %s anyway", notification.key)
        try:
            result = self._notifier.send(notification)
        except Exception as exc:  # a notifier must return results, but never trust it
            result = DeliveryResult.retry(f"{type(exc).__name__}: {exc}")
        if result.ok:
            self._count("delivered")
            outcome = const.DELIVERED
        elif result.retryable and job.attempt < self._max_attempts:
            self._count("retried")
            outcome = const.RETRYING
        else:
            self._count("failed")
            outcome = const.GAVE_UP if result.retryable else const.FAILED
        NOTIFICATION_ATTEMPTS.labels(job.audience, outcome).inc()
        if not result.ok:
            NOTIFICATION_FAILURES.labels(job.audience).inc()
        target = notification.target
        # History is shown to everyone who sees the alert: it names the target by its id,
        # never by its URL (that stays in the notification log, which the API trims by role).
        note = (f"{target.id} ({notification.change}"
                + ("" if notification.tier is None else f", tier {notification.tier}")
                + f", attempt {job.attempt})")
        event = None
        if outcome == const.DELIVERED:
            event = HistoryEntry(self._now_ms(notification.site), const.NOTIFIED, const.NOTIFIER_ACTOR, note)
        elif outcome in (const.GAVE_UP, const.FAILED):
            event = HistoryEntry(self._now_ms(notification.site), const.NOTIFY_FAILED,
                                 const.NOTIFIER_ACTOR, f"{note}: {result.error}")
            logger.error("notification %s to %s failed for good: %s", notification.key,
                         target.label, result.error)
        self._record(DeliveryAttempt(
            alert_id=notification.alert_id, key=notification.key, change=notification.change,
            revision=notification.revision, tier=notification.tier, audience=job.audience,
            target=target.id, url=target.label, attempt=job.attempt,
            at_ms=self._now_ms(notification.site),
            ok=result.ok, result=outcome, error=result.error), event)
        if outcome == const.RETRYING:
            delay = min(self._backoff_max_s, self._backoff_initial_s * 2 ** (job.attempt - 1))
            logger.warning("notification %s to %s failed (%s); retry %d in %.1f s",
                           notification.key, target.label, result.error, job.attempt + 1, delay)
            with self._cond:
                heapq.heappush(self._retries, (time.monotonic() + delay, next(self._sequence),
                                               _Job(notification, job.audience, job.attempt + 1)))
                self._cond.notify_all()

    def _record_drop(self, change: AlertChange) -> None:
        self._record(DeliveryAttempt(
            alert_id=change.alert.id, key=f"{change.key}:dropped", change=change.kind,
            revision=change.revision, tier=change.tier, audience=",".join(change.audience),
            target="-", url="", attempt=0, at_ms=self._now_ms(change.alert.site), ok=False,
            result=const.DROPPED,
            error="notification queue full"),
            HistoryEntry(self._now_ms(change.alert.site), const.NOTIFY_FAILED,
                         const.NOTIFIER_ACTOR, f"{change.kind} for {', '.join(change.audience)} dropped: "
                         "notification queue full"))

    def _abandon(self) -> None:
        with self._cond:
            left = [job for _, _, job in self._retries]
            changes = [*self._raised, *self._changes]
            self._raised.clear()
            self._retries.clear()
            self._changes.clear()
            self._busy = False
            self._cond.notify_all()
        if left or changes:
            logger.error("notification dispatcher closed with %d retries and %d changes "
                         "undelivered", len(left), len(changes))
        for job in left:
            n = job.notification
            self._record(DeliveryAttempt(
                alert_id=n.alert_id, key=n.key, change=n.change, revision=n.revision,
                tier=n.tier, audience=job.audience, target=n.target.id, url=n.target.label,
                attempt=job.attempt, at_ms=self._now_ms(n.site), ok=False, result=const.ABANDONED,
                error="dispatcher closed before the retry"))

    def _record(self, attempt: DeliveryAttempt, event: HistoryEntry | None = None) -> None:
        try:
            self._log.record_attempt(attempt, event)
        except Exception:
            logger.exception("could not record notification attempt %s (%s)", attempt.key,
                             attempt.result)

    def _count(self, name: str) -> None:
        with self._cond:
            self._counts[name] += 1

    def _now_ms(self, site: str | None = None) -> int:
        """When something happens to an alert of ``site``: on the site's event clock when
        there is one (the clock its alerts were raised on), else the wall clock."""
        if site is not None and self._event_clock is not None:
            event_ms = self._event_clock(site)
            if event_ms is not None:
                return event_ms
        return int(self._clock() * 1000)
