"""Each package's front door is its ``__all__``: nothing public leaks out beside it (as in
httpx's test of the same name), and everything it names exists. Where a package's front door
is pinned below, a new public name must be added on purpose."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = ["protocol", "config", "mqtt", "database", "dialects", "ingest", "store", "detectors",
            "alerting", "api", "dashboards", "simulators", "wellbeing", "learning", "scaleout"]

PINNED = {
    "alerting": [
        "AlertChange", "AlertManager", "AlertNotFound", "AlertPipeline", "AlertPolicy",
        "AlertQuery", "AlertRecord", "AlertRepository", "AlertingError", "AppriseNotifier",
        "ContactDirectory", "DeliveryAttempt", "DeliveryResult", "DispatcherStats",
        "EscalationTier", "HandoverReport", "HistoryEntry", "InMemoryAlertRepository", "InhibitRule",
        "InvalidSilence", "InvalidTransition", "Mute", "Muter", "NotFound", "Notification",
        "NotificationDispatcher", "NotificationLog", "Notifier", "PolicyError",
        "RecordingNotifier", "ResponseRow", "ShiftSchedule", "Silence", "SilenceNotFound",
        "StorageError", "Target", "TypePolicy", "WeeklyWindow", "WriteConflict", "build_pipeline",
        "handover_report", "mask_url", "open_key", "render_cap", "render_cap_feed",
        "response_metrics",
        "AckLinks", "AckTokens", "AudienceRouter", "CommitItem", "HomeAssistantDiscovery", "InvalidAckToken",
        "Router", "WebhookEndpoint", "WebhookNotifier", "WebhookRouter", "verify_webhook",
    ],
    "dashboards": ["GRAFANA_DIR", "PAGES", "WEB_DIR", "render_pages"],
    "learning": [
        "FEATURE_IMPACT_G", "FEATURE_NAMES", "FEATURE_VERSION", "Aftermath", "FallClassifier", "ModelError",
        "WindowBatch", "aftermath", "angle_deg", "feature_matrix", "shipped_model_path",
        "tail_directions",
    ],
    "detectors": ["Detector", "DetectorConfig", "DetectorEngine", "EngineStats"],
    "api": [
        "AlertBroadcaster", "AlertFamilyView", "AlertPublic", "ApiContext", "ApiServer",
        "IssuedToken", "MqttCredentials", "Principal", "Provisioner", "ProvisioningError",
        "RedactTokens", "RegistryError", "RegistryService", "Role", "TokenError",
        "TokenNotFound", "TokenRecord", "TokenStore", "create_app", "erase_resident_data",
        "export_resident_data", "mosquitto_hash", "verify_mosquitto_hash",
    ],
    "store": [
        "InfluxReadingStore", "ReadingStore", "SqliteReadingStore", "StoreError",
        "StoredReading", "as_stored", "open_store", "to_line",
    ],
    "simulators": [
        "POPULATIONS", "SCENARIOS", "BrokerUnreachable", "Community", "LiveSimulator",
        "LiveStats", "Population", "Radio", "RecordingSummary", "ReplayStats", "Replayer",
        "ScenarioRequest", "SimMessage", "Simulation", "SimulationConfig",
        "describe_scenarios", "parse_scenario_names", "simulate",
        "write_recording",
    ],
}


@pytest.mark.parametrize("name", PACKAGES)
def test_public_names_are_exactly_all(name: str) -> None:
    package = importlib.import_module(f"safehood.{name}")
    exported = set(package.__all__)
    assert len(exported) == len(package.__all__), "a name is listed twice"
    missing = {n for n in exported if not hasattr(package, n)}
    assert not missing, f"{name}.__all__ names what it does not have: {missing}"
    public = {n for n, value in vars(package).items()
              if not n.startswith("_") and not isinstance(value, types.ModuleType)
              and n != "annotations"}
    assert public - exported == set(), f"{name} exposes names outside __all__"


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_front_doors(name: str) -> None:
    package = importlib.import_module(f"safehood.{name}")
    assert sorted(package.__all__) == sorted(PINNED[name])
