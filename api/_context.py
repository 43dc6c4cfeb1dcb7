"""What the API needs from the process that runs it, handed over in one object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from safehood.config import Settings
from safehood.protocol import Registry

from ._loop_lag import LoopLagMonitor
from ._provisioning import Provisioner
from ._registry import RegistryService
from ._security import FailedAuthLimiter
from ._stream import AlertBroadcaster
from ._tokens import TokenStore, wall_clock_ms

if TYPE_CHECKING:
    from safehood.alerting import AckTokens, AlertManager
    from safehood.store import ReadingStore


@dataclass(frozen=True, slots=True)
class ApiContext:
    """Everything the routes use; built by the composition root, passed to ``create_app``.

    - ``engine``: the alerts/registry database (migrated by the caller);
    - ``alerts``: the alert manager (lifecycle actions, queries, live changes, silences);
    - ``store``: the time-series store, for device readings;
    - ``broker_ready``: answers whether the MQTT broker is reachable (``/readyz``);
    - ``provisioner``: device MQTT accounts and broker files (default: from the settings,
      reloading the broker only when ``broker_reload_command`` is set);
    - ``on_registry_change``: called with the new registry after every registry change made
      through the API (reload ingest and the detectors there);
    - ``loaded_registry``: the registry the process has already loaded and the registry's
      version read before it (``database.load_registry_if_changed``): the API serves it
      until the database's registry changes, instead of loading a copy of its own (at
      100,000 devices a copy is 30 MB);
    - ``ack_tokens``: checks the tokens of acknowledge links (``/ack/{alert_id}``; without
      it those links are refused);
    - ``clock``: wall clock in epoch ms (tests pin it);
    - ``event_clock``: the event time now at a site in epoch ms (None: not heard from yet),
      the clock its alerts run on; people's actions are recorded on it (default: none, the
      wall clock is used);
    - ``simulated``: the traffic is simulated (the demo): its clock is shown as such;
    - ``serve_ui``: mount the dashboard's static files at ``/ui/``.
    """

    settings: Settings
    engine: Engine
    alerts: AlertManager
    store: ReadingStore
    broker_ready: Callable[[], bool]
    provisioner: Provisioner | None = None
    on_registry_change: Callable[[Registry], None] | None = None
    loaded_registry: tuple[int | None, Registry] | None = None
    clock: Callable[[], int] = wall_clock_ms
    event_clock: Callable[[str], int | None] | None = None
    simulated: bool = False
    serve_ui: bool = True
    ack_tokens: AckTokens | None = None


@dataclass(frozen=True, slots=True)
class Services:
    """The context plus what the API builds from it; one per app, on ``app.state``."""

    context: ApiContext
    tokens: TokenStore
    registry: RegistryService
    provisioner: Provisioner
    streams: AlertBroadcaster
    auth_failures: FailedAuthLimiter
    loop_lag: LoopLagMonitor
