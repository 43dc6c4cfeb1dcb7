"""The pipeline is assembled outside the manager: a muter of one's own joins the mute stage."""

from __future__ import annotations

from safehood.alerting import (
    AlertManager,
    AlertPolicy,
    AlertRecord,
    InMemoryAlertRepository,
    Mute,
    build_pipeline,
)

from .conftest import decision


class HouseholdDrill:
    """Mutes the alerts of one household during a fire drill."""

    marker = "silenced_by"
    action = "silenced"

    def mutes(self, alert: AlertRecord, at_ms: int) -> Mute | None:
        return Mute("drill-h001", "fire drill") if alert.household == "h001" else None


def test_a_muter_of_ones_own_records_but_does_not_notify() -> None:
    repository = InMemoryAlertRepository()
    manager = AlertManager(repository, build_pipeline(AlertPolicy(), repository,
                                                      muters=[HouseholdDrill()]))
    [drilled] = manager.apply([decision("fall")])
    [real] = manager.apply([decision("fall", subject="r009", household="h009",
                                     resident="r009", device_id="r009-band")])
    assert not drilled.notify and drilled.alert.silenced_by == "drill-h001"
    assert [(e.action, e.note) for e in drilled.alert.history][-1] == ("silenced", "fire drill")
    assert real.notify and real.alert.silenced_by is None
