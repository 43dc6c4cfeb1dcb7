"""10,000 fuzzed messages through a running `safehood run`: each is stored, dead-lettered with
a reason or dropped as a duplicate, the counts add up, and the pipeline stays healthy."""

from __future__ import annotations

import random
import re
from pathlib import Path

import httpx
import orjson
import sqlalchemy as sa

from safehood._broker import MosquittoBroker
from safehood.database import metadata
from safehood.protocol.const import MAX_TS_MS, MIN_TS_MS
from safehood.store import SqliteReadingStore
from tests._mqtt import publish_all, wait_until

from ._harness import BUTTON, MOTION, SITE, T0, PipelineProcess, fault_registry, pipeline_env

MESSAGES = 10_000
FIELDS = ("ts", "seq", "kind", "event", "occupancy", "online", "battery", "rssi", "smoke", "extra")
ODD_VALUES: tuple[object, ...] = (
    None, True, False, 0, -1, 1.5, 2**63, "", "0.31", "x" * 300, [], {}, [1, 2], {"a": 1},
    "2016-12-31T23:59:60Z", "\u0000\u0007", 1e308, MIN_TS_MS - 1, MAX_TS_MS + 1,
)
TOPIC_CHARACTERS = "abcxyz019-_./ \u00e9\u4e2d"


def fuzzed(prefix: str, rng: random.Random, index: int) -> tuple[str, bytes]:
    """Message ``index``: a valid reading, one with a field changed, removed or added, raw
    bytes, or an odd topic."""
    device = rng.choice((MOTION, MOTION, BUTTON, "h404-unknown"))
    kind = "button" if device == BUTTON else "motion"
    body: dict[str, object] = {"ts": T0 + index * 1000, "seq": index, "kind": kind,
                               "event": "sos" if kind == "button" else "motion"}
    channel = rng.choice(("event", "event", "telemetry", "status"))
    topic = f"{prefix}/v1/{SITE}/{device}/{channel}"
    choice = rng.random()
    if choice < 0.5:
        for _ in range(rng.randint(1, 3)):
            body[rng.choice(FIELDS)] = rng.choice(ODD_VALUES)
    elif choice < 0.6:
        body.pop(rng.choice(FIELDS), None)
    elif choice < 0.7:
        return topic, rng.randbytes(rng.randint(0, 64))
    elif choice < 0.8:
        levels = ["".join(rng.choices(TOPIC_CHARACTERS, k=rng.randint(0, 8)))
                  for _ in range(rng.randint(0, 5))]
        topic = "/".join([prefix, "v1", *levels])
    try:
        return topic, orjson.dumps(body)
    except TypeError:  # integers beyond 64 bits: sent as the literal text
        return topic, repr(body).encode()


def metric_total(metrics: str, name: str) -> int:
    return int(sum(float(value) for value in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", metrics, re.M)))


def test_fuzzed_messages_all_stored_or_dead_lettered(mosquitto: MosquittoBroker, topic_prefix: str,
                                                     tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = pipeline_env(mosquitto.url, topic_prefix, data, fault_registry())
    api = f"http://127.0.0.1:{env['SAFEHOOD_API_PORT']}"
    pipeline = PipelineProcess(env)
    pipeline.start()
    try:
        rng = random.Random(11)
        publish_all(mosquitto.host, mosquitto.port,
                    [fuzzed(topic_prefix, rng, index) for index in range(MESSAGES)])

        def counts() -> tuple[int, int, int]:
            metrics = httpx.get(f"{api}/metrics", timeout=10).text
            return (metric_total(metrics, "safehood_messages_total"),
                    metric_total(metrics, "safehood_dead_letters_total"),
                    metric_total(metrics, "safehood_duplicates_total"))

        wait_until(lambda: sum(counts()) >= MESSAGES, timeout_s=180, what="every message handled")
        valid, dead, duplicates = counts()
        assert valid + dead + duplicates == MESSAGES
        assert httpx.get(f"{api}/readyz", timeout=10).status_code == 200
        assert pipeline.running

        wait_until(lambda: stored_rows(data) == valid, timeout_s=60, what="the valid messages stored")
        assert dead_letter_rows(data / "safehood.db") == dead
        print(f"fuzz: published {MESSAGES}, stored {valid}, dead-lettered {dead}, "
              f"duplicates {duplicates}")
        assert valid > 1000 and dead > 1000, "the fuzz no longer mixes good and bad messages"
    finally:
        pipeline.stop()


def stored_rows(data: Path) -> int:
    with SqliteReadingStore(data / "readings.db") as store:
        return sum(len(store.query(device, MIN_TS_MS, MAX_TS_MS, limit=1_000_000))
                   for device in (MOTION, BUTTON))


def dead_letter_rows(database: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count()).select_from(metadata.tables["dead_letters"])).scalar_one()
    finally:
        engine.dispose()
