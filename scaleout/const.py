"""Names and limits of the scale-out engine on NATS JetStream."""

from __future__ import annotations

# NATS keeps the QoS 1 messages of its MQTT listeners in this stream of its own.
MQTT_STREAM = "$MQTT_msgs"
MQTT_SUBJECT_PREFIX = "$MQTT.msgs"
# Our readings stream: no subjects of its own, it sources from MQTT_STREAM and renames each
# subject to READINGS_SUBJECT.<partition>.<site>.<device>.<channel>.
READINGS_STREAM = "SAFEHOOD_READINGS"
READINGS_SUBJECT = "sh"
INGEST_CONSUMER = "ingest"
DETECTOR_CONSUMER = "detect-{partition}"
DETECTOR_GROUP = "detectors"
# One key per site: the site's detector state and the last stream sequence it applied.
STATE_BUCKET = "safehood_detector_state"

JETSTREAM_API_TIMEOUT_S = 10.0
# Unacknowledged readings are delivered again after this long (a worker died mid-batch).
ACK_WAIT_S = 30.0
FETCH_EXPIRES_S = 1.0
FETCH_BATCH = 200
# Live detector workers, one key each, dropped by the TTL when a worker stops beating.
MEMBERS_BUCKET = "safehood_detector_workers"
HEARTBEAT_S = 1.0
MEMBER_TTL_S = 5.0
# The readings stream has taken nothing from MQTT_STREAM while readings wait there for
# this long: its leader steps down (see _source_watchdog); not again for the cooldown.
SOURCE_STALL_S = 6.0
SOURCE_STALL_COOLDOWN_S = 20.0
