"""Constants of the HTTP API."""

from typing import Final

API_PREFIX: Final = "/api/v1"

TOKEN_PREFIX: Final = "shd_"
# Bytes of randomness in the secret part of a token (token_urlsafe: ~1.3 chars per byte).
TOKEN_SECRET_BYTES: Final = 32
TOKEN_ID_BYTES: Final = 6

# mosquitto 2.0's own defaults for ``mosquitto_passwd`` ($7$ = PBKDF2-HMAC-SHA512).
MQTT_HASH_ITERATIONS: Final = 101
MQTT_SALT_BYTES: Final = 12
MQTT_PASSWORD_BYTES: Final = 24
INGEST_ACCOUNT_ROLE: Final = "ingest"
DEVICE_ACCOUNT_ROLE: Final = "device"
PUBLISHER_ACCOUNT_ROLE: Final = "publisher"
# Service accounts: ingest reads everything under the prefix and publishes dead letters; a
# publisher (simulator, replayer, a Zigbee2MQTT bridge) may publish any device topic.
SERVICE_ROLES: Final = (INGEST_ACCOUNT_ROLE, PUBLISHER_ACCOUNT_ROLE)
BROKER_RELOAD_TIMEOUT_S: Final = 10.0

DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1000
DEFAULT_READINGS_WINDOW_MS: Final = 3600 * 1000
MAX_READINGS: Final = 10_000

# A device is "silent" when nothing was heard from it for this long (wall clock).
SILENT_AFTER_MS: Final = 6 * 3600 * 1000
BATTERY_LOW_PERCENT: Final = 20

STREAM_KEEPALIVE_S: Final = 15.0
STREAM_QUEUE_SIZE: Final = 256

MAX_NOTE_LENGTH: Final = 2000

# How stale the API's copy of the registry may be when another process changed it.
REGISTRY_MAX_AGE_S: Final = 5.0

# Apprise schemes a resident's contact may use: services that deliver over the network.
# Local ones (file://, dbus://, windows://, syslog://...) could make the server write or run
# things on an attacker's behalf, so they are refused.
CONTACT_SCHEMES: Final = frozenset({
    "apprise", "apprises", "bark", "barks", "dingtalk", "discord", "feishu", "form", "forms",
    "gotify", "gotifys", "json", "jsons", "lark", "line", "mailto", "mailtos", "matrix",
    "matrixs", "mmost", "mmosts", "msteams", "ntfy", "ntfys", "pbul", "pover", "rocket",
    "rockets", "ses", "signal", "signals", "slack", "sns", "tgram", "twilio", "wecombot",
    "whatsapp", "wxteams", "xml", "xmls",
})

# Failed token attempts are counted per client over this window (the limit is a setting).
AUTH_FAILURE_WINDOW_S: Final = 60.0
MAX_TRACKED_CLIENTS: Final = 10_000
# Where Swagger UI's own files are served from (a local copy, not a CDN).
DOCS_ASSETS: Final = "/docs/assets"

# Response metrics look back this far by default (the page, and /metrics always).
RESPONSE_WINDOW_MS: Final = 7 * 24 * 3600 * 1000
# /metrics recomputes the response gauges (a week's figures) at most this often: computing
# them read a week of alerts with their history, 0.5-1 s of CPU at 100,000 alerts.
RESPONSE_GAUGES_MAX_AGE_S: Final = 60.0

# The event-loop lag probe (``/metrics``: safehood_api_event_loop_lag_max_seconds): a wake-up
# every 0.1 s costs nothing; the worst lag is kept for a minute.
LOOP_LAG_INTERVAL_S: Final = 0.1
LOOP_LAG_WINDOW_S: Final = 60.0
