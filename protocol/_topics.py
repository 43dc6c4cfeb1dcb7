from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from ._errors import ContractViolation, Reason
from .const import CHANNELS, CONTRACT_VERSION, DEADLETTER_CHANNEL, DEFAULT_TOPIC_PREFIX

SITE_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
DEVICE_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed ``{prefix}/v1/{site}/{device_id}/{channel}`` topic."""

    site: str
    device_id: str
    channel: str
    prefix: str = DEFAULT_TOPIC_PREFIX

    def __str__(self) -> str:
        return build_topic(self.site, self.device_id, self.channel, self.prefix)


def build_topic(site: str, device_id: str, channel: str, prefix: str = DEFAULT_TOPIC_PREFIX) -> str:
    """Build a contract topic, refusing parts that would not parse back."""
    if not SITE_RE.fullmatch(site):
        raise ValueError(f"site {site!r} does not match {SITE_RE.pattern}")
    if not DEVICE_ID_RE.fullmatch(device_id):
        raise ValueError(f"device_id {device_id!r} does not match {DEVICE_ID_RE.pattern}")
    if channel not in CHANNELS:
        raise ValueError(f"channel {channel!r} is not one of {', '.join(CHANNELS)}")
    return f"{prefix}/{CONTRACT_VERSION}/{site}/{device_id}/{channel}"


def deadletter_topic(prefix: str = DEFAULT_TOPIC_PREFIX) -> str:
    """Where messages that broke the contract are republished, with their reason."""
    return f"{prefix}/{CONTRACT_VERSION}/{DEADLETTER_CHANNEL}"


@functools.cache
def _topic_re(prefix: str) -> re.Pattern[str]:
    """The whole topic in one pattern: the common case costs one match."""
    channels = "|".join(re.escape(channel) for channel in CHANNELS)
    return re.compile(
        rf"{re.escape(prefix)}/{CONTRACT_VERSION}/({SITE_RE.pattern})/({DEVICE_ID_RE.pattern})"
        rf"/({channels})")


# Topics parsed before, by topic: a device publishes on a few topics, over and over, and
# a Topic is frozen. Emptied when full, and kept small: at 65,536 topics it held about
# 170 bytes a registered device (its topic, its strings) in a 100,000-device pipeline
# (tracemalloc), which is most of what it saves a message at that size.
_PARSED: dict[str, Topic] = {}
_PARSED_MAX = 1 << 12


def parse_topic(topic: str, prefix: str = DEFAULT_TOPIC_PREFIX) -> Topic:
    """Parse a contract topic or raise :class:`ContractViolation` with reason ``bad_topic``."""
    parsed = _PARSED.get(topic)
    if parsed is not None and parsed.prefix == prefix:
        return parsed
    match = _topic_re(prefix).fullmatch(topic)
    if match is not None:
        site, device_id, channel = match.groups()
        parsed = Topic(site, device_id, channel, prefix)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[topic] = parsed
        return parsed
    # Not a contract topic (or a prefix the pattern misreads): check part by part.
    parts = topic.split("/")
    head = f"{prefix}/{CONTRACT_VERSION}/"
    if not topic.startswith(head) or len(parts) != len(prefix.split("/")) + 4:
        raise ContractViolation(
            Reason.BAD_TOPIC,
            f"{topic!r} is not {prefix}/{CONTRACT_VERSION}/{{site}}/{{device_id}}/{{channel}}",
        )
    site, device_id, channel = parts[-3:]
    if not SITE_RE.fullmatch(site):
        raise ContractViolation(Reason.BAD_TOPIC, f"site {site!r} does not match {SITE_RE.pattern}")
    if not DEVICE_ID_RE.fullmatch(device_id):
        raise ContractViolation(
            Reason.BAD_TOPIC, f"device_id {device_id!r} does not match {DEVICE_ID_RE.pattern}"
        )
    if channel not in CHANNELS:
        raise ContractViolation(
            Reason.BAD_TOPIC, f"channel {channel!r} is not one of {', '.join(CHANNELS)}"
        )
    return Topic(site, device_id, channel, prefix)
