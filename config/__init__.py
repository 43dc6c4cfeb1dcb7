"""Configuration: one settings object, built in each entry point and passed down."""

from ._settings import MqttEndpoint, Settings

__all__ = ["MqttEndpoint", "Settings"]
