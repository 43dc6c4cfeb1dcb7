"""The composition root of the live pipeline: builds every component from settings and
connects them. Data flows one way: MQTT -> ingest -> store + detectors -> alerting."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from config import Settings
from database import create_database_engine, import_registry, load_registry, migrate
from ingest import (
    DeadLetterRecorder,
    DeviceHealthRecorder,
    IngestService,
    MessageHandler,
    MqttSource,
    TickHandler,
)
from protocol import Registry, RegistryFile
from store import ReadingStore, open_store

log = logging.getLogger(__name__)


class RegistryHolder:
    """The current registry; replaced whole when it changes (readers never see half)."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._listeners: list[Callable[[Registry], None]] = []

    def get(self) -> Registry:
        return self._registry

    def replace(self, registry: Registry) -> None:
        self._registry = registry
        for listener in self._listeners:
            listener(registry)

    def on_change(self, listener: Callable[[Registry], None]) -> None:
        self._listeners.append(listener)


@dataclass
class Pipeline:
    """A running pipeline; build it with :func:`build_pipeline`, then ``start``/``stop``."""

    settings: Settings
    engine: Engine
    registry: RegistryHolder
    store: ReadingStore
    ingest: IngestService
    deadletters: DeadLetterRecorder
    _closers: list[Callable[[], None]] = field(default_factory=list)
    _started: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self.ingest.start()
        self._started.set()

    def stop(self) -> None:
        """Stop ingest first (finishing its batch), then everything downstream, in order."""
        if self._started.is_set():
            self.ingest.stop()
        for close in reversed(self._closers):
            try:
                close()
            except Exception:
                log.exception("error while closing %r", close)
        self.store.close()
        self.engine.dispose()

    def reload_registry(self) -> None:
        self.registry.replace(load_registry(self.engine))


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
) -> Pipeline:
    """Build the live pipeline from settings. A ``registry_file`` (or ``settings.registry_file``)
    is imported into the database first; the database's registry is what ingest checks."""
    engine = open_database(settings)
    if registry_file is None and settings.registry_file is not None:
        registry_file = Registry.load(settings.registry_file).to_model()
    if registry_file is not None:
        import_registry(engine, registry_file)
    registry = RegistryHolder(load_registry(engine))
    store = open_store(settings)
    source = MqttSource(
        settings.mqtt,
        topics=[f"{settings.topic_prefix}/#"],
        client_id=settings.mqtt_client_id,
        session_expiry_s=settings.mqtt_session_expiry_s,
        keepalive_s=settings.mqtt_keepalive_s,
        protocol=settings.mqtt_protocol,
        queue_size=settings.ingest_queue_size,
        ca_file=str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None,
    )
    deadletters = DeadLetterRecorder(
        engine,
        topic=f"{settings.topic_prefix}/v1/_deadletter",
        publish=lambda topic, payload: source.publish(topic, payload),
        max_payload=settings.deadletter_max_payload_bytes,
    )
    handlers: list[MessageHandler] = [DeviceHealthRecorder(engine), *(extra_handlers or [])]
    ingest = IngestService(
        source,
        store,
        deadletters,
        registry=registry.get,
        topic_prefix=settings.topic_prefix,
        handlers=handlers,
        tick_handlers=list(extra_tick_handlers or []),
        batch_size=settings.store_batch_size,
        dedup_window=settings.dedup_window,
    )
    return Pipeline(settings=settings, engine=engine, registry=registry, store=store,
                    ingest=ingest, deadletters=deadletters)
