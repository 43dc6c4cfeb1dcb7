"""``safehood resident export|erase`` on a real database and both reading stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, insert, select

from safehood._pipeline import open_database
from safehood.cli import main
from safehood.config import Settings
from safehood.database import api_tokens, import_registry, load_registry
from safehood.database._tables import alert_history, alerts, notification_attempts
from safehood.store import ReadingStore, open_store
from tests._influxdb import InfluxServer
from tests.database.test_retention import alert_row
from tests.protocol.test_contract import REGISTRY
from tests.store._samples import T0, message

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(params=["sqlite", "influx"])
def settings(request: pytest.FixtureRequest, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("SAFEHOOD_DATA_DIR", str(tmp_path / "data"))
    # Readings of 2023 are within the retention of the export.
    monkeypatch.setenv("SAFEHOOD_RETENTION_READINGS_DAYS", "36500")
    if request.param == "influx":
        influxdb: InfluxServer = request.getfixturevalue("influxdb")
        monkeypatch.setenv("SAFEHOOD_INFLUX_URL", influxdb.client_url)
        monkeypatch.setenv("SAFEHOOD_INFLUX_BUCKET", request.getfixturevalue("influx_database"))
    yield Settings.load()


def _populate(settings: Settings, *, open_alert: bool = False) -> Engine:
    engine = open_database(settings)
    import_registry(engine, REGISTRY.to_model())
    with engine.begin() as connection:
        connection.execute(insert(alerts), [
            alert_row("a-sos", resolved_ms=None if open_alert else T0 + 60_000, started_ms=T0),
            {**alert_row("a-smoke", resolved_ms=T0 + 60_000, started_ms=T0), "resident": None},
        ])
        connection.execute(insert(alert_history), [
            {"alert_id": "a-sos", "at_ms": T0, "action": "acknowledged", "actor": "officer Chen",
             "note": "called her daughter on 138 0000 0000"}])
        connection.execute(insert(notification_attempts), [
            {"alert_id": "a-sos", "key": f"k-{audience}", "change": "raised", "revision": 1,
             "tier": 0, "audience": audience, "target": target, "url": url, "attempt": 1,
             "at_ms": T0, "ok": True, "result": "sent"}
            for audience, target, url in (("family", "daughter", "mailto://li@example.org"),
                                          ("officer", "duty", "ntfy://duty-desk"))])
        connection.execute(insert(api_tokens), [
            {"id": "t-family", "token_hash": "x", "role": "family", "name": "daughter",
             "sites": [], "residents": ["r001"], "created_ms": T0}])
    with open_store(settings) as store:
        store.write([
            message("r001-band", "event", T0 + 5, kind="wearable", event="fall", seq=1,
                    household="h001"),
            message("h001-smoke-kitchen", "event", T0 + 6, kind="smoke", event="alarm", seq=2,
                    household="h001"),
        ])
        store.flush()
    return engine


def _times(store: ReadingStore, device_id: str) -> list[int]:
    return [r.ts_ms for r in store.query(device_id, 0, T0 + 60_000)]


def test_export_then_erase(settings: Settings, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    engine = _populate(settings)
    output = tmp_path / "r001.json"

    assert main(["resident", "export", "r001", "--output", str(output)]) == 0

    exported = orjson.loads(output.read_bytes())
    assert exported["resident"]["name"] == "Wang Fang"
    assert exported["household"]["id"] == "h001"
    assert [d["device_id"] for d in exported["devices"]] == ["r001-band"]
    [sos] = exported["alerts"]
    assert sos["id"] == "a-sos"
    assert sos["history"][0]["note"] == "called her daughter on 138 0000 0000"
    assert {n["audience"] for n in sos["notifications"]} == {"family", "officer"}
    assert [(r["ts_ms"], r["fields"]["event"]) for r in exported["readings"]["r001-band"]] == [
        (T0 + 5, "fall")]

    assert main(["resident", "erase", "r001"]) == 0
    assert "1 alerts anonymised" in capsys.readouterr().out

    registry = load_registry(engine)
    assert "r001" not in registry.residents and "r001-band" not in registry.devices
    assert "h001-smoke-kitchen" in registry.devices
    with engine.connect() as connection:
        kept = {r.id: r.resident for r in connection.execute(select(alerts))}
        notes = list(connection.execute(select(alert_history.c.note)).scalars())
        urls = dict(connection.execute(select(notification_attempts.c.audience,
                                              notification_attempts.c.url)).all())
        token = connection.execute(select(api_tokens)).one()
    assert kept == {"a-sos": None, "a-smoke": None}
    assert notes == [None]
    assert urls == {"family": "erased", "officer": "ntfy://duty-desk"}
    assert token.residents == [] and token.revoked_ms is not None
    with open_store(settings) as store:
        assert _times(store, "r001-band") == []
        assert _times(store, "h001-smoke-kitchen") == [T0 + 6]
    engine.dispose()

    assert main(["resident", "export", "r001", "--output", str(output)]) == 2
    assert main(["resident", "erase", "r001"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["safehood resident: no resident 'r001' is registered"] * 2


def test_erase_is_refused_while_an_alert_about_the_resident_is_open(
        settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    engine = _populate(settings, open_alert=True)
    assert main(["resident", "erase", "r001"]) == 1
    assert "alert a-sos about resident 'r001' is open" in capsys.readouterr().err
    assert "r001" in load_registry(engine).residents
    with open_store(settings) as store:
        assert _times(store, "r001-band") == [T0 + 5]
    engine.dispose()
