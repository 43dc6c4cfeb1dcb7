"""Local MQTT brokers for the demo and the tests: mosquitto when installed, else amqtt."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ExitedAtStart(RuntimeError):
    """The server process ended before it listened (its port taken meanwhile, say)."""


def wait_for_port(host: str, port: int, timeout_s: float = 15.0,
                  process: subprocess.Popen[bytes] | None = None) -> None:
    """Block until a TCP connection to ``host:port`` succeeds, or raise ``TimeoutError``;
    with ``process`` (the server meant to listen there), raise :class:`ExitedAtStart` as
    soon as it has ended instead of waiting the timeout out."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if process is not None and process.poll() is not None:
                raise ExitedAtStart(f"{process.args!r} ended with {process.returncode} "
                                    f"before listening on {host}:{port}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s}s") from None
            time.sleep(0.05)


def stop_process(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Terminate ``process``; kill it if it has not ended within ``timeout_s``."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class LocalBroker(Protocol):
    host: str
    port: int

    @property
    def url(self) -> str: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class TlsListener:
    """PEM files of a TLS listener: the CA that signed the server's (and clients')
    certificates, the server's certificate and key; ``require_certificate`` refuses clients
    without a certificate from that CA."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    require_certificate: bool = False

    def config_lines(self) -> list[str]:
        return [
            f"cafile {self.ca_file}",
            f"certfile {self.cert_file}",
            f"keyfile {self.key_file}",
            "tls_version tlsv1.2",
            f"require_certificate {'true' if self.require_certificate else 'false'}",
        ]


class MosquittoBroker:
    """A mosquitto process on a loopback port, with its own config and persistence directory.

    Queues are sized so that a persistent session keeps everything published while its
    subscriber is away (mosquitto's default keeps only 1,000 messages), and the persistence
    file in ``data_dir`` carries them over a broker restart. With ``tls`` the one listener
    speaks TLS only (``mqtts://``).
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        extra_config: list[str] | None = None,
        executable: str = "mosquitto",
        tls: TlsListener | None = None,
    ) -> None:
        self.host = host
        self.tls = tls
        self.port = port or free_port(host)
        self.data_dir = Path(data_dir)
        self.extra_config = extra_config or []
        self.executable = shutil.which(executable) or executable
        self.process: subprocess.Popen[bytes] | None = None
        self.config_path = self.data_dir / "mosquitto.conf"
        self.log_path = self.data_dir / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        anonymous = not any(line.startswith("password_file") for line in self.extra_config)
        lines = [
            f"listener {self.port} {self.host}",
            *(self.tls.config_lines() if self.tls else []),
            f"allow_anonymous {'true' if anonymous else 'false'}",
            # Started as root, mosquitto drops to user "mosquitto", who cannot write the
            # data directory; it stays whoever started it (ignored when not root).
            f"user {getpass.getuser()}",
            "persistence true",
            f"persistence_location {self.data_dir}/",
            "autosave_interval 5",
            "max_queued_messages 1000000",
            "max_queued_bytes 0",
            "max_inflight_messages 100",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            *self.extra_config,
        ]
        self.config_path.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        self.write_config()
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        # Its own session: a Ctrl-C at the terminal reaches the demo, which stops the
        # publishers before the broker, not the broker first under their feet.
        self.process = subprocess.Popen(
            [self.executable, "-c", str(self.config_path)], stdout=log, stderr=log,
            start_new_session=True,
        )
        log.close()
        try:
            wait_for_port(self.host, self.port, process=self.process)
        except (TimeoutError, ExitedAtStart):
            self.stop()
            raise RuntimeError(
                f"mosquitto did not start: {self.log_path.read_text(errors='replace')[-2000:]}"
            ) from None

    def reload(self) -> None:
        """Ask mosquitto to re-read its password and ACL files (SIGHUP)."""
        if self.process is not None:
            self.process.send_signal(1)

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process, timeout_s=10)
        self.process = None


class AmqttBroker:
    """amqtt, a pure-Python MQTT 3.1.1 broker, in a thread: the demo's fallback broker."""

    def __init__(self, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port or free_port(host)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: Any = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> None:
        from amqtt.broker import Broker

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "sys_interval": 0,
            "auth": {"allow-anonymous": True, "plugins": ["auth_anonymous"]},
            "topic-check": {"enabled": False},
        }
        loop = asyncio.new_event_loop()
        self._loop = loop
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            self._broker = Broker(config, loop=loop)
            loop.run_until_complete(self._broker.start())
            started.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="amqtt-broker", daemon=True)
        self._thread.start()
        started.wait(15)
        wait_for_port(self.host, self.port)

    def stop(self) -> None:
        if self._loop is None or self._broker is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None


def start_local_broker(data_dir: Path, port: int | None = None) -> LocalBroker:
    """Start mosquitto when it is installed, else the embedded amqtt broker."""
    broker: LocalBroker
    if shutil.which("mosquitto"):
        broker = MosquittoBroker(data_dir / "mosquitto", port=port)
    else:
        broker = AmqttBroker(port=port)
    broker.start()
    return broker
