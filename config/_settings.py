"""The one settings object of safehood: environment variables (``SAFEHOOD_*``) over a file."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

_PLACEHOLDERS = frozenset({"changethis", "changeme", "secret", "password", ""})
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


@dataclass(frozen=True, slots=True)
class MqttEndpoint:
    """Where the broker is and how to log in; built from ``SAFEHOOD_MQTT_URL``."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None
    # TLS (``mqtts://``): the CA file that replaces the system's CAs, and a client
    # certificate and key for brokers that require one.
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def moved_to(self, url: str) -> MqttEndpoint:
        """Another broker with these credentials (unless the URL has its own) and TLS files."""
        other = MqttEndpoint.from_url(url, self.username, self.password)
        return replace(other, ca_file=self.ca_file, cert_file=self.cert_file,
                       key_file=self.key_file)

    @classmethod
    def from_url(cls, url: str, username: str | None = None,
                 password: str | None = None) -> MqttEndpoint:
        """``mqtt://[user:pass@]host[:port]`` (or ``mqtts://``); explicit credentials win over
        those in the URL. Raises ``ValueError`` for anything else."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
            raise ValueError(f"{url!r} is not mqtt://host:port or mqtts://host:port")
        tls = parts.scheme in ("mqtts", "ssl")
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise ValueError(f"{url!r} has a bad port") from None
        return cls(
            host=parts.hostname, port=port, tls=tls,
            username=username or (unquote(parts.username) if parts.username else None),
            password=password or (unquote(parts.password) if parts.password else None),
        )


class WebhookSettings(BaseModel):
    """One signed-webhook receiver: where, the shared secret, which sites, JSON or CAP."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    url: str
    secret: SecretStr
    sites: list[str] = ["*"]
    format: Literal["json", "cap"] = "json"

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if urlsplit(value).scheme not in ("http", "https"):
            raise ValueError(f"webhook url {value!r} is not an http(s) URL")
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("a webhook secret must be at least 16 characters")
        return value


class Settings(BaseSettings):
    """Configuration of every safehood process.

    Environment variables (prefix ``SAFEHOOD_``) win over the optional settings file
    (YAML, JSON or TOML, given to :meth:`load`), which wins over the defaults.
    """

    model_config = SettingsConfigDict(env_prefix="SAFEHOOD_", extra="forbid")

    environment: Literal["development", "production"] = "development"

    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    # mqtts:// only: a CA file instead of the system's CAs, and a client certificate and key
    # (PEM) for a listener with ``require_certificate true``.
    mqtt_ca_file: Path | None = None
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None
    mqtt_client_id: str = "safehood-ingest"
    mqtt_protocol: Literal["auto", "5", "3.1.1"] = "auto"
    mqtt_session_expiry_s: int = 7 * 24 * 3600
    mqtt_keepalive_s: int = 30
    topic_prefix: str = "safehood"

    data_dir: Path = Path(".safehood")
    database_url: str | None = None
    registry_file: Path | None = None
    alert_policy_file: Path | None = None
    detector_config_file: Path | None = None
    # Extra vendor dialect mappings (*.yaml) beside the shipped ones; one of the same name wins.
    dialects_dir: Path | None = None

    influx_url: str | None = None
    influx_token: SecretStr | None = None
    influx_org: str = "safehood"
    influx_bucket: str = "safehood"

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_url: str | None = None
    # CAP ``sender``: who this installation is to CAP consumers, unique among the senders
    # they read (e.g. "safehood@centre.example.org").
    cap_sender: str = "safehood"
    # Sites whose traffic is simulated or replayed for a drill: their alerts are exercises
    # (CAP ``Exercise``, "[EXERCISE]" in notifications). "*" marks every site.
    exercise_sites: Annotated[list[str], NoDecode] = []
    # Local times (HH:MM, the site's time zone) at which duty shifts begin; each ends where
    # the next begins. Response metrics and the handover report go by these shifts.
    shift_starts: Annotated[list[str], NoDecode] = ["08:00", "20:00"]
    # Largest request body the API reads, in bytes; larger ones are answered 413 unread.
    api_max_body_bytes: int = 1_048_576
    # Failed token attempts a client may make per minute before it is answered 429.
    api_auth_failures_per_minute: int = 10

    # Device provisioning (api/): mosquitto password and ACL files that safehood writes
    # (default: in the data directory), and how to make a broker safehood did not start
    # re-read them (e.g. "systemctl reload mosquitto"; run without a shell).
    mqtt_password_file: Path | None = None
    mqtt_acl_file: Path | None = None
    broker_reload_command: str | None = None

    # Home Assistant MQTT discovery (README, "Home Assistant, webhooks and push"): each
    # household of ``home_assistant_sites`` (empty: all) appears as a device. States go under
    # ``home_assistant_state_prefix`` (default "<topic_prefix>-ha", outside what ingest reads).
    home_assistant: bool = False
    home_assistant_discovery_prefix: str = "homeassistant"
    home_assistant_state_prefix: str | None = None
    home_assistant_sites: Annotated[list[str], NoDecode] = []
    # Signed webhooks on alert changes (JSON list in SAFEHOOD_WEBHOOKS).
    webhooks: list[WebhookSettings] = []
    # Acknowledge links in notifications: HMAC secret of their tokens (unset: a random one
    # per process, so links die with it) and how long a link lives.
    ack_secret: SecretStr | None = None
    ack_token_ttl_s: float = Field(3600.0, gt=0)

    ingest_queue_size: int = 10_000
    store_batch_size: int = 1_000
    store_flush_interval_s: float = 0.5
    deadletter_max_payload_bytes: int = 4_096
    dedup_window: int = 4_096
    # How long the duplicate filter's keys are kept: on disk for a restart (of ingest's own
    # activity, not wall time), and in memory (of each device's event time): redeliveries
    # come within minutes of the original.
    dedup_retention_s: float = 600.0

    # Retention (README, "Retention"): days after which the live pipeline's hourly task
    # deletes readings, resolved alerts with their history and notification log, dead
    # letters, and personal data left after use (ended silences, revoked or expired tokens).
    retention_readings_days: int = Field(400, gt=0)
    retention_resolved_alerts_days: int = Field(730, gt=0)
    retention_dead_letters_days: int = Field(30, gt=0)
    retention_personal_data_days: int = Field(90, gt=0)
    retention_interval_s: float = Field(3600.0, gt=0)

    # Scale-out (``safehood run --engine nats``, README "Scale-out on NATS JetStream"):
    # NATS servers (comma separated), how many partitions the readings are split into by
    # site (fixed once the stream exists), and how long a silent detector worker keeps
    # its partitions before another takes them over.
    nats_url: str = "nats://127.0.0.1:4222"
    nats_partitions: int = Field(16, gt=0)
    nats_replicas: int = Field(3, gt=0)
    nats_pin_timeout_s: float = Field(5.0, gt=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init arguments; the environment must override them.
        return env_settings, init_settings, dotenv_settings, file_secret_settings

    @classmethod
    def load(cls, config_file: str | Path | None = None, **overrides: Any) -> Settings:
        """Build settings from the environment, an optional file, and explicit overrides."""
        values: dict[str, Any] = {}
        if config_file is not None:
            values.update(_read_settings_file(Path(config_file)))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip("/")
        if not value or any(c in value for c in "+#") or "//" in value:
            raise ValueError("topic prefix must be non-empty, without wildcards or empty levels")
        return value

    @field_validator("cap_sender")
    @classmethod
    def _cap_sender(cls, value: str) -> str:
        # CAP 1.2, 3.2.1: no spaces, commas or restricted characters (< and &).
        if not value or any(c.isspace() or c in ",<&" for c in value):
            raise ValueError("cap_sender must be non-empty, without spaces, commas, < or &")
        return value

    @field_validator("exercise_sites", "home_assistant_sites", mode="before")
    @classmethod
    def _exercise_sites(cls, value: Any) -> Any:
        # From the environment: SAFEHOOD_EXERCISE_SITES=site-a,site-b (or a JSON list).
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return orjson.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("shift_starts", mode="before")
    @classmethod
    def _shift_starts(cls, value: Any) -> Any:
        items = value.split(",") if isinstance(value, str) else value
        starts = [str(item).strip() for item in items if str(item).strip()]
        if not starts:
            raise ValueError("give at least one shift start, e.g. 08:00,20:00")
        for start in starts:
            if not _HHMM.fullmatch(start):
                raise ValueError(f"shift start {start!r} is not HH:MM")
        return starts

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        MqttEndpoint.from_url(value)
        return value

    @field_validator("influx_url")
    @classmethod
    def _influx_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if urlsplit(value).scheme not in ("http", "https"):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _no_placeholder_secrets(self) -> Settings:
        if self.environment == "production":
            for name in ("mqtt_password", "influx_token", "ack_secret"):
                secret = getattr(self, name)
                if secret is not None and secret.get_secret_value().lower() in _PLACEHOLDERS:
                    raise ValueError(f"{name} is a placeholder; set a real secret in production")
        if self.ack_secret is not None and len(self.ack_secret.get_secret_value()) < 16:
            raise ValueError("ack_secret must be at least 16 characters")
        return self

    @property
    def home_assistant_states(self) -> str:
        """Where the Home Assistant bridge publishes states and availability."""
        return self.home_assistant_state_prefix or f"{self.topic_prefix}-ha"

    @property
    def mqtt(self) -> MqttEndpoint:
        password = self.mqtt_password.get_secret_value() if self.mqtt_password else None
        endpoint = MqttEndpoint.from_url(self.mqtt_url, self.mqtt_username, password)
        return replace(
            endpoint,
            ca_file=str(self.mqtt_ca_file) if self.mqtt_ca_file else None,
            cert_file=str(self.mqtt_cert_file) if self.mqtt_cert_file else None,
            key_file=str(self.mqtt_key_file) if self.mqtt_key_file else None,
        )

    @property
    def sqlalchemy_url(self) -> str:
        """Alerts and registry database; a SQLite file in the data directory by default."""
        return self.database_url or f"sqlite:///{self.data_dir / 'safehood.db'}"

    @property
    def seen_log_path(self) -> Path:
        """The duplicate filter's keys, kept across restarts (see ``ingest.SeenLog``)."""
        return self.data_dir / "seen.db"

    @property
    def embedded_store_path(self) -> Path:
        return self.data_dir / "readings.db"



def _read_settings_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"settings file {path} does not exist")
    text = path.read_bytes()
    if path.suffix in (".yaml", ".yml"):
        data = yaml.safe_load(text) or {}
    elif path.suffix == ".toml":
        import tomllib

        data = tomllib.loads(text.decode())
    else:
        data = orjson.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"settings file {path} must hold a mapping")
    # Accept both ``mqtt_url`` and ``SAFEHOOD_MQTT_URL`` spellings in the file.
    return {k.lower().removeprefix("safehood_"): v for k, v in data.items()}
