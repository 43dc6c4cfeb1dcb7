"""The front door of the alerting package: exactly the documented names."""

import subprocess
import sys

from safehood import alerting


def test_public_names() -> None:
    assert sorted(alerting.__all__) == sorted([
        "AlertChange", "AlertManager", "AlertNotFound", "AlertPipeline", "AlertPolicy",
        "AlertQuery", "AlertRecord", "AlertRepository", "AlertingError", "AppriseNotifier",
        "ContactDirectory", "DeliveryAttempt", "DeliveryResult", "DispatcherStats",
        "EscalationTier", "HistoryEntry", "InMemoryAlertRepository", "InhibitRule",
        "InvalidSilence", "InvalidTransition", "Mute", "Muter", "NotFound", "Notification",
        "NotificationDispatcher", "NotificationLog", "Notifier", "PolicyError",
        "RecordingNotifier", "Silence", "SilenceNotFound", "StorageError", "Target",
        "TypePolicy", "WriteConflict", "build_pipeline", "open_key", "render_cap",
        "render_cap_feed",
    ])
    public = {name for name in vars(alerting) if not name.startswith("_")}
    assert public - set(alerting.__all__) == {"const"}


def test_importing_alerting_leaves_sqlalchemy_out() -> None:
    # A fresh interpreter: this test process has SQLAlchemy loaded already.
    probe = "import sys, safehood.alerting; print('sqlalchemy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"
