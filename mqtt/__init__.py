"""The MQTT edge: one way to build and connect a paho 2 client, one error for a broker that
is not there, and a QoS 1 publisher. Ingest, the simulators and the tests all connect here.

A package of its own at the start of the data flow, beside ``config`` (whose
``MqttEndpoint`` it reads) and ``protocol``: not inside ``protocol``, the pure wire contract
the detectors import, which must not pull in paho and sockets; not inside ``config``, which
holds settings and does no I/O. Being earlier than ingest, the simulators may import it.
"""

from ._client import BrokerUnreachable, BurstClient, ProtocolChoice, Publish, connect
from ._publisher import Publisher

__all__ = ["BrokerUnreachable", "BurstClient", "ProtocolChoice", "Publish", "Publisher", "connect"]
