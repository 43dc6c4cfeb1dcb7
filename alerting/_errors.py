"""Errors of the alerting package.

::

    AlertingError
    ├── NotFound                (API: 404)
    │   ├── AlertNotFound
    │   └── SilenceNotFound
    ├── InvalidTransition       (API: 409; e.g. acknowledging a resolved alert)
    ├── InvalidSilence          (also a ValueError; API: 422)
    ├── PolicyError             (also a ValueError; a bad policy file)
    ├── WriteConflict           (optimistic writes kept losing to another process)
    └── StorageError            (the database failed; API: 503)
"""

from __future__ import annotations


class AlertingError(Exception):
    """Base of every error the alerting package raises on purpose."""


class NotFound(AlertingError, LookupError):
    """No such alert or silence."""


class AlertNotFound(NotFound):
    """No alert with this id."""

    def __init__(self, alert_id: str) -> None:
        super().__init__(f"no alert {alert_id!r}")
        self.alert_id = alert_id


class SilenceNotFound(NotFound):
    """No silence with this id."""

    def __init__(self, silence_id: str) -> None:
        super().__init__(f"no silence {silence_id!r}")
        self.silence_id = silence_id


class InvalidTransition(AlertingError):
    """The alert's status does not allow this action (``status`` is its current status)."""

    def __init__(self, alert_id: str, status: str, action: str, detail: str | None = None) -> None:
        super().__init__(detail or f"cannot {action} alert {alert_id!r}: it is {status}")
        self.alert_id = alert_id
        self.status = status
        self.action = action


class InvalidSilence(AlertingError, ValueError):
    """A silence that matches nothing or ends before it starts."""


class PolicyError(AlertingError, ValueError):
    """An alert policy that cannot be used (bad file, unknown audience, fire auto-resolving)."""


class WriteConflict(AlertingError):
    """Another writer kept changing the same alert; the action was not applied."""


class StorageError(AlertingError):
    """The alert database failed (unreachable, locked for too long, out of space)."""
