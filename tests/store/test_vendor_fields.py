"""A vendor device's extra readings and a receipt-stamped event time, through both stores."""

from __future__ import annotations

import dataclasses

from safehood.protocol import DeviceEvent, Message, Placement
from safehood.store import ReadingStore, as_stored

from ._samples import T0


def test_extras_and_ts_from_receipt_come_back_as_written(store: ReadingStore) -> None:
    message = dataclasses.replace(
        Message.from_reading(DeviceEvent(ts=T0, kind="smoke", event="alarm", battery=87),
                             Placement("h1-smoke", "xianlin-3", household="h1")),
        ts_from_receipt=True,
        # Shelly's dotted, coloned paths; a name a contract field holds; a list as JSON text.
        extras=(("linkquality", 120), ("params.smoke:0.mute", False), ("battery", 3),
                ("msg", "hi"), ("update.state", "idle"), ("zones", "[1,2]")),
    )
    store.write([message])
    store.flush()
    [stored] = store.query("h1-smoke", T0, T0 + 1)
    assert stored == as_stored(message)
    assert stored.fields == {
        "event": "alarm", "battery": 87.0, "ts_from_receipt": True, "linkquality": 120.0,
        "params.smoke:0.mute": False, "extra.battery": 3.0, "extra.msg": "hi",
        "update.state": "idle", "zones": "[1,2]"}
