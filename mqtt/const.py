"""Constants of the MQTT edge."""

from typing import Final

# paho doubles its reconnect delay up to the maximum; a low cap has ingest back within a
# couple of seconds of the broker, and one attempt a second costs a broker nothing.
RECONNECT_MIN_DELAY_S: Final = 1
RECONNECT_MAX_DELAY_S: Final = 2
CONNECT_TIMEOUT_S: Final = 5.0
# CONNACK reason codes that refuse the login (3.1.1: 4, 5; MQTT 5: 134, 135): no other
# protocol version will do better.
LOGIN_REFUSED: Final = frozenset({4, 5, 134, 135})
# Publishes in flight or queued in paho before the publisher waits for acknowledgements.
PUBLISH_WINDOW: Final = 2_000
# How long a publisher waits for its broker to come back (a NATS node failing over takes
# seconds) before it gives up.
RECONNECT_WAIT_S: Final = 60.0
MAX_INFLIGHT: Final = 100
# Packets read at each wake-up of paho's network thread, and the size of its socket reads
# (see mqtt._client.BurstClient).
READ_BURST: Final = 1_000
RECV_CHUNK_BYTES: Final = 65_536
