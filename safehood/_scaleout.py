"""The composition root of ``safehood run --engine nats``: one process of the scale-out
engine, with any of its roles (ingest worker, detector worker, API). Run as many processes
of each role, on as many machines, as the load needs; they share the NATS cluster, the
alert database (PostgreSQL) and the reading store (InfluxDB)."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from safehood.alerting import (
    AlertChange,
    AlertManager,
    AlertPolicy,
    AppriseNotifier,
    ContactDirectory,
    NotificationDispatcher,
    Notifier,
)
from safehood.alerting import build_pipeline as build_alert_pipeline
from safehood.api import ApiContext, ApiServer, create_app
from safehood.config import Settings
from safehood.database import SqlAlertRepository, import_registry
from safehood.detectors import DetectorConfig, DetectorEngine
from safehood.ingest import IngestService
from safehood.protocol import Registry
from safehood.scaleout import (
    DetectorWorker,
    JetStreamConnection,
    SourceWatchdog,
    build_ingest_worker,
    ensure_streams,
)
from safehood.store import open_store

from ._heap import return_large_blocks, settle_heap
from ._pipeline import REGISTRY_POLL_S, RegistryHolder, open_database, stop_all

log = logging.getLogger(__name__)

ROLES = ("ingest", "detector", "api")


@dataclass
class ScaleOutProcess:
    """A running process of the scale-out engine; ``start`` then ``stop``."""

    roles: tuple[str, ...]
    connection: JetStreamConnection
    registry: RegistryHolder
    alerts: AlertManager | None = None
    ingest: IngestService | None = None
    detector: DetectorWorker | None = None
    _starters: list[Callable[[], None]] = field(default_factory=list)
    _stoppers: list[Callable[[], object]] = field(default_factory=list)
    api_url: str | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        for start in self._starters:
            start()

    def stop(self) -> None:
        self._stopping.set()
        stop_all(self._stoppers)
        self.connection.close()


def build_scaleout(settings: Settings, roles: Collection[str] = ROLES, *,
                   notifier: Notifier | None = None,
                   registry_poll_s: float = REGISTRY_POLL_S) -> ScaleOutProcess:
    """Build a process with ``roles`` (some of :data:`ROLES`) from settings. The streams,
    consumers and state bucket are made if missing; the registry file of the settings, if
    any, is imported into the database first, and the database's registry is read again
    every ``registry_poll_s`` (workers and the API use the new one as the single process
    does). Notifications go through ``notifier`` (default: Apprise)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(sorted(unknown))}")
    if not settings.sqlalchemy_url.startswith("postgresql"):
        log.warning("the scale-out engine shares its alerts across processes: "
                    "use PostgreSQL (SAFEHOOD_DATABASE_URL), not %s", settings.sqlalchemy_url)
    return_large_blocks()
    engine = open_database(settings)
    if settings.registry_file is not None:
        import_registry(engine, Registry.load(settings.registry_file).to_model())
    holder = RegistryHolder.from_database(engine)
    registry = holder.get()
    name = f"safehood-{'-'.join(sorted(roles))}-{socket.gethostname()}-{os.getpid()}"
    connection = JetStreamConnection(settings.nats_url, name)
    process = ScaleOutProcess(tuple(roles), connection, holder)

    process._stoppers.append(engine.dispose)
    process._starters.append(lambda: holder.watch(engine, registry_poll_s, process._stopping))
    try:
        ensure_streams(connection, settings)
    except Exception:
        process.stop()
        raise
    store = open_store(settings) if {"ingest", "api"} & set(roles) else None
    if store is not None:
        process._stoppers.append(store.close)
    policy = (AlertPolicy.load(settings.alert_policy_file) if settings.alert_policy_file
              else AlertPolicy())
    repository = SqlAlertRepository(engine)
    alerts = AlertManager(repository, build_alert_pipeline(
        policy, repository, exercise="*" in settings.exercise_sites or
        frozenset(settings.exercise_sites)), registry=registry)
    holder.on_change(alerts.set_registry)
    process.alerts = alerts
    if "ingest" in roles:
        assert store is not None
        ingest = process.ingest = build_ingest_worker(settings, connection, engine, store,
                                                      holder.get)
        process._starters.append(ingest.start)
        process._stoppers.append(ingest.stop)
        watchdog = SourceWatchdog(connection)
        process._starters.append(watchdog.start)
        process._stoppers.append(watchdog.stop)
    if "detector" in roles:
        directory = ContactDirectory(registry, policy)
        holder.on_change(directory.set_registry)
        notifications = NotificationDispatcher(
            notifier or AppriseNotifier(), repository, directory=directory,
            public_url=settings.public_url or f"http://{settings.api_host}:{settings.api_port}")
        def notify(change: AlertChange) -> None:
            notifications.submit(change)

        alerts.subscribe(notify)
        config = (DetectorConfig.load(settings.detector_config_file)
                  if settings.detector_config_file else DetectorConfig())
        # One engine up front reads the fall model once (and fails here if it cannot).
        fall_classifier = DetectorEngine(registry, config).fall_classifier
        detector = process.detector = DetectorWorker(connection, alerts, registry, config,
                                  topic_prefix=settings.topic_prefix,
                                  partitions=settings.nats_partitions,
                                  pin_timeout_s=settings.nats_pin_timeout_s,
                                  fall_classifier=fall_classifier)
        holder.on_change(detector.update_registry)
        process._starters.append(detector.start)
        process._stoppers.append(notifications.close)
        process._stoppers.append(detector.stop)
    if "api" in roles:
        assert store is not None
        app = create_app(ApiContext(
            settings=settings, engine=engine, alerts=alerts, store=store,
            broker_ready=lambda: connection.client.is_connected,
            on_registry_change=holder.replace))
        api = ApiServer(app, host=settings.api_host, port=settings.api_port)
        process._starters.append(api.start)
        process._stoppers.append(api.stop)
        process.api_url = api.url
    # Last: what the roles built at start lives as long as the process.
    process._starters.append(settle_heap)
    return process
