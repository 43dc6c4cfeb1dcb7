"""Live mode and the replayer against a real mosquitto."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import orjson
import pytest

from safehood._broker import MosquittoBroker, free_port
from safehood.cli import main
from safehood.simulators import (
    BrokerUnreachable,
    Community,
    LiveSimulator,
    Replayer,
    ScenarioRequest,
    SimulationConfig,
    write_recording,
)
from tests._mqtt import Subscriber, wait_until


@pytest.fixture(scope="module")
def small_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A quarter of a day of 20 households."""
    out = tmp_path_factory.mktemp("small")
    write_recording(out, Community.generate(20, seed=9), SimulationConfig(seed=9, days=0.25),
                    progress=False)
    return out


def test_the_replayer_publishes_every_message_in_order(mosquitto: MosquittoBroker,
                                                        small_recording: Path,
                                                        topic_prefix: str) -> None:
    lines = (small_recording / "traffic.jsonl").read_bytes().splitlines()
    subscriber = Subscriber(mosquitto.host, mosquitto.port, f"{topic_prefix}/#")
    try:
        replayer = Replayer(small_recording / "traffic.jsonl", mosquitto.url, speed=None,
                            topic_prefix=topic_prefix)
        stats = replayer.run()
        assert stats.published == len(lines) and not stats.errors
        wait_until(lambda: len(subscriber.messages) >= len(lines), 60, "every replayed message")
        received = list(subscriber.messages)
    finally:
        subscriber.close()
    assert len(received) == len(lines)
    for line, message in zip(lines, received, strict=True):
        record = orjson.loads(line)
        assert message.topic == record["topic"].replace("safehood/", f"{topic_prefix}/", 1)
        assert orjson.loads(message.payload) == record["payload"]
    # Status messages were published retained: a late subscriber gets the last of each.
    late = Subscriber(mosquitto.host, mosquitto.port, f"{topic_prefix}/v1/+/+/status")
    try:
        wait_until(lambda: len(late.messages) > 0, 10, "retained status messages")
        assert all(m.retain for m in late.messages)
    finally:
        late.close()


def test_the_replayer_keeps_the_recorded_gaps_divided_by_speed(mosquitto: MosquittoBroker,
                                                               tmp_path: Path,
                                                               topic_prefix: str) -> None:
    start = 1_772_409_600_000
    path = tmp_path / "gaps.jsonl"
    path.write_bytes(b"".join(
        orjson.dumps({"topic": "safehood/v1/s1/d1/telemetry",
                      "payload": {"ts": start + i * 60_000, "kind": "motion", "occupancy": True}})
        + b"\n" for i in range(4)))
    subscriber = Subscriber(mosquitto.host, mosquitto.port, f"{topic_prefix}/#")
    try:
        Replayer(path, mosquitto.url, speed=120, topic_prefix=topic_prefix).run()
        wait_until(lambda: len(subscriber.messages) == 4, 30, "four messages")
        arrivals = [m.timestamp for m in subscriber.messages]
    finally:
        subscriber.close()
    gaps = np.diff(arrivals)
    # A minute of event time at 120x is half a second of wall time.
    assert np.all(gaps > 0.35) and np.all(gaps < 1.5), gaps


def test_live_mode_publishes_with_event_time_advancing_at_speed(mosquitto: MosquittoBroker,
                                                                topic_prefix: str) -> None:
    community = Community.generate(30, seed=6)
    start = int(time.time() * 1000)
    config = SimulationConfig(seed=6, scenarios=(), topic_prefix=topic_prefix)
    subscriber = Subscriber(mosquitto.host, mosquitto.port, f"{topic_prefix}/#")
    simulator = LiveSimulator(community, mosquitto.url, config=config, speed=600,
                              start_ms=start, connections=3)
    try:
        simulator.start()
        wait_until(lambda: len(subscriber.messages) > 800, 60, "live traffic")
    finally:
        simulator.stop()
        subscriber.close()
    assert simulator.error is None
    assert simulator.stats.total >= 800
    points = np.array([(m.timestamp, orjson.loads(m.payload)["ts"]) for m in subscriber.messages
                       if m.topic.endswith("/telemetry")], dtype=float)
    assert points[:, 1].min() >= start
    slope = np.polyfit(points[:, 0] - points[0, 0], (points[:, 1] - points[0, 1]) / 1000, 1)[0]
    # Paced, never ahead: event time advances at most at the requested speed (on a loaded
    # machine it may fall behind, which is no fault of the pacing).
    assert 0 < slope < 700  # event seconds per wall second
    event_s = (points[:, 1] - points[0, 1]) / 1000
    wall_s = points[:, 0] - points[0, 0]  # paho's receive time (monotonic)
    assert (event_s - 600 * wall_s).max() < 60  # one simulated minute of slack


def test_a_device_taken_offline_gets_its_will_published_by_the_broker(mosquitto: MosquittoBroker,
                                                                      topic_prefix: str) -> None:
    community = Community.generate(10, seed=3)
    start = int(time.time() * 1000)
    household = community.households[2]
    config = SimulationConfig(
        seed=3, scenarios=(), topic_prefix=topic_prefix,
        requests=(ScenarioRequest("device_offline", start + 60_000, household.id),),
    )
    subscriber = Subscriber(mosquitto.host, mosquitto.port, f"{topic_prefix}/v1/+/+/status")
    simulator = LiveSimulator(community, mosquitto.url, config=config, speed=120, start_ms=start)
    try:
        simulator.start()
        wait_until(lambda: any(orjson.loads(m.payload).get("online") is False
                               for m in subscriber.messages), 30, "a last will")
    finally:
        simulator.stop()
        subscriber.close()
    assert simulator.stats.own_connections >= 1 and simulator.stats.wills_cut == 1
    wills = [m for m in subscriber.messages if orjson.loads(m.payload).get("online") is False]
    assert len(wills) == 1
    device_id = wills[0].topic.split("/")[-2]
    assert device_id in household.device_ids()
    # The will payload is the one set at connect time: no event time, so the broker sent it.
    assert orjson.loads(wills[0].payload) == {"online": False, "will": True}
    late = Subscriber(mosquitto.host, mosquitto.port, wills[0].topic)
    try:
        wait_until(lambda: len(late.messages) == 1, 10, "the retained will")
        assert orjson.loads(late.messages[0].payload)["online"] is False
    finally:
        late.close()


def test_an_unreachable_broker_is_a_clear_error(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    url = f"mqtt://127.0.0.1:{free_port()}"
    with pytest.raises(BrokerUnreachable, match="cannot reach broker"):
        LiveSimulator(Community.generate(2, seed=1), url).start()
    assert main(["simulate", "--live", "--broker", url, "--households", "2"]) == 2
    path = tmp_path / "one.jsonl"
    path.write_bytes(b'{"topic": "safehood/v1/s/d/status", "payload": {"online": true}}\n')
    assert main(["replay", str(path), "--broker", url, "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"safehood simulate: cannot reach broker {url}: Connection refused",
                   f"safehood replay: cannot reach broker {url}: Connection refused"]


def test_the_commands_record_and_replay(mosquitto: MosquittoBroker, tmp_path: Path,
                                        topic_prefix: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rec"
    assert main(["simulate", "--households", "4", "--days", "0.1", "--seed", "2", "--scenarios",
                 "none", "--at", "sos@+1h@h0001", "--out", str(out), "--no-progress"]) == 0
    assert "wrote" in capsys.readouterr().out
    labels = [orjson.loads(line) for line in (out / "labels.jsonl").read_bytes().splitlines()]
    assert [label["type"] for label in labels] == ["sos"]
    count = len((out / "traffic.jsonl").read_bytes().splitlines())
    subscriber = Subscriber(mosquitto.host, mosquitto.port, f"{topic_prefix}/#")
    try:
        assert main(["replay", str(out / "traffic.jsonl"), "--broker", mosquitto.url, "--speed",
                     "max", "--topic-prefix", topic_prefix, "--no-progress"]) == 0
        wait_until(lambda: len(subscriber.messages) == count, 30, "the replayed recording")
    finally:
        subscriber.close()
    assert main(["simulate", "--out", str(out), "--at", "sos@yesterday"]) == 2
    assert main(["simulate", "--out", str(out), "--at", "nothing@+1h"]) == 2
    err = capsys.readouterr().err
    assert "bad time 'yesterday'" in err and "unknown scenario 'nothing'" in err


def test_live_mode_refuses_an_impossible_request_before_connecting() -> None:
    community = Community.generate(5, seed=1)
    noon = 1_772_424_000_000  # 2026-03-02 12:00 in Shanghai
    config = SimulationConfig(seed=1, scenarios=(),
                              requests=(ScenarioRequest("night_wandering", noon + 60_000),))
    with pytest.raises(ValueError, match="night hours"):
        LiveSimulator(community, f"mqtt://127.0.0.1:{free_port()}", config=config, start_ms=noon)
