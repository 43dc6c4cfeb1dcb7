"""Device provisioning: MQTT credentials per device and the broker's password and ACL files.

Each device gets its own MQTT account (username = device id, random password) whose ACL
lets it publish only under ``{prefix}/v1/{site}/{device_id}/#``. Accounts live in the
``mqtt_accounts`` table with mosquitto's PBKDF2-SHA512 hash; the password file and the ACL
file are regenerated from the database and the registry on every change (written
atomically), then the broker is told to reload.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import shlex
import stat
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, insert, select, update

from safehood.config import Settings
from safehood.database import devices, mqtt_accounts
from safehood.dialects import load_dialects
from safehood.protocol import deadletter_topic
from safehood.protocol.const import CONTRACT_VERSION

from ._tokens import wall_clock_ms
from .const import (
    BROKER_RELOAD_TIMEOUT_S,
    DEVICE_ACCOUNT_ROLE,
    INGEST_ACCOUNT_ROLE,
    MQTT_HASH_ITERATIONS,
    MQTT_PASSWORD_BYTES,
    MQTT_SALT_BYTES,
    PUBLISHER_ACCOUNT_ROLE,
    SERVICE_ROLES,
)

log = logging.getLogger(__name__)


class ProvisioningError(Exception):
    """Provisioning could not be done (unknown device, name clash, files not writable)."""


class UnknownDevice(ProvisioningError):
    """The device is not in the registry."""


@dataclass(frozen=True, slots=True)
class MqttCredentials:
    """What a device (or service) needs to connect; ``password`` is shown once, never stored."""

    username: str
    password: str
    role: str
    publish_topic: str | None = None


@dataclass(frozen=True, slots=True)
class SyncResult:
    """Outcome of writing the files: how many accounts, and whether the broker reloaded."""

    accounts: int
    reloaded: bool
    reload_error: str | None = None


def mosquitto_hash(password: str, *, salt: bytes | None = None,
                   iterations: int = MQTT_HASH_ITERATIONS) -> str:
    """Hash a password the way mosquitto 2.0's ``mosquitto_passwd`` does:
    ``$7$<iterations>$<salt base64>$<PBKDF2-HMAC-SHA512 base64>``."""
    salt = secrets.token_bytes(MQTT_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_mosquitto_hash(password: str, hashed: str) -> bool:
    """True when ``password`` matches a ``$7$`` hash."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[1] != "7":
        return False
    try:
        iterations = int(parts[2])
        salt = base64.b64decode(parts[3], validate=True)
        expected = base64.b64decode(parts[4], validate=True)
    except ValueError:
        return False
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return hmac.compare_digest(digest, expected)


def command_reloader(command: str) -> Callable[[], None]:
    """A reload callable that runs ``command`` (split like a shell would, run without one)."""
    argv = shlex.split(command)
    if not argv:
        raise ValueError("the broker reload command is empty")

    def reload() -> None:
        try:
            result = subprocess.run(argv, capture_output=True, timeout=BROKER_RELOAD_TIMEOUT_S,
                                    check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ProvisioningError(f"broker reload command {command!r} failed: {exc}") from None
        if result.returncode != 0:
            err = result.stderr.decode(errors="replace").strip()[-300:]
            raise ProvisioningError(
                f"broker reload command {command!r} exited {result.returncode}: {err}")

    return reload


class Provisioner:
    """Gives devices MQTT credentials and keeps the broker's password and ACL files current.

    ``reload`` is called after the files change (SIGHUP to a mosquitto safehood started, or
    a command); None means the broker is not managed and only the files are written.
    ``service_accounts`` (username, password) are ensured on every sync, e.g. the ingest
    account from the settings. Thread safe.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        topic_prefix: str,
        password_file: Path,
        acl_file: Path,
        reload: Callable[[], None] | None = None,
        service_accounts: dict[str, tuple[str, str]] | None = None,
        clock: Callable[[], int] = wall_clock_ms,
        vendor_topics: Sequence[str] = (),
    ) -> None:
        self.engine = engine
        # Topic filters of the vendor dialects (zigbee2mqtt/+ ...), which ingest also reads.
        self.vendor_topics = list(vendor_topics)
        self.topic_prefix = topic_prefix
        self.password_file = Path(password_file)
        self.acl_file = Path(acl_file)
        self.reload = reload
        self.clock = clock
        # username -> (role, password)
        self._service_accounts = dict(service_accounts or {})
        self._lock = threading.RLock()

    @classmethod
    def from_settings(cls, settings: Settings, engine: Engine,
                      reload: Callable[[], None] | None = None) -> Provisioner:
        """Files from the settings (default: ``mqtt_passwd``/``mqtt_acl`` in the data
        directory); the settings' MQTT user becomes the ingest account; ``reload`` defaults
        to ``broker_reload_command`` when that is set."""
        if reload is None and settings.broker_reload_command:
            reload = command_reloader(settings.broker_reload_command)
        mqtt = settings.mqtt
        service = {}
        if mqtt.username and mqtt.password:
            service[mqtt.username] = (INGEST_ACCOUNT_ROLE, mqtt.password)
        return cls(
            engine,
            topic_prefix=settings.topic_prefix,
            password_file=settings.mqtt_password_file or settings.data_dir / "mqtt_passwd",
            acl_file=settings.mqtt_acl_file or settings.data_dir / "mqtt_acl",
            reload=reload,
            service_accounts=service,
            vendor_topics=[topic for dialect in load_dialects(settings.dialects_dir).values()
                           for topic in dialect.filters],
        )

    def device_topic(self, site: str, device_id: str) -> str:
        """The topic filter a device may publish under."""
        return f"{self.topic_prefix}/{CONTRACT_VERSION}/{site}/{device_id}/#"

    def provision(self, device_id: str) -> tuple[MqttCredentials, SyncResult]:
        """Give a registered device a new random password (replacing any old one), rewrite
        the files and reload the broker."""
        creds, result = self.provision_many([device_id])
        return creds[0], result

    def provision_many(self, device_ids: list[str]) -> tuple[list[MqttCredentials], SyncResult]:
        """:meth:`provision` for several devices with one file write and one reload."""
        issued: list[MqttCredentials] = []
        with self._lock:
            with self.engine.begin() as connection:
                for device_id in device_ids:
                    issued.append(self._issue(connection, device_id))
            result = self.sync()
        return issued, result

    def _issue(self, connection: Connection, device_id: str) -> MqttCredentials:
        device = connection.execute(
            select(devices.c.site).where(devices.c.device_id == device_id)).first()
        if device is None:
            raise UnknownDevice(f"device {device_id!r} is not in the registry")
        existing = connection.execute(
            select(mqtt_accounts.c.role).where(mqtt_accounts.c.username == device_id)).first()
        if (existing is not None and existing.role != DEVICE_ACCOUNT_ROLE) or (
                device_id in self._service_accounts):
            raise ProvisioningError(f"MQTT user {device_id!r} is a service account, not a device")
        password = secrets.token_urlsafe(MQTT_PASSWORD_BYTES)
        hashed = mosquitto_hash(password)
        if existing is None:
            connection.execute(insert(mqtt_accounts).values(
                username=device_id, password_hash=hashed, role=DEVICE_ACCOUNT_ROLE,
                device_id=device_id, created_ms=self.clock()))
        else:
            connection.execute(update(mqtt_accounts).where(mqtt_accounts.c.username == device_id)
                               .values(password_hash=hashed))
        return MqttCredentials(device_id, password, DEVICE_ACCOUNT_ROLE,
                               self.device_topic(device.site, device_id))

    def add_service_account(self, username: str, role: str = INGEST_ACCOUNT_ROLE,
                            password: str | None = None) -> tuple[MqttCredentials, SyncResult]:
        """Create or re-key a service account (``ingest`` or ``publisher``)."""
        if role not in SERVICE_ROLES:
            raise ProvisioningError(f"role {role!r} is not one of {', '.join(SERVICE_ROLES)}")
        if not username or ":" in username or any(c.isspace() for c in username):
            raise ProvisioningError(f"{username!r} is not a usable MQTT user name")
        password = password or secrets.token_urlsafe(MQTT_PASSWORD_BYTES)
        with self._lock:
            with self.engine.begin() as connection:
                if connection.execute(select(devices.c.device_id)
                                      .where(devices.c.device_id == username)).first():
                    raise ProvisioningError(f"MQTT user {username!r} is the name of a device")
                connection.execute(delete(mqtt_accounts).where(mqtt_accounts.c.username == username))
                connection.execute(insert(mqtt_accounts).values(
                    username=username, password_hash=mosquitto_hash(password), role=role,
                    device_id=None, created_ms=self.clock()))
            result = self.sync()
        return MqttCredentials(username, password, role), result

    def revoke(self, username: str) -> SyncResult | None:
        """Remove an account (a device's username is its id); None when there was none."""
        with self._lock:
            with self.engine.begin() as connection:
                gone = connection.execute(
                    delete(mqtt_accounts).where(mqtt_accounts.c.username == username)).rowcount
            return self.sync() if gone else None

    def provisioned(self, device_ids: list[str] | None = None) -> set[str]:
        """Which devices (of ``device_ids``, or all) have an MQTT account."""
        query = select(mqtt_accounts.c.device_id).where(
            mqtt_accounts.c.role == DEVICE_ACCOUNT_ROLE)
        if device_ids is not None:
            query = query.where(mqtt_accounts.c.device_id.in_(device_ids))
        with self.engine.connect() as connection:
            return {r.device_id for r in connection.execute(query)}

    def sync(self) -> SyncResult:
        """Drop accounts of devices no longer registered, write both files, reload."""
        with self._lock:
            with self.engine.begin() as connection:
                self._ensure_service_accounts(connection)
                sites = {r.device_id: r.site for r in connection.execute(
                    select(devices.c.device_id, devices.c.site))}
                rows = list(connection.execute(select(mqtt_accounts).order_by(mqtt_accounts.c.username)))
                orphans = [r.username for r in rows
                           if r.role == DEVICE_ACCOUNT_ROLE and r.device_id not in sites]
                if orphans:
                    connection.execute(delete(mqtt_accounts)
                                       .where(mqtt_accounts.c.username.in_(orphans)))
                    log.info("dropped MQTT accounts of unregistered devices: %s", ", ".join(orphans))
                rows = [r for r in rows if r.username not in orphans]
            passwd = [f"{r.username}:{r.password_hash}" for r in rows]
            acl = self._acl(rows, sites)
            try:
                _write_atomically(self.password_file, "\n".join(passwd) + "\n")
                _write_atomically(self.acl_file, acl)
            except OSError as exc:
                raise ProvisioningError(f"cannot write the broker's files: {exc}") from None
            if self.reload is None:
                return SyncResult(len(rows), reloaded=False)
            try:
                self.reload()
            except Exception as exc:  # a reload failure must not undo the provisioning
                log.warning("broker did not reload: %s", exc)
                return SyncResult(len(rows), reloaded=False, reload_error=str(exc))
            return SyncResult(len(rows), reloaded=True)

    def _ensure_service_accounts(self, connection: Connection) -> None:
        for username, (role, password) in self._service_accounts.items():
            row = connection.execute(
                select(mqtt_accounts).where(mqtt_accounts.c.username == username)).first()
            if row is not None and row.role == role and verify_mosquitto_hash(password, row.password_hash):
                continue
            connection.execute(delete(mqtt_accounts).where(mqtt_accounts.c.username == username))
            connection.execute(insert(mqtt_accounts).values(
                username=username, password_hash=mosquitto_hash(password), role=role,
                device_id=None, created_ms=self.clock()))

    def _acl(self, rows: list[Row[Any]], sites: dict[str, str]) -> str:
        prefix = f"{self.topic_prefix}/{CONTRACT_VERSION}"
        lines = [
            "# Written by safehood: edits are overwritten on the next provisioning.",
            "# Devices publish only under their own topic; ingest reads everything under the prefix.",
            "",
        ]
        for r in rows:
            username, role = r.username, r.role
            lines.append(f"user {username}")
            if role == INGEST_ACCOUNT_ROLE:
                lines.append(f"topic read {self.topic_prefix}/#")
                lines.append(f"topic write {deadletter_topic(self.topic_prefix)}")
                lines.extend(f"topic read {topic}" for topic in self.vendor_topics)
            elif role == PUBLISHER_ACCOUNT_ROLE:
                lines.append(f"topic write {prefix}/#")
            else:
                device_id = r.device_id
                lines.append(f"topic write {self.device_topic(sites[device_id], device_id)}")
            lines.append("")
        return "\n".join(lines)


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step so the broker never reads half a file.

    An existing file keeps its mode and owner (set them as the broker needs, e.g.
    ``root:mosquitto 0640``); a new one is ``0644``, since mosquitto drops privileges to its
    own user before it reads the files. It holds only salted PBKDF2 hashes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        old = path.stat()
    except FileNotFoundError:
        old = None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, stat.S_IMODE(old.st_mode) if old else 0o644)
        if old is not None and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
            with contextlib.suppress(PermissionError):
                os.chown(tmp, old.st_uid, old.st_gid)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
