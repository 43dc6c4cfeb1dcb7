"""The api package's front door stays small: a new public name must be added on purpose."""

from safehood import api


def test_exported_names() -> None:
    assert sorted(api.__all__) == [
        "ApiContext", "ApiServer", "IssuedToken", "MqttCredentials", "Principal", "Provisioner",
        "ProvisioningError", "RegistryError", "RegistryService", "Role", "TokenError",
        "TokenNotFound", "TokenRecord", "TokenStore", "create_app", "mosquitto_hash",
    ]
    public = {name for name in vars(api) if not name.startswith("_")}
    assert public - set(api.__all__) <= {"const", "routes"}
