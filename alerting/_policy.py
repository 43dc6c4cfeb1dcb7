"""Alert policy: escalation tiers, reminders, auto-resolve and flapping rules per alert type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from safehood.protocol import AlertType

from . import const
from ._errors import PolicyError

_MINUTE = 60.0
_HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class EscalationTier:
    """One step of an escalation chain: who is told, and when.

    ``after_s`` counts from the alert's ``started_at`` (event time); the tier is notified once
    that much time has passed and the alert is still firing (not acknowledged).
    ``require_confirmed`` holds the tier back until the alert is confirmed (fire: the
    emergency contact is called once a second sensor agrees).
    """

    audience: tuple[str, ...]
    after_s: float = 0.0
    require_confirmed: bool = False

    @property
    def after_ms(self) -> int:
        return int(self.after_s * 1000)


@dataclass(frozen=True, slots=True)
class TypePolicy:
    """The rules of one alert type.

    ``tiers``: the escalation chain, tier 0 first (no tiers: recorded, never notified).
    ``reminder_interval_s``: while firing and unacknowledged, remind ``reminder_audience``
    this often (``None``: no reminders). ``auto_resolve``: a detector's clear resolves the
    alert (otherwise it is noted and a person resolves it). ``flap_detection``: hold back
    notifications while the alert keeps coming back (see :class:`AlertPolicy`).
    ``incident_window_s``: an open alert takes in a new raise of its (type, subject) only
    while its last news (the event time of the newest decision it took) is at most this
    old; a raise after a longer quiet is a new incident, a new alert, and the old alert is
    closed as superseded by it (``None``: an open alert takes in every raise).
    """

    tiers: tuple[EscalationTier, ...] = ()
    reminder_interval_s: float | None = const.DEFAULT_REMINDER_INTERVAL_S
    reminder_audience: tuple[str, ...] = (const.OFFICERS,)
    auto_resolve: bool = False
    flap_detection: bool = False
    incident_window_s: float | None = None

    @property
    def incident_window_ms(self) -> int | None:
        return None if self.incident_window_s is None else int(self.incident_window_s * 1000)

    @property
    def reminder_interval_ms(self) -> int | None:
        return None if self.reminder_interval_s is None else int(self.reminder_interval_s * 1000)


_INHIBIT_FIELDS = ("site", "household", "device_id")


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """While an alert of type ``source`` is open, alerts of type ``target`` with the same
    ``equal`` field (``household``, ``site`` or ``device_id``) are recorded, not notified:
    the source alert covers them (Alertmanager's inhibition)."""

    source: AlertType
    target: AlertType
    equal: str = "household"


DEFAULT_INHIBIT: tuple[InhibitRule, ...] = (
    # The fire alert of a household already says there is smoke.
    InhibitRule(AlertType.FIRE, AlertType.SMOKE, "household"),
    # A site that is offline as a whole takes all of its devices with it.
    InhibitRule(AlertType.SITE_OFFLINE, AlertType.DEVICE_OFFLINE, "site"),
)


def _tier(*audience: str, after_min: float = 0.0, confirmed: bool = False) -> EscalationTier:
    return EscalationTier(tuple(audience), after_min * _MINUTE, confirmed)


_O, _S, _F, _E = const.OFFICERS, const.SUPERVISOR, const.FAMILY, const.EMERGENCY
_N, _FS = const.NEIGHBOURS, const.FIRE_STATION

DEFAULT_TYPES: Mapping[AlertType, TypePolicy] = MappingProxyType({
    # A confirmed fire also evacuates the building: its other households and the micro fire
    # station are told at once.
    AlertType.FIRE: TypePolicy(
        (_tier(_O, _F), _tier(_E, _N, _FS, confirmed=True), _tier(_S, after_min=3)),
        reminder_interval_s=2 * _MINUTE),
    AlertType.SMOKE: TypePolicy(
        (_tier(_O), _tier(_S, _F, after_min=5)),
        reminder_interval_s=5 * _MINUTE, auto_resolve=True, flap_detection=True),
    # A possible fall (an impact, or a learned score over its threshold) tells the officers;
    # the family is woken by a confirmed fall (a long lie) or when no officer has answered.
    AlertType.FALL: TypePolicy(
        (_tier(_O), _tier(_F, confirmed=True), _tier(_S, _F, after_min=5),
         _tier(_E, after_min=15)),
        reminder_interval_s=5 * _MINUTE),
    AlertType.SOS: TypePolicy(
        (_tier(_O, _F), _tier(_S, after_min=5), _tier(_E, after_min=15)),
        reminder_interval_s=5 * _MINUTE, incident_window_s=const.SOS_INCIDENT_WINDOW_S),
    AlertType.WATER_LEAK: TypePolicy(
        (_tier(_O, _F), _tier(_S, after_min=30)),
        reminder_interval_s=15 * _MINUTE, auto_resolve=True, flap_detection=True),
    AlertType.INACTIVITY: TypePolicy(
        (_tier(_O, _F), _tier(_S, after_min=15), _tier(_E, after_min=30)),
        reminder_interval_s=10 * _MINUTE),
    AlertType.NIGHT_WANDERING: TypePolicy(
        (_tier(_O, _F), _tier(_S, after_min=10), _tier(_E, after_min=30)),
        reminder_interval_s=5 * _MINUTE),
    AlertType.DOOR_LEFT_OPEN: TypePolicy(
        (_tier(_O), _tier(_F, after_min=30)),
        reminder_interval_s=30 * _MINUTE, auto_resolve=True, flap_detection=True),
    AlertType.FORCED_ENTRY: TypePolicy(
        (_tier(_O, _F), _tier(_S, after_min=5), _tier(_E, after_min=10)),
        reminder_interval_s=5 * _MINUTE),
    AlertType.DEVICE_OFFLINE: TypePolicy(
        (_tier(_O), _tier(_S, after_min=240)),
        reminder_interval_s=None, auto_resolve=True, flap_detection=True),
    AlertType.SITE_OFFLINE: TypePolicy(
        (_tier(_O, _S),),
        reminder_interval_s=30 * _MINUTE, reminder_audience=(_O, _S), auto_resolve=True,
        flap_detection=True),
    AlertType.BATTERY_LOW: TypePolicy(
        (_tier(_O),), reminder_interval_s=None, auto_resolve=True, flap_detection=True),
    AlertType.TAMPER: TypePolicy(
        (_tier(_O), _tier(_S, after_min=30)), reminder_interval_s=30 * _MINUTE),
    AlertType.ABNORMAL_ROUTINE: TypePolicy(
        (_tier(_O), _tier(_F, after_min=60)), reminder_interval_s=None),
})
"""The documented defaults, one line per type:

============== ================================================= ======== ============ =====
type           tiers (after minutes: audience)                   reminder auto-resolve flap
============== ================================================= ======== ============ =====
fire           0: officers, family; 0 once confirmed: emergency, 2 min    never        no
               neighbours, fire_station; 3: supervisor
smoke          0: officers; 5: supervisor, family                5 min    yes          yes
fall           0: officers; 0 once confirmed: family;            5 min    no           no
               5: supervisor, family; 15: emergency
sos            0: officers, family; 5: supervisor; 15: emergency 5 min    no           no
water_leak     0: officers, family; 30: supervisor               15 min   yes          yes
inactivity     0: officers, family; 15: supervisor; 30: emerg.   10 min   no           no
night_wander.  0: officers, family; 10: supervisor; 30: emerg.   5 min    no           no
door_left_open 0: officers; 30: family                           30 min   yes          yes
forced_entry   0: officers, family; 5: supervisor; 10: emergency 5 min    no           no
device_offline 0: officers; 240: supervisor                      none     yes          yes
site_offline   0: officers, supervisor                           30 min   yes          yes
battery_low    0: officers                                       none     yes          yes
tamper         0: officers; 30: supervisor                       30 min   no           no
abnormal_rout. 0: officers; 60: family                           none     no           no
============== ================================================= ======== ============ =====

Reminders go to the officers (site_offline: officers and supervisor). Neighbours and the
fire station hear of a fire (an evacuation message) and of its end, not of the steps
between. An open sos alert takes in presses while its last press is at most an hour old
(``incident_window_s``); a press after a longer quiet is a new incident: a new alert,
notified afresh, and the old one is closed as superseded. Other types fold every raise into
their open alert. Inactivity is not auto-resolved because a pet or a visitor moving about
does not prove the resident is well.
"""

_FALLBACK = TypePolicy((_tier(_O),))


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """Rules of the alert lifecycle for every alert type; ``AlertPolicy()`` is the default.

    ``types`` maps alert types to their :class:`TypePolicy` (types not listed use
    ``fallback``). An alert of a type with flap detection is *flapping* when it is the
    ``flap_threshold``-th alert of its (type, subject) raised within ``flap_window_s``: it is
    recorded, and nobody is notified unless it is still firing ``flap_window_s`` later.
    ``channels`` maps a site (or ``"*"`` for every site) to the Apprise URLs of its
    officers, supervisor, emergency and fire_station audiences; families and neighbours
    come from the registry.
    ``inhibit`` lists the :class:`InhibitRule` s (default: a fire covers the smoke alerts of
    its household, a site offline the device-offline alerts of the site).
    """

    types: Mapping[AlertType, TypePolicy] = field(default_factory=lambda: DEFAULT_TYPES)
    fallback: TypePolicy = _FALLBACK
    flap_window_s: float = const.DEFAULT_FLAP_WINDOW_S
    flap_threshold: int = const.DEFAULT_FLAP_THRESHOLD
    channels: Mapping[str, Mapping[str, tuple[str, ...]]] = field(
        default_factory=lambda: MappingProxyType({}))
    inhibit: tuple[InhibitRule, ...] = DEFAULT_INHIBIT

    def __post_init__(self) -> None:
        for rule in self.inhibit:
            if rule.equal not in _INHIBIT_FIELDS:
                raise PolicyError(f"inhibit rule {rule.source.value} -> {rule.target.value}: "
                                  f"equal must be one of {', '.join(_INHIBIT_FIELDS)}")
            if rule.source == rule.target:
                raise PolicyError(f"inhibit rule {rule.source.value}: an alert type cannot "
                                  "inhibit itself")
        if self.flap_threshold < 2:
            raise PolicyError("flap_threshold must be at least 2")
        if self.flap_window_s <= 0:
            raise PolicyError("flap_window_s must be positive")
        for alert_type, rules in self.types.items():
            _check_type(alert_type, rules)
        _check_type(None, self.fallback)
        for site, audiences in self.channels.items():
            unknown = set(audiences) - set(const.SITE_AUDIENCES)
            if unknown:
                raise PolicyError(f"channels of {site!r}: unknown audience {sorted(unknown)[0]!r}; "
                                  f"one of {', '.join(const.SITE_AUDIENCES)}")

    @property
    def flap_window_ms(self) -> int:
        return int(self.flap_window_s * 1000)

    def inhibitors(self, alert_type: AlertType) -> tuple[InhibitRule, ...]:
        """The rules under which alerts of ``alert_type`` are inhibited."""
        return tuple(rule for rule in self.inhibit if rule.target == alert_type)

    def for_type(self, alert_type: AlertType) -> TypePolicy:
        return self.types.get(alert_type, self.fallback)

    def may_auto_resolve(self, alert_type: AlertType) -> bool:
        return alert_type not in const.NEVER_AUTO_RESOLVE and self.for_type(alert_type).auto_resolve

    def site_channels(self, site: str, audience: str) -> tuple[str, ...]:
        """Apprise URLs of one audience of a site, the site's own first, then those of ``*``."""
        own = self.channels.get(site, {}).get(audience, ())
        common = self.channels.get(const.ANY_SITE, {}).get(audience, ())
        return tuple(dict.fromkeys((*own, *common)))

    @classmethod
    def from_data(cls, data: Any) -> AlertPolicy:
        """Build a policy from parsed YAML/JSON; types not given keep their defaults, and
        fields not given of a type keep that type's defaults. Raises :class:`PolicyError`."""
        try:
            model = _PolicyFile.model_validate(data if data is not None else {})
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise PolicyError(f"bad alert policy at {where}: {first['msg']}") from None
        types = dict(DEFAULT_TYPES)
        for alert_type, override in model.types.items():
            types[alert_type] = override.apply(types.get(alert_type, _FALLBACK))
        defaults = cls()
        return cls(
            types=MappingProxyType(types),
            flap_window_s=model.flap_window_s or defaults.flap_window_s,
            flap_threshold=model.flap_threshold or defaults.flap_threshold,
            channels=MappingProxyType({
                site: MappingProxyType({a: tuple(urls) for a, urls in audiences.items()})
                for site, audiences in model.channels.items()
            }),
            inhibit=DEFAULT_INHIBIT if model.inhibit is None else tuple(
                InhibitRule(r.source, r.target, r.equal) for r in model.inhibit),
        )

    @classmethod
    def load(cls, path: str | Path) -> AlertPolicy:
        """Read a policy file: YAML for ``.yaml``/``.yml``, JSON otherwise."""
        path = Path(path)
        try:
            text = path.read_bytes()
            data = (yaml.safe_load(text) if path.suffix in (".yaml", ".yml")
                    else orjson.loads(text))
        except OSError as exc:
            raise PolicyError(f"cannot read alert policy {path}: {exc.strerror}") from None
        except (yaml.YAMLError, orjson.JSONDecodeError) as exc:
            raise PolicyError(f"alert policy {path} is not valid YAML/JSON: {exc}") from None
        return cls.from_data(data)


def _check_type(alert_type: AlertType | None, rules: TypePolicy) -> None:
    name = alert_type.value if alert_type is not None else "fallback"
    for tier in rules.tiers:
        if not tier.audience:
            raise PolicyError(f"{name}: an escalation tier must name an audience")
        for audience in tier.audience:
            if audience not in const.AUDIENCES:
                raise PolicyError(f"{name}: unknown audience {audience!r}; "
                                  f"one of {', '.join(const.AUDIENCES)}")
        if tier.after_s < 0:
            raise PolicyError(f"{name}: after_s must not be negative")
    for audience in rules.reminder_audience:
        if audience not in const.AUDIENCES:
            raise PolicyError(f"{name}: unknown reminder audience {audience!r}")
    if rules.incident_window_s is not None and rules.incident_window_s <= 0:
        raise PolicyError(f"{name}: incident_window_s must be positive (or null for none)")
    if rules.reminder_interval_s is not None and rules.reminder_interval_s <= 0:
        raise PolicyError(f"{name}: reminder_interval_s must be positive (or null for none)")
    if alert_type in const.NEVER_AUTO_RESOLVE and rules.auto_resolve:
        raise PolicyError(f"{name}: may never auto-resolve; a person must check and resolve it")


class _TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audience: list[str] = Field(min_length=1)
    after_s: float = Field(default=0.0, ge=0)
    require_confirmed: bool = False

    @field_validator("audience", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class _TypeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tiers: list[_TierIn] | None = None
    reminder_interval_s: float | None = Field(default=None, gt=0)
    no_reminders: bool = False
    reminder_audience: list[str] | None = None
    auto_resolve: bool | None = None
    flap_detection: bool | None = None
    incident_window_s: float | None = Field(default=None, gt=0)
    no_incident_window: bool = False

    def apply(self, base: TypePolicy) -> TypePolicy:
        rules = base
        if self.tiers is not None:
            rules = replace(rules, tiers=tuple(
                EscalationTier(tuple(t.audience), t.after_s, t.require_confirmed)
                for t in self.tiers))
        if self.no_reminders:
            rules = replace(rules, reminder_interval_s=None)
        elif self.reminder_interval_s is not None:
            rules = replace(rules, reminder_interval_s=self.reminder_interval_s)
        if self.reminder_audience is not None:
            rules = replace(rules, reminder_audience=tuple(self.reminder_audience))
        if self.auto_resolve is not None:
            rules = replace(rules, auto_resolve=self.auto_resolve)
        if self.flap_detection is not None:
            rules = replace(rules, flap_detection=self.flap_detection)
        if self.no_incident_window:
            rules = replace(rules, incident_window_s=None)
        elif self.incident_window_s is not None:
            rules = replace(rules, incident_window_s=self.incident_window_s)
        return rules


class _InhibitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: AlertType
    target: AlertType
    equal: str = "household"


class _PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    types: dict[AlertType, _TypeIn] = Field(default_factory=dict)
    flap_window_s: float | None = Field(default=None, gt=0)
    flap_threshold: int | None = Field(default=None, ge=2)
    channels: dict[str, dict[str, list[str]]] = Field(default_factory=dict)
    inhibit: list[_InhibitIn] | None = None
