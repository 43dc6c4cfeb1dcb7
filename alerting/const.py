"""Constants of the alerting package: change kinds, audiences, defaults, CAP vocabulary."""

from __future__ import annotations

from typing import Final

from safehood.protocol import AlertType

# What happened to an alert (AlertChange.kind).
RAISED: Final = "raised"
UPDATED: Final = "updated"
ACKNOWLEDGED: Final = "acknowledged"
ESCALATED: Final = "escalated"
RESOLVED: Final = "resolved"
REMINDER: Final = "reminder"
LOGGED: Final = "logged"  # a person's action written to the incident log; nobody is told

# Who is told (AlertChange.audience, escalation tiers, channel configuration).
OFFICERS: Final = "officers"
SUPERVISOR: Final = "supervisor"
FAMILY: Final = "family"
EMERGENCY: Final = "emergency"
# A confirmed fire tells the other households of its building (from the registry) and the
# community's micro fire station (a site channel), in their language: an evacuation message.
NEIGHBOURS: Final = "neighbours"
FIRE_STATION: Final = "fire_station"
EVACUATION_AUDIENCES: Final = (NEIGHBOURS, FIRE_STATION)
AUDIENCES: Final = (OFFICERS, SUPERVISOR, FAMILY, EMERGENCY, NEIGHBOURS, FIRE_STATION)
# Audiences whose channels are configured per site (family and neighbours come from the
# registry).
SITE_AUDIENCES: Final = (OFFICERS, SUPERVISOR, EMERGENCY, FIRE_STATION)
ANY_SITE: Final = "*"
# Signed webhooks are routed under their own audience, never one of the people's above.
WEBHOOK: Final = "webhook"
# Apprise URL schemes of ntfy, whose notifications can carry an "Acknowledge" button.
NTFY_SCHEMES: Final = frozenset({"ntfy", "ntfys"})
# How far a webhook's timestamp may be from the receiver's clock before it is refused.
WEBHOOK_TOLERANCE_S: Final = 300.0
# Changes that ask a person to act: their notifications carry an acknowledge link.
ASKS_FOR_ACK: Final = frozenset({RAISED, ESCALATED, REMINDER, UPDATED})

# History actions (protocol.AlertEvent.action) beyond the change kinds.
AUTO_RESOLVED: Final = "auto-resolved"
CONDITION_CLEARED: Final = "condition-cleared"
SILENCED: Final = "silenced"
INHIBITED: Final = "inhibited"
FLAPPING: Final = "flapping"
NOTIFIED: Final = "notified"
NOTIFY_FAILED: Final = "notify-failed"
# A person's actions in the incident log (history actions with a ``detail``).
CALLED: Final = "called"
DISPATCHED: Final = "dispatched"
ARRIVED: Final = "arrived"
HANDED_OVER: Final = "handed-over"
# A family member pressed a notification's acknowledge button: on their way. Recorded for the
# officers; the alert stays theirs to acknowledge (a relative far away may be wrong about
# reaching a fall in time, and must not silence the officers' chain).
RESPONDING: Final = "responding"
INCIDENT_ACTIONS: Final = (CALLED, DISPATCHED, ARRIVED, HANDED_OVER, RESPONDING)
CALL_OUTCOMES: Final = ("reached", "no_answer", "busy", "wrong_number")
# 119: fire and rescue; 120: ambulance (PRC emergency numbers).
EMERGENCY_SERVICES: Final = ("119", "120")
# Why an alert was resolved; a false alarm is a label for the detection evaluation.
REAL: Final = "real"
FALSE_ALARM: Final = "false_alarm"
RESOLUTION_CAUSES: Final = (REAL, FALSE_ALARM, "test", "device_fault")
SYSTEM_ACTOR: Final = "system"
NOTIFIER_ACTOR: Final = "notifier"

# Alert types whose condition clearing is proof enough that the alert is over. A fire is
# never resolved by a sensor: only a person who checked may resolve it.
NEVER_AUTO_RESOLVE: Final = frozenset({AlertType.FIRE})

# Policy defaults (see AlertPolicy.default()).
DEFAULT_REMINDER_INTERVAL_S: Final = 10 * 60.0
DEFAULT_FLAP_WINDOW_S: Final = 30 * 60.0
DEFAULT_FLAP_THRESHOLD: Final = 4
# An open sos alert takes in a press while its last press is at most this old: ten times the
# SOS detector's repeat window, so a person pressing on while waiting for help stays one
# incident, while a press after an hour's quiet (or weeks later, with the old alert never
# closed) is a fresh call for help, notified and escalated afresh.
SOS_INCIDENT_WINDOW_S: Final = 3600.0

# A manager retries an optimistic write this many times before giving up on one decision.
MAX_WRITE_ATTEMPTS: Final = 20
# At most this many alerts change in one tick; the rest wait for the next. After a jump of
# event time every open alert is overdue at once: done in one go, their escalation kept
# the live path from new decisions for seconds (400 alerts: 0.3 s of CPU, 1-2 s of wall).
TICK_CHANGE_LIMIT: Final = 25

# Dispatcher defaults.
DEFAULT_QUEUE_SIZE: Final = 1_000
DEFAULT_MAX_ATTEMPTS: Final = 6
DEFAULT_BACKOFF_INITIAL_S: Final = 2.0
DEFAULT_BACKOFF_MAX_S: Final = 300.0
DEFAULT_CLOSE_TIMEOUT_S: Final = 10.0
DROP_LOG_SIZE: Final = 1_000

# Notification attempt results (notification_attempts.result).
DELIVERED: Final = "delivered"
FAILED: Final = "failed"
RETRYING: Final = "retrying"
GAVE_UP: Final = "gave_up"
DROPPED: Final = "dropped"
NO_TARGET: Final = "no_target"
ABANDONED: Final = "abandoned"

# Dashboard link of an alert, relative to the public URL.
ALERT_LINK: Final = "{public_url}/ui/#/alerts/{id}"

# CAP 1.2.
CAP_NAMESPACE: Final = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NAMESPACE: Final = "http://www.w3.org/2005/Atom"
CAP_SENDER: Final = "safehood"
CAP_RESTRICTION: Final = (
    "Personal safety data of residents: for the duty officers of the site and the registered "
    "contacts of the resident only."
)
CAP_CATEGORY: Final[dict[AlertType, str]] = {
    AlertType.FIRE: "Fire",
    AlertType.SMOKE: "Fire",
    AlertType.FALL: "Health",
    AlertType.SOS: "Safety",
    AlertType.WATER_LEAK: "Safety",
    AlertType.INACTIVITY: "Health",
    AlertType.NIGHT_WANDERING: "Safety",
    AlertType.DOOR_LEFT_OPEN: "Security",
    AlertType.FORCED_ENTRY: "Security",
    AlertType.DEVICE_OFFLINE: "Infra",
    AlertType.SITE_OFFLINE: "Infra",
    AlertType.BATTERY_LOW: "Infra",
    AlertType.TAMPER: "Security",
    AlertType.ABNORMAL_ROUTINE: "Health",
}
EVENT_NAMES: Final[dict[AlertType, str]] = {
    AlertType.FIRE: "Fire",
    AlertType.SMOKE: "Smoke detected",
    AlertType.FALL: "Fall",
    AlertType.SOS: "SOS call",
    AlertType.WATER_LEAK: "Water leak",
    AlertType.INACTIVITY: "No sign of life",
    AlertType.NIGHT_WANDERING: "Night wandering",
    AlertType.DOOR_LEFT_OPEN: "Door left open",
    AlertType.FORCED_ENTRY: "Forced entry",
    AlertType.DEVICE_OFFLINE: "Device offline",
    AlertType.SITE_OFFLINE: "Site offline",
    AlertType.BATTERY_LOW: "Battery low",
    AlertType.TAMPER: "Tamper",
    AlertType.ABNORMAL_ROUTINE: "Abnormal daily routine",
}

# Home Assistant MQTT discovery: payloads of the availability topic.
HA_ONLINE: Final = "online"
HA_OFFLINE: Final = "offline"
# The same in Chinese, the words of the dashboard (dashboards/web/i18n.js).
EVENT_NAMES_ZH: Final[dict[AlertType, str]] = {
    AlertType.FIRE: "火警",
    AlertType.SMOKE: "烟雾",
    AlertType.FALL: "跌倒",
    AlertType.SOS: "紧急呼叫",
    AlertType.WATER_LEAK: "漏水",
    AlertType.INACTIVITY: "长时间无活动",
    AlertType.NIGHT_WANDERING: "夜间外出",
    AlertType.DOOR_LEFT_OPEN: "门未关",
    AlertType.FORCED_ENTRY: "强行闯入",
    AlertType.DEVICE_OFFLINE: "设备离线",
    AlertType.SITE_OFFLINE: "小区离线",
    AlertType.BATTERY_LOW: "电量低",
    AlertType.TAMPER: "设备被拆动",
    AlertType.ABNORMAL_ROUTINE: "作息异常",
}
