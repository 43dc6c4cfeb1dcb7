"""The Home Assistant bridge: publishes the discovery configs and states of
:class:`~safehood.alerting.HomeAssistantDiscovery` to the broker, retained, and keeps the
states in step with the alerts."""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from safehood.alerting import AlertChange, AlertManager, AlertQuery, HomeAssistantDiscovery
from safehood.alerting.const import HA_OFFLINE, HA_ONLINE
from safehood.config import MqttEndpoint
from safehood.mqtt import Publisher
from safehood.protocol import AlertStatus, Registry

log = logging.getLogger(__name__)

_OPEN = (AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED)
_SYNC_ALL = ""  # a queue item meaning: every household, configs and states


class HomeAssistantBridge:
    """Keeps Home Assistant's view of the households of ``sites`` (all when empty) current.

    ``start`` connects (raising ``mqtt.BrokerUnreachable``) with a retained last will of
    ``offline`` on the availability topic, publishes ``online``, every household's configs and
    states. After it, every alert change of a household (``on_change``, subscribed to the
    alert manager) republishes that household's states, and a new registry (``on_registry``)
    adds and removes households. All publishing happens on the bridge's own thread: the
    callbacks only queue. ``stop`` publishes ``offline`` and disconnects.
    """

    def __init__(self, endpoint: MqttEndpoint, discovery: HomeAssistantDiscovery,
                 alerts: AlertManager, registry: Callable[[], Registry], *,
                 sites: frozenset[str] = frozenset(), client_id: str = "safehood-ha") -> None:
        self._endpoint = endpoint
        self._discovery = discovery
        self._alerts = alerts
        self._registry = registry
        self._sites = sites
        self._client_id = client_id
        self._publisher: Publisher | None = None
        self._published: set[str] = set()
        self._pending: deque[str] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._idle = True
        self._thread = threading.Thread(target=self._run, name="home-assistant", daemon=True)

    def start(self) -> None:
        will = (self._discovery.availability_topic, HA_OFFLINE.encode())
        self._publisher = Publisher(self._endpoint, self._client_id, will=will)
        self._publisher.publish(self._discovery.availability_topic, HA_ONLINE.encode(),
                                retain=True)
        self._queue(_SYNC_ALL)
        self._thread.start()

    def on_change(self, change: AlertChange) -> None:
        if change.alert.household:
            self._queue(change.alert.household)

    def on_registry(self, _registry: Registry) -> None:
        self._queue(_SYNC_ALL)

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until everything queued is published and acknowledged; ``False`` on timeout."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._idle and not self._pending, timeout_s):
                return False
        return self._publisher is None or self._publisher.flush(timeout_s)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(10.0)
        if self._publisher is not None:
            self._publisher.publish(self._discovery.availability_topic, HA_OFFLINE.encode(),
                                    retain=True)
            self._publisher.flush(5.0)
            self._publisher.close()
            self._publisher = None

    def _queue(self, household: str) -> None:
        with self._cond:
            if household not in self._pending:
                self._pending.append(household)
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._idle = True
                self._cond.notify_all()
                self._cond.wait_for(lambda: self._stopping or bool(self._pending))
                if self._stopping:
                    return
                item = self._pending.popleft()
                self._idle = False
            try:
                if item == _SYNC_ALL:
                    self._sync_all()
                else:
                    self._publish_states(item)
            except Exception:  # one bad household must not end the bridge
                log.exception("could not publish Home Assistant states of %r", item or "all")

    def _households(self) -> dict[str, str]:
        """Household id -> site, of the households this bridge shows."""
        return {h.id: h.site for h in self._registry().households.values()
                if not self._sites or h.site in self._sites}

    def _sync_all(self) -> None:
        registry = self._registry()
        shown = self._households()
        for gone in sorted(self._published - set(shown)):
            self._send(self._discovery.removals(gone))
        for household_id in sorted(shown):
            self._send(self._discovery.configs(registry.households[household_id]))
            self._publish_states(household_id)
        self._published = set(shown)

    def _publish_states(self, household_id: str) -> None:
        if household_id not in self._households():
            return
        alerts = self._alerts.list(AlertQuery(households=(household_id,), statuses=_OPEN,
                                              limit=None))
        self._send(self._discovery.states(household_id, alerts))

    def _send(self, messages: list[tuple[str, bytes]]) -> None:
        assert self._publisher is not None
        for topic, payload in messages:
            self._publisher.publish(topic, payload, retain=True)
