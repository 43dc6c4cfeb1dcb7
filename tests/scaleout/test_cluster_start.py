"""The NATS cluster of the tests starts even when a port it picked is taken before its
node binds it (other test sessions share the machine)."""

from __future__ import annotations

import socket
from pathlib import Path

from tests._nats import NatsCluster


def test_a_node_whose_port_was_taken_starts_again_on_another(tmp_path: Path) -> None:
    cluster = NatsCluster(tmp_path)
    node = cluster.nodes[1]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        node.mqtt_port = taken.getsockname()[1]
        cluster.start()
        try:
            assert node.mqtt_port != taken.getsockname()[1]
            assert node.process is not None and node.process.poll() is None
            assert "address already in use" in (node.root / "nats.log").read_text()
        finally:
            cluster.stop()
