"""Alerts: list and filter, detail with history and evidence, acknowledge, escalate,
resolve, and CAP 1.2 (one alert, or an Atom feed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic_core import to_json

from safehood.alerting import AlertManager, AlertQuery, render_cap, render_cap_feed
from safehood.protocol import Alert, AlertStatus, AlertType, Severity

from .._alert_list import OPEN, list_alert_documents, list_alerts
from .._clock import site_now_ms
from .._context import Services
from .._deps import AlertReaders, OfficerOrAdmin, ServicesDep
from .._disclosure import alert_document_view, alert_view
from .._models import AlertNote, AlertPublic, AlertResolution, AlertsPublic, IncidentActionCreate
from .._roles import Principal, Role
from .._scope import AlertScope, alert_scope, concerns
from .._time import parse_time
from ..const import DEFAULT_LIMIT, MAX_LIMIT

router = APIRouter(tags=["alerts"])

AlertId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
IdFilter = Annotated[str | None, Query(max_length=64)]
TimeFilter = Annotated[str | None, Query(max_length=40, description="RFC 3339 or epoch ms")]
CAP_XML = "application/cap+xml"
ATOM_XML = "application/atom+xml"
_NO_MATCH = "\x00none"  # a filter value no alert has: the intersection of scopes was empty


def visible_alert(services: Services, principal: Principal, alert_id: str
                   ) -> tuple[Alert, AlertScope]:
    scope = alert_scope(services.context.engine, principal)
    alert = services.context.alerts.get(alert_id)
    if alert is None or not scope.sees(alert):
        raise HTTPException(404, f"no alert {alert_id!r}")
    return alert, scope


def _query(services: Services, scope: AlertScope, *, site: str | None, household: str | None,
           resident: str | None, types: list[AlertType] | None,
           statuses: list[AlertStatus] | None, severities: list[Severity] | None,
           since: str | None, until: str | None
           ) -> tuple[AlertQuery, Callable[[Alert], bool] | None]:
    """The alert query for the filters within the caller's scope, and the check that the
    query cannot express (applied to each alert after it)."""
    principal = scope.principal
    sites: set[str] | None = {site} if site else None
    households: set[str] | None = {household} if household else None
    checks: list[Callable[[Alert], bool]] = []
    if principal.role is Role.OFFICER:
        sites = set(principal.sites) if sites is None else sites & principal.sites
    if principal.role is Role.FAMILY:
        households = set(scope.households) if households is None else households & scope.households
        checks.append(scope.sees)
    if resident is not None:
        r = services.registry.load().residents.get(resident)
        home = r.household if r else None
        homes = {home} if home else set()
        households = homes if households is None else households & homes
        checks.append(lambda alert: concerns(alert, resident, home))
    query = AlertQuery(
        sites=tuple(sorted(sites or ())), households=tuple(sorted(households or ())),
        types=tuple(types or ()), statuses=tuple(statuses or ()),
        severities=tuple(severities or ()),
        since_ms=parse_time(since, "since"), until_ms=parse_time(until, "until"),
    )
    # An empty intersection of scope and filter must match nothing, not everything.
    if (sites is not None and not sites) or (households is not None and not households):
        query = AlertQuery(sites=(_NO_MATCH,))
    if not checks:
        return query, None
    return query, lambda alert: all(check(alert) for check in checks)


@router.get("/alerts", response_model=AlertsPublic,
            summary="List alerts: open first, then most severe, then newest")
def get_alerts(
    services: ServicesDep, principal: AlertReaders,
    site: Annotated[str | None, Query(max_length=64)] = None,
    household: IdFilter = None, resident: IdFilter = None,
    type: Annotated[list[AlertType] | None, Query(description="any of these types")] = None,
    status: Annotated[list[AlertStatus] | None, Query(description="any of these")] = None,
    severity: Annotated[list[Severity] | None, Query(description="any of these")] = None,
    since: TimeFilter = None, until: TimeFilter = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Officers see the alerts of their sites, families those of their resident(s);
    ``since``/``until`` bound ``started_at``."""
    scope = alert_scope(services.context.engine, principal)
    query, keep = _query(services, scope, site=site, household=household, resident=resident,
                         types=type, statuses=status, severities=severity, since=since,
                         until=until)
    page, total = list_alert_documents(services.context.alerts, query, limit=limit,
                                       offset=offset, keep=keep)
    body = {"data": [alert_document_view(a, scope.role) for a in page], "count": total}
    # The stored alerts' JSON documents, serialised as the declared model would be: two
    # models an alert (the alert, its role's view) were half a 500-alert page's CPU.
    return Response(to_json(body, inf_nan_mode="null"), media_type="application/json")


@router.get("/alerts/{alert_id}", response_model=AlertPublic,
            summary="One alert with its history and evidence")
def get_alert(alert_id: AlertId, services: ServicesDep, principal: AlertReaders) -> AlertPublic:
    alert, scope = visible_alert(services, principal, alert_id)
    return alert_view(alert, scope.role)


def _act(services: Services, principal: Principal, alert_id: str,
         change: Callable[[int], Alert]) -> AlertPublic:
    """Apply ``change`` (given the alert's site time now, ms) to an alert the caller sees;
    answer the changed alert as the caller's role sees it."""
    alert, _ = visible_alert(services, principal, alert_id)
    return alert_view(change(site_now_ms(services, alert.site)), principal.role)


# The transitions whose only input is an optional note: the manager's method (its name is
# the route's), what the route does, and when it answers 409.
NoteTransition = Callable[[AlertManager, str, str, str | None, int | None], Alert]
_NOTE_TRANSITIONS: tuple[tuple[NoteTransition, str, str], ...] = (
    (AlertManager.acknowledge, "Acknowledge a firing alert (someone is on it)",
     "the alert is not firing"),
    (AlertManager.escalate, "Notify the next escalation tier now", "resolved, or no further tier"),
)


def _add_note_transition(transition: NoteTransition, summary: str, refused: str) -> None:
    def endpoint(alert_id: AlertId, services: ServicesDep, principal: OfficerOrAdmin,
                 body: AlertNote | None = None) -> AlertPublic:
        note = body.note if body else None
        return _act(services, principal, alert_id, lambda at_ms: transition(
            services.context.alerts, alert_id, principal.actor, note, at_ms))

    name = transition.__name__
    router.add_api_route(f"/alerts/{{alert_id}}/{name}", endpoint, methods=["POST"], name=name,
                         response_model=AlertPublic, summary=summary,
                         responses={409: {"description": refused}})


for _transition, _summary, _refused in _NOTE_TRANSITIONS:
    _add_note_transition(_transition, _summary, _refused)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertPublic,
             summary="Resolve an alert, saying what was found and done",
             responses={409: {"description": "the alert is resolved already"}})
def resolve(alert_id: AlertId, body: AlertResolution, services: ServicesDep,
            principal: OfficerOrAdmin) -> AlertPublic:
    return _act(services, principal, alert_id, lambda at_ms: services.context.alerts.resolve(
        alert_id, principal.actor, body.note, at_ms=at_ms, cause=body.cause))


@router.post("/alerts/{alert_id}/actions", response_model=AlertPublic,
             summary="Log what you did: called someone, dispatched a grid worker, arrived, "
                     "handed over to 119 / 120",
             responses={409: {"description": "the alert is resolved"}})
def log_action(alert_id: AlertId, body: IncidentActionCreate, services: ServicesDep,
               principal: OfficerOrAdmin) -> AlertPublic:
    """The entry goes to the alert's history at the site's event time, with its ``detail``
    (whom, outcome, service); the status stays as it is and nobody is notified."""
    return _act(services, principal, alert_id, lambda at_ms: services.context.alerts.log_action(
        alert_id, principal.actor, body.action, body.detail(), body.note, at_ms=at_ms))


@router.get("/alerts/{alert_id}/cap", response_class=Response,
            summary="One alert as a CAP 1.2 message",
            responses={200: {"content": {CAP_XML: {}}, "description": "CAP 1.2 XML"}})
def alert_cap(alert_id: AlertId, services: ServicesDep, principal: AlertReaders) -> Response:
    alert, _ = visible_alert(services, principal, alert_id)
    settings = services.context.settings
    xml = render_cap(alert, base_url=settings.public_url, sender=settings.cap_sender)
    return Response(xml, media_type=CAP_XML)


@router.get("/cap/feed", response_class=Response,
            summary="Alerts as an Atom feed of CAP 1.2 messages (default: the open ones)",
            responses={200: {"content": {ATOM_XML: {}}, "description": "Atom feed"}})
def cap_feed(
    services: ServicesDep, principal: AlertReaders,
    site: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[list[AlertStatus] | None, Query(description="default: open")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> Response:
    scope = alert_scope(services.context.engine, principal)
    query, keep = _query(services, scope, site=site, household=None, resident=None, types=None,
                         statuses=status or list(OPEN), severities=None, since=None, until=None)
    page, _ = list_alerts(services.context.alerts, query, limit=limit, offset=0,
                          keep=keep)
    settings = services.context.settings
    xml = render_cap_feed(page, base_url=settings.public_url, sender=settings.cap_sender)
    return Response(xml, media_type=ATOM_XML)
