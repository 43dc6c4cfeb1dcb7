"""The composition root of the live pipeline: builds every component from settings and
connects them. Data flows one way: MQTT -> ingest -> store + detectors -> alerting."""

from __future__ import annotations

import dataclasses
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Engine

from safehood.alerting import (
    AckLinks,
    AckTokens,
    AlertChange,
    AlertManager,
    AlertPolicy,
    AppriseNotifier,
    ContactDirectory,
    HomeAssistantDiscovery,
    NotificationDispatcher,
    WebhookEndpoint,
    WebhookNotifier,
    WebhookRouter,
)
from safehood.alerting import build_pipeline as build_alert_pipeline
from safehood.api import ApiContext, ApiServer, create_app
from safehood.config import Settings
from safehood.database import (
    SqlAlertRepository,
    create_database_engine,
    import_registry,
    load_registry_if_changed,
    migrate,
)
from safehood.detectors import DetectorConfig, DetectorEngine
from safehood.dialects import SourceRouter, load_dialects
from safehood.ingest import (
    DeadLetterRecorder,
    DeviceHealthRecorder,
    IngestService,
    MessageHandler,
    MqttSource,
    SeenLog,
    TickHandler,
)
from safehood.protocol import Registry, RegistryFile, deadletter_topic
from safehood.store import ReadingStore, open_store

from ._detection import DetectionStage, HandoverTimer
from ._heap import return_large_blocks, settle_heap
from ._home_assistant import HomeAssistantBridge
from ._retention import RetentionTask

log = logging.getLogger(__name__)

REGISTRY_POLL_S = 15.0


class RegistryHolder:
    """The current registry; replaced whole when it changes (readers never see half)."""

    def __init__(self, registry: Registry, version: int | None = None) -> None:
        """``version``: the database's registry version, read before ``registry`` was loaded
        from it."""
        self._registry = registry
        self._listeners: list[Callable[[Registry], None]] = []
        self._version = version
        self.poll_cpu_s: float | None = None
        """Thread CPU of the watcher's last poll (None: no poll yet)."""

    @classmethod
    def from_database(cls, engine: Engine) -> RegistryHolder:
        """The registry loaded from ``engine``, with the version read before it."""
        version, loaded = load_registry_if_changed(engine, None)
        assert loaded is not None  # always loaded against no known version
        return cls(loaded, version)

    def get(self) -> Registry:
        return self._registry

    @property
    def version(self) -> int | None:
        """The database's registry version last read (None: not read from a database)."""
        return self._version

    def replace(self, registry: Registry) -> None:
        self._registry = registry
        for listener in self._listeners:
            listener(registry)

    def on_change(self, listener: Callable[[Registry], None]) -> None:
        self._listeners.append(listener)

    def reload(self, engine: Engine) -> bool:
        """Read the registry from the database; replace the current one (and tell the
        listeners) when it differs. Returns whether it changed."""
        # A whole load every poll held the GIL for half a second at 10,000 devices, a stall
        # of the live path (py-spy of bench/alert_latency.py): load only when the version
        # moved.
        self._version, fresh = load_registry_if_changed(engine, self._version)
        if fresh is None:
            return False
        current = self._registry
        if (fresh.households, fresh.residents, fresh.devices) == (
                current.households, current.residents, current.devices):
            return False
        self.replace(fresh)
        return True

    def watch(self, engine: Engine, poll_s: float, stopping: threading.Event) -> None:
        """Reload from ``engine`` every ``poll_s`` in a daemon thread until ``stopping`` is
        set, so that changes made by other processes (``safehood registry``, the API of
        another process) reach this one."""
        def run() -> None:
            while not stopping.wait(poll_s):
                started_s = time.thread_time()
                try:
                    self.reload(engine)
                    self.poll_cpu_s = time.thread_time() - started_s
                except Exception:
                    log.exception("could not reload the registry; keeping the current one")

        threading.Thread(target=run, name="registry-watcher", daemon=True).start()


@dataclass
class Pipeline:
    """A running pipeline; build it with :func:`build_pipeline`, then ``start``/``stop``."""

    settings: Settings
    engine: Engine
    registry: RegistryHolder
    store: ReadingStore
    source: MqttSource
    ingest: IngestService
    deadletters: DeadLetterRecorder
    detection: DetectionStage
    alerts: AlertManager
    notifications: NotificationDispatcher
    api: ApiServer | None
    retention: RetentionTask
    registry_poll_s: float = REGISTRY_POLL_S
    webhooks: NotificationDispatcher | None = None
    home_assistant: HomeAssistantBridge | None = None
    handover: HandoverTimer | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list)
    _started: threading.Event = field(default_factory=threading.Event)
    _stopping: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        """Start ingest (raising ``mqtt.BrokerUnreachable``), then the API, and a watcher
        that picks up registry changes made by other processes (``safehood registry``)."""
        self.source.start()
        self.ingest.start()
        self._started.set()
        if self.home_assistant is not None:
            self.home_assistant.start()
        self.retention.start()
        if self.api is not None:
            self.api.start()
        # What start-up built (registry, detectors, modules: 200,000 objects at 10,000
        # devices) lives as long as the process: kept out of the garbage collector's full
        # passes, each of which stopped every thread for 0.1 s of CPU (0.3 s of wall here).
        settle_heap()
        self.registry.watch(self.engine, self.registry_poll_s, self._stopping)

    @property
    def api_url(self) -> str | None:
        return self.api.url if self.api is not None else None

    def stop(self) -> None:
        """Stop the API and ingest (finishing its batch), then everything downstream."""
        self._stopping.set()
        if self.api is not None:
            self.api.stop()
        if self._started.is_set():
            self.ingest.stop()
            self.source.stop()
        self.notifications.close()
        if self.webhooks is not None:
            self.webhooks.close()
        if self.home_assistant is not None:
            self.home_assistant.stop()
        self.retention.stop()
        stop_all(self._closers)
        self.store.close()
        self.engine.dispose()


def stop_all(stoppers: Sequence[Callable[[], object]]) -> None:
    """Call ``stoppers`` last first, each one even when one before it failed (that failure
    logged), so that a process always releases what it holds."""
    for stop in reversed(stoppers):
        try:
            stop()
        except Exception:
            log.exception("error while stopping %r", stop)


def open_database(settings: Settings) -> Engine:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_database_engine(settings.sqlalchemy_url)
    migrate(engine)
    return engine


def build_pipeline(
    settings: Settings,
    *,
    registry_file: RegistryFile | None = None,
    extra_handlers: list[MessageHandler] | None = None,
    extra_tick_handlers: list[TickHandler] | None = None,
    serve_api: bool = True,
    exercise: bool = False,
    fall_method: Literal["rules", "learned"] | None = None,
) -> Pipeline:
    """Build the live pipeline from settings. A ``registry_file`` (or ``settings.registry_file``)
    is imported into the database first; the database's registry is what ingest checks.
    With ``exercise`` every alert is marked as an exercise (simulated traffic); otherwise
    those of ``settings.exercise_sites`` are. ``fall_method`` overrides the detector
    settings' ``fall.method``; a fall model that cannot be used raises
    :class:`safehood.learning.ModelError` here, before anything starts."""
    return_large_blocks()
    engine = open_database(settings)
    if registry_file is None and settings.registry_file is not None:
        registry_file = Registry.load(settings.registry_file).to_model()
    if registry_file is not None:
        import_registry(engine, registry_file)
        # Dropped before the registry is loaded: freed after it, the file's models left
        # holes among the loaded registry's objects that no later object filled.
        registry_file = None
    registry = RegistryHolder.from_database(engine)
    dialects = load_dialects(settings.dialects_dir)

    def vendor_topics(current: Registry) -> list[str]:
        return SourceRouter(dialects, current, settings.topic_prefix).filters

    store = open_store(settings)
    source = MqttSource(
        settings.mqtt,
        topics=[f"{settings.topic_prefix}/#", *vendor_topics(registry.get())],
        client_id=settings.mqtt_client_id,
        session_expiry_s=settings.mqtt_session_expiry_s,
        keepalive_s=settings.mqtt_keepalive_s,
        protocol=settings.mqtt_protocol,
        queue_size=settings.ingest_queue_size,
    )
    deadletters = DeadLetterRecorder(
        engine,
        topic=deadletter_topic(settings.topic_prefix),
        publish=lambda topic, payload: source.publish(topic, payload),
        max_payload=settings.deadletter_max_payload_bytes,
    )
    policy = AlertPolicy.load(settings.alert_policy_file) if settings.alert_policy_file else AlertPolicy()
    detector_config = (DetectorConfig.load(settings.detector_config_file)
                       if settings.detector_config_file else DetectorConfig())
    if fall_method is not None:
        detector_config = dataclasses.replace(
            detector_config, fall=dataclasses.replace(detector_config.fall, method=fall_method))
    # Ingest drops repeated deliveries (its filter outlives a restart): the engine need not.
    detectors = DetectorEngine(registry.get(), detector_config, drop_duplicates=False)
    repository = SqlAlertRepository(engine)
    exercise_sites = frozenset(settings.exercise_sites)
    alert_pipeline = build_alert_pipeline(
        policy, repository, exercise=exercise or "*" in exercise_sites or exercise_sites)
    alerts = AlertManager(repository, alert_pipeline, registry=registry.get())
    directory = ContactDirectory(registry.get(), policy)
    public_url = settings.public_url or f"http://{settings.api_host}:{settings.api_port}"
    ack_tokens = _ack_tokens(settings)
    detection = DetectionStage(detectors, alerts)

    def event_clock(site: str) -> int | None:
        return detection.site_now_ms(site, time.time_ns() // 1_000_000)

    handover = HandoverTimer(AppriseNotifier())
    notifications = NotificationDispatcher(
        handover, repository, directory=directory, public_url=public_url,
        ack_links=AckLinks(ack_tokens, public_url), event_clock=event_clock)

    def notify(change: AlertChange) -> None:
        handover.committed(change)
        notifications.submit(change)
        if webhooks is not None:
            webhooks.submit(change)

    webhooks: NotificationDispatcher | None = None
    webhook_notifier: WebhookNotifier | None = None
    if settings.webhooks:
        endpoints = [WebhookEndpoint(w.name, w.url, w.secret.get_secret_value().encode(),
                                     tuple(w.sites), w.format) for w in settings.webhooks]
        webhook_notifier = WebhookNotifier(endpoints, public_url=public_url,
                                           cap_sender=settings.cap_sender)
        webhooks = NotificationDispatcher(
            webhook_notifier, repository, directory=directory, public_url=public_url,
            router=WebhookRouter(endpoints), event_clock=event_clock)
    alerts.subscribe(notify)
    home_assistant = None
    if settings.home_assistant:
        home_assistant = HomeAssistantBridge(
            settings.mqtt,
            HomeAssistantDiscovery(settings.home_assistant_discovery_prefix,
                                   settings.home_assistant_states),
            alerts, registry.get, sites=frozenset(settings.home_assistant_sites),
            client_id=f"{settings.mqtt_client_id}-ha")
        alerts.subscribe(home_assistant.on_change)
        registry.on_change(home_assistant.on_registry)
    registry.on_change(detection.update_registry)
    registry.on_change(directory.set_registry)
    registry.on_change(alerts.set_registry)
    registry.on_change(lambda current: source.subscribe(vendor_topics(current)))
    health = DeviceHealthRecorder(engine)
    seen = SeenLog(settings.seen_log_path, settings.dedup_retention_s)
    detection.resume(seen.site_times())
    handlers: list[MessageHandler] = [health, detection, *(extra_handlers or [])]
    ingest = IngestService(
        source,
        store,
        deadletters,
        registry=registry.get,
        topic_prefix=settings.topic_prefix,
        handlers=handlers,
        tick_handlers=[detection.tick, health.tick, *(extra_tick_handlers or [])],
        batch_size=settings.store_batch_size,
        dedup_window=settings.dedup_window,
        dedup_retention_s=settings.dedup_retention_s,
        seen=seen,
        dialects=dialects,
    )
    api = None
    if serve_api:
        app = create_app(ApiContext(
            settings=settings, engine=engine, alerts=alerts, store=store,
            broker_ready=source.connected.is_set, on_registry_change=registry.replace,
            # One registry in the process: the API's copy is the pipeline's (until changed).
            loaded_registry=(registry.version, registry.get()),
            ack_tokens=ack_tokens,
            event_clock=event_clock, simulated=exercise,
        ))
        api = ApiServer(app, host=settings.api_host, port=settings.api_port)
    pipeline = Pipeline(settings=settings, engine=engine, registry=registry, store=store,
                        source=source, ingest=ingest, deadletters=deadletters, detection=detection,
                        alerts=alerts, notifications=notifications, api=api,
                        retention=RetentionTask(settings, engine, store), webhooks=webhooks,
                        home_assistant=home_assistant, handover=handover)
    pipeline._closers.append(health.close)
    pipeline._closers.append(seen.close)
    if webhook_notifier is not None:
        pipeline._closers.append(webhook_notifier.close)
    return pipeline


def _ack_tokens(settings: Settings) -> AckTokens:
    """The signer of acknowledge links; without a configured secret, a random one that
    lives as long as this process (and its links with it)."""
    if settings.ack_secret is not None:
        secret = settings.ack_secret.get_secret_value().encode()
    else:
        log.info("no SAFEHOOD_ACK_SECRET: acknowledge links are valid until this process ends")
        secret = secrets.token_bytes(32)
    return AckTokens(secret, settings.ack_token_ttl_s)
