"""The front door of the alerting package: exactly the documented names."""

from safehood import alerting


def test_public_names() -> None:
    assert sorted(alerting.__all__) == sorted([
        "AlertChange", "AlertManager", "AlertNotFound", "AlertPolicy", "AlertQuery",
        "AlertRepository", "AlertingError", "AppriseNotifier", "ContactDirectory",
        "DeliveryResult", "DispatcherStats", "EscalationTier", "InMemoryAlertRepository", "InhibitRule",
        "InvalidSilence", "InvalidTransition", "NotFound", "Notification",
        "NotificationDispatcher", "Notifier", "PolicyError", "RecordingNotifier", "Silence",
        "SilenceNotFound", "SqlAlertRepository", "StorageError", "Target", "TypePolicy",
        "WriteConflict", "render_cap", "render_cap_feed",
    ])
    public = {name for name in vars(alerting) if not name.startswith("_")}
    assert public - set(alerting.__all__) == {"const"}
