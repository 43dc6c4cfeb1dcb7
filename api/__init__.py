"""The HTTP API of safehood: REST under ``/api/v1`` with roles and tokens, device
provisioning, a live stream of alert changes, health and metrics.

Build it with :func:`create_app` from an :class:`ApiContext`; serve it with
:class:`ApiServer` (uvicorn that ends open streams on shutdown).
"""

from ._app import create_app
from ._context import ApiContext
from ._models import AlertFamilyView, AlertPublic
from ._personal_data import erase_resident_data, export_resident_data
from ._provisioning import (
    MqttCredentials,
    Provisioner,
    ProvisioningError,
    mosquitto_hash,
    verify_mosquitto_hash,
)
from ._registry import RegistryError, RegistryService
from ._roles import Principal, Role
from ._server import ApiServer, RedactTokens
from ._stream import AlertBroadcaster
from ._tokens import IssuedToken, TokenError, TokenNotFound, TokenRecord, TokenStore

__all__ = [
    "AlertBroadcaster",
    "AlertFamilyView",
    "AlertPublic",
    "ApiContext",
    "ApiServer",
    "IssuedToken",
    "MqttCredentials",
    "Principal",
    "Provisioner",
    "ProvisioningError",
    "RedactTokens",
    "RegistryError",
    "RegistryService",
    "Role",
    "TokenError",
    "TokenNotFound",
    "TokenRecord",
    "TokenStore",
    "create_app",
    "erase_resident_data",
    "export_resident_data",
    "mosquitto_hash",
    "verify_mosquitto_hash",
]
