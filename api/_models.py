"""Request and response bodies of the HTTP API, split by role as the FastAPI template does
(``...Create`` in, ``...Update`` partial in, ``...Public`` out, ``...sPublic`` lists), so
internal fields (hashes, revisions, delivery secrets) never leak."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from safehood.alerting.const import CALL_OUTCOMES, EMERGENCY_SERVICES, RESOLUTION_CAUSES
from safehood.protocol import (
    Alert,
    DeviceFields,
    DeviceId,
    DeviceIn,
    DeviceKind,
    EntityId,
    KeyHolderIn,
    ResponderIn,
    SiteId,
)

from ._roles import Role
from .const import MAX_NOTE_LENGTH

HhMm = Annotated[str, Field(pattern=r"^\d{1,2}:\d{2}$", examples=["22:00"])]
ShortText = Annotated[str, Field(max_length=200)]
Rfc3339 = Annotated[str, Field(description="RFC 3339 time, UTC", examples=["2025-01-01T08:00:00.000Z"])]


class ApiModel(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


# A response model that inherits a request model's fields: every field is in the response
# (so the schema says required, defaults or not), and what the request forbids is ignored.
PUBLIC_FROM_REQUEST = ConfigDict(extra="ignore", json_schema_serialization_defaults_required=True)


class ErrorPublic(BaseModel):
    """Every 4xx/5xx body."""

    detail: str


class MePublic(BaseModel):
    name: str
    role: Role
    sites: list[str]
    residents: list[str]


# --- alerts -----------------------------------------------------------------------------


class AlertPublic(Alert):
    """An alert as the API returns it. Its fields are declared once, in the wire contract's
    ``Alert``; a view for a narrower role inherits them and names in ``hidden`` what that
    role may not see, which :meth:`from_alert` leaves at its empty default. Build them with
    ``_disclosure.alert_view``, which decides what each role sees."""

    hidden: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def from_alert(cls, alert: Alert, **changed: Any) -> Self:
        """``alert`` as this view, with the fields in ``changed`` replaced."""
        # The alert was typed when it was built: copy its values, do not validate again.
        shown = {name: value for name, value in alert.__dict__.items()
                 if name not in cls.hidden}
        return cls.model_construct(**(shown | changed), **(alert.model_extra or {}))


class AlertFamilyView(AlertPublic):
    """An alert as a family sees it: who else was notified, and where, is the officers'
    business (``notifications`` stays empty)."""

    hidden: ClassVar[frozenset[str]] = frozenset({"notifications"})


class AlertsPublic(BaseModel):
    data: list[AlertPublic]
    count: int = Field(description="how many alerts match the filters (before limit/offset)")


class AlertNote(ApiModel):
    """Body of acknowledge and escalate: an optional note."""

    note: str | None = Field(default=None, max_length=MAX_NOTE_LENGTH)


ResolutionCause = Annotated[str, Field(json_schema_extra={"enum": list(RESOLUTION_CAUSES)})]


class AlertResolution(ApiModel):
    """Body of resolve: what was found and done (required), and what it was: ``real``,
    ``false_alarm``, ``test`` or ``device_fault`` (a false alarm is a label for the
    detection evaluation)."""

    note: str = Field(min_length=1, max_length=MAX_NOTE_LENGTH)
    cause: ResolutionCause | None = None

    @field_validator("cause")
    @classmethod
    def _known_cause(cls, value: str | None) -> str | None:
        if value is not None and value not in RESOLUTION_CAUSES:
            raise ValueError(f"cause must be one of {', '.join(RESOLUTION_CAUSES)}")
        return value


IncidentAction = Literal["called", "dispatched", "arrived", "handed-over"]


class IncidentActionCreate(ApiModel):
    """A person's action for the incident log. ``called`` names ``whom`` and the
    ``outcome``; ``dispatched`` names ``whom`` (the grid worker sent); ``handed-over`` names
    the emergency ``service`` (119 fire, 120 ambulance); ``arrived`` may name whom."""

    action: IncidentAction
    whom: str | None = Field(default=None, min_length=1, max_length=200)
    outcome: str | None = Field(default=None, json_schema_extra={"enum": list(CALL_OUTCOMES)})
    service: str | None = Field(default=None,
                                json_schema_extra={"enum": list(EMERGENCY_SERVICES)})
    note: str | None = Field(default=None, max_length=MAX_NOTE_LENGTH)

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.outcome is not None and self.outcome not in CALL_OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(CALL_OUTCOMES)}")
        if self.service is not None and self.service not in EMERGENCY_SERVICES:
            raise ValueError(f"service must be one of {', '.join(EMERGENCY_SERVICES)}")
        if self.action == "called" and (self.whom is None or self.outcome is None):
            raise ValueError("a call names whom and the outcome")
        if self.action == "dispatched" and self.whom is None:
            raise ValueError("a dispatch names whom")
        if self.action == "handed-over" and self.service is None:
            raise ValueError("a hand-over names the service (119 or 120)")
        return self

    def detail(self) -> dict[str, str]:
        """The structured part, as the alert's history keeps it."""
        return {k: v for k, v in (("whom", self.whom), ("outcome", self.outcome),
                                  ("service", self.service)) if v is not None}


# --- one clock --------------------------------------------------------------------------


class SiteClockPublic(BaseModel):
    """The clock of a site: the event time its alerts run on. Every time the dashboard
    shows is on this clock, in ``timezone``; relative times count from ``now``."""

    site: str
    now: Rfc3339
    now_ms: int
    timezone: str = Field(description="IANA time zone of the site")
    simulated: bool = Field(description="the site's traffic is simulated (the demo)")


# --- care records -----------------------------------------------------------------------


class HouseholdCare(ApiModel):
    """A household's part of the care record: where the flat is, whom to call, how to get
    in."""

    building: ShortText | None = None
    floor: int | None = Field(default=None, ge=-10, le=300)
    unit: str | None = Field(default=None, min_length=1, max_length=32)
    responders: list[ResponderIn] = Field(default_factory=list, max_length=20)
    key_holders: list[KeyHolderIn] = Field(default_factory=list, max_length=10)
    access_notes: str | None = Field(default=None, max_length=500)


class ResidentCare(ApiModel):
    """A resident's part of the care record."""

    birth_year: int | None = Field(default=None, ge=1880, le=2100)
    conditions: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=20)
    mobility: str | None = Field(default=None, max_length=500)
    language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class ResidentCarePublic(ResidentCare):
    model_config = PUBLIC_FROM_REQUEST

    id: str
    name: str
    elderly: bool
    dementia: bool
    age: int | None = Field(description="years, by the site clock's year")


class CareRecordPublic(HouseholdCare):
    """Who is in danger and whom to call: what an officer needs beside an alert
    (``responders`` in the order to call them). ``key_holders[].access_note`` and
    ``access_notes`` are null unless the caller is an officer of the site or an admin
    (``access_shown``)."""

    model_config = PUBLIC_FROM_REQUEST

    household: str
    site: str
    address: str | None
    lives_alone: bool
    timezone: str
    residents: list[ResidentCarePublic] = Field(description="the alert's resident first")
    access_shown: bool


class HouseholdCareUpdate(HouseholdCare):
    """PATCH body of a household's care record: only the fields given change."""


class ResidentCareUpdate(ResidentCare):
    """PATCH body of a resident's care record: only the fields given change."""


# --- registry ---------------------------------------------------------------------------


# The registry's Create, Update and Public models inherit the fields of one ...Fields model
# (the FastAPI template's way): an Update makes only the required fields optional, since a
# PATCH applies only the fields it was given.


class HouseholdFields(HouseholdCare):
    site: SiteId
    lives_alone: StrictBool = False
    timezone: str = Field(default="UTC", max_length=64, description="IANA time zone")
    night: tuple[HhMm, HhMm] = ("22:00", "06:00")
    address: str | None = Field(default=None, max_length=500)


class HouseholdCreate(HouseholdFields):
    id: EntityId


class HouseholdUpdate(HouseholdFields):
    """PATCH body: only the fields given change."""

    site: SiteId | None = None  # type: ignore[assignment]


class HouseholdPublic(HouseholdCreate):
    model_config = PUBLIC_FROM_REQUEST


class HouseholdsPublic(BaseModel):
    data: list[HouseholdPublic]
    count: int


class ResidentFields(ResidentCare):
    household: EntityId
    name: str = Field(min_length=1, max_length=200)
    elderly: StrictBool = False
    dementia: StrictBool = False
    contacts: list[Annotated[str, Field(min_length=1, max_length=1000)]] = Field(
        default_factory=list, max_length=20,
        description="Apprise URLs of the family's notification targets")


class ResidentCreate(ResidentFields):
    id: EntityId


class ResidentUpdate(ResidentFields):
    household: EntityId | None = None  # type: ignore[assignment]
    name: str | None = Field(default=None, min_length=1, max_length=200)  # type: ignore[assignment]


class ResidentPublic(ResidentCreate):
    model_config = PUBLIC_FROM_REQUEST

    contacts: list[str] | None = Field(  # type: ignore[assignment]
        description="notification contacts; null when the caller may not see them (officers)")


class ResidentsPublic(BaseModel):
    data: list[ResidentPublic]
    count: int


class DeviceCreate(DeviceIn):
    """POST body of a device: the registry file's device (``protocol.DeviceFields``)."""


class DeviceUpdate(DeviceFields):
    site: SiteId | None = None  # type: ignore[assignment]
    kind: DeviceKind | None = None  # type: ignore[assignment]


class DevicePublic(DeviceCreate):
    model_config = PUBLIC_FROM_REQUEST

    provisioned: bool = Field(description="whether the device has MQTT credentials")


class DevicesPublic(BaseModel):
    data: list[DevicePublic]
    count: int


class MqttCredentialsPublic(BaseModel):
    """A device's MQTT login, returned once at provisioning: safehood keeps only a hash."""

    username: str
    password: str
    broker: str = Field(description="the broker URL safehood is configured with")
    publish_topic: str | None = Field(description="topic filter the device may publish under")
    broker_reloaded: bool = Field(
        description="whether the broker was told to re-read its password and ACL files")


class DeviceCreated(DevicePublic):
    mqtt: MqttCredentialsPublic | None = Field(
        default=None, description="present when the device was provisioned by this call")


class RegistryImportResult(BaseModel):
    households: int
    residents: int
    devices: int
    credentials: list[MqttCredentialsPublic] = Field(
        default_factory=list, description="new MQTT credentials (with ?provision=true)")


# --- health, readings, sites ------------------------------------------------------------

Problem = Literal["offline", "battery_low", "silent"]


class DeviceHealthPublic(BaseModel):
    device_id: str
    site: str
    household: str | None
    kind: str | None
    room: str | None
    last_seen: Rfc3339 | None
    online: bool | None
    battery: int | None
    rssi: int | None
    problem: Problem | None


class DeviceHealthList(BaseModel):
    data: list[DeviceHealthPublic]


class ReadingPublic(BaseModel):
    ts: Rfc3339
    ts_ms: int
    channel: str
    fields: dict[str, Any]


class ReadingsPublic(BaseModel):
    device_id: str
    start: Rfc3339
    end: Rfc3339
    data: list[ReadingPublic]


class HouseholdReadingsPublic(BaseModel):
    """The readings of every registered device of a household over one time range."""

    household: str
    start: Rfc3339
    end: Rfc3339
    devices: list[ReadingsPublic] = Field(description="each device of the household, by id")


class SitePublic(BaseModel):
    id: str
    households: int
    devices: int
    open_alerts: int


class SitesPublic(BaseModel):
    data: list[SitePublic]


class ResidentRef(BaseModel):
    id: str
    name: str


class HouseholdOverview(BaseModel):
    id: str
    building: str | None
    lives_alone: bool
    residents: list[ResidentRef]
    state: Literal["alert", "device_problem", "quiet"]
    open_alerts: int
    worst_severity: str | None
    last_activity: Rfc3339 | None
    devices_offline: int
    battery_low: int


class SiteOverview(BaseModel):
    site: str
    households: list[HouseholdOverview]
    clock: SiteClockPublic | None = Field(default=None, description="the site's clock")


class ResidentStatusRef(ResidentRef):
    household: str


class ResidentStatus(BaseModel):
    resident: ResidentStatusRef
    last_activity: Rfc3339 | None
    devices: list[DeviceHealthPublic]
    devices_ok: bool
    open_alerts: list[AlertPublic]
    clock: SiteClockPublic | None = Field(default=None, description="the site's clock")


# --- dead letters -----------------------------------------------------------------------


class DeadLetterPublic(BaseModel):
    id: int
    received_at: Rfc3339
    received_ms: int
    topic: str
    reason: str
    detail: str
    payload: str = Field(description="the payload as text (invalid UTF-8 replaced), truncated")
    payload_size: int = Field(description="size of the original payload in bytes")


class DeadLettersPublic(BaseModel):
    data: list[DeadLetterPublic]
    count: int


class DeadLetterStats(BaseModel):
    total: int
    by_reason: dict[str, int]


# --- silences ---------------------------------------------------------------------------


class WeeklyWindowIn(ApiModel):
    """Local time on some days of the week; an end at or before the start runs past
    midnight."""

    days: list[int] = Field(min_length=1, max_length=7,
                            description="0 Monday ... 6 Sunday")
    start: str = Field(pattern=r"^\d{2}:\d{2}$", examples=["22:00"])
    end: str = Field(pattern=r"^\d{2}:\d{2}$", examples=["07:00"])


class SilenceCreate(ApiModel):
    """A silence or maintenance window: matching alerts are recorded but nobody is told.
    At least one of site, household and device_id; no types means every type. With
    ``weekly`` windows it recurs (quiet hours, weekly maintenance) in ``timezone`` (default:
    the site's), from ``starts_at`` until ``ends_at`` (default: ten years)."""

    site: SiteId | None = None
    household: EntityId | None = None
    device_id: DeviceId | None = None
    types: list[str] = Field(default_factory=list, max_length=20)
    starts_at: str | int | None = Field(
        default=None, description="RFC 3339 or epoch ms; default now")
    ends_at: str | int | None = Field(
        default=None, description="RFC 3339 or epoch ms; required unless weekly")
    comment: str = Field(default="", max_length=MAX_NOTE_LENGTH)
    weekly: list[WeeklyWindowIn] = Field(default_factory=list, max_length=14)
    timezone: str | None = Field(default=None, max_length=64, examples=["Asia/Shanghai"])


class SilencePublic(BaseModel):
    id: str
    site: str | None
    household: str | None
    device_id: str | None
    types: list[str]
    starts_at: Rfc3339
    ends_at: Rfc3339
    created_by: str
    created_at: Rfc3339 | None
    comment: str
    active: bool
    weekly: list[WeeklyWindowIn] = Field(default_factory=list)
    timezone: str = "UTC"


class SilencesPublic(BaseModel):
    data: list[SilencePublic]


# --- tokens -----------------------------------------------------------------------------


class TokenCreate(ApiModel):
    name: str = Field(min_length=1, max_length=200, description="whose token it is")
    role: Role
    sites: list[SiteId] = Field(default_factory=list, max_length=100,
                                description="officer tokens: the sites they see")
    residents: list[EntityId] = Field(default_factory=list, max_length=100,
                                      description="family tokens: the residents they see")
    expires_at: str | int | None = Field(default=None, description="RFC 3339 or epoch ms")


class TokenPublic(BaseModel):
    id: str
    name: str
    role: Role
    sites: list[str]
    residents: list[str]
    created_at: Rfc3339
    expires_at: Rfc3339 | None
    revoked_at: Rfc3339 | None
    active: bool


class TokenCreated(TokenPublic):
    token: str = Field(description="the bearer token; shown only this once")


class TokensPublic(BaseModel):
    data: list[TokenPublic]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    components: dict[str, str] = Field(description="'ok' or what failed, per component")


# --- building plan, response metrics, shift handover -----------------------------------


class PlanAlert(BaseModel):
    id: str
    type: str
    severity: str
    status: str


class PlanUnit(BaseModel):
    """One household's flat: its open alerts, its worst severity, and whether a fire in
    the building puts it at risk (on the fire's floor or above)."""

    household: str
    unit: str | None
    floor: int | None
    residents: list[ResidentRef]
    lives_alone: bool
    open_alerts: list[PlanAlert]
    worst_severity: str | None
    fire: bool
    at_risk: bool


class PlanFloor(BaseModel):
    floor: int | None
    units: list[PlanUnit]


class PlanBuilding(BaseModel):
    id: str
    fire: bool
    floors: list[PlanFloor]


class SitePlan(BaseModel):
    site: str
    buildings: list[PlanBuilding]


class DurationsPublic(BaseModel):
    count: int
    answered: int
    median_s: float | None
    p90_s: float | None
    within_60s: float | None


class ResponseRowPublic(BaseModel):
    site: str
    type: str
    shift: str
    acknowledge: DurationsPublic
    resolve: DurationsPublic


class ResponseMetricsPublic(BaseModel):
    site: str
    timezone: str
    shift_starts: list[str]
    since: Rfc3339
    until: Rfc3339
    data: list[ResponseRowPublic]


class HandoverAlert(BaseModel):
    id: str
    type: str
    severity: str
    status: str
    household: str | None
    started_at: Rfc3339
    acknowledged_at: Rfc3339 | None
    resolved_at: Rfc3339 | None
    reminders: int = 0


class HandoverPublic(BaseModel):
    site: str
    timezone: str
    shift: str
    shift_start: Rfc3339
    shift_end: Rfc3339
    at: Rfc3339
    open: list[HandoverAlert]
    happened: list[HandoverAlert]
    unacknowledged: list[HandoverAlert]
