"""API tokens (admin only): list, create (the secret is shown once), revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from .._deps import AdminOnly, ServicesDep
from .._models import TokenCreate, TokenCreated, TokenPublic, TokensPublic
from .._time import parse_time, rfc3339
from .._tokens import TokenError, TokenRecord

router = APIRouter(prefix="/tokens", tags=["tokens"])

TokenId = Annotated[str, Path(pattern=r"^[0-9a-f]{1,32}$", description="token id")]


def token_public(record: TokenRecord, now_ms: int) -> TokenPublic:
    return TokenPublic(
        id=record.id, name=record.name, role=record.role, sites=list(record.sites),
        residents=list(record.residents), created_at=rfc3339(record.created_ms) or "",
        expires_at=rfc3339(record.expires_ms), revoked_at=rfc3339(record.revoked_ms),
        active=record.active(now_ms),
    )


@router.get("", response_model=TokensPublic, summary="List tokens")
def list_tokens(services: ServicesDep, _: AdminOnly) -> TokensPublic:
    now = services.context.clock()
    return TokensPublic(data=[token_public(r, now) for r in services.tokens.list()])


@router.post("", response_model=TokenCreated, status_code=201, summary="Create a token")
def create_token(body: TokenCreate, services: ServicesDep, _: AdminOnly) -> TokenCreated:
    """Officer tokens need ``sites``, family tokens ``residents``, each in the registry;
    the response holds the token itself, which is never shown again."""
    registry = services.registry.load()
    sites = set(registry.sites())
    unknown = [f"site {s!r}" for s in body.sites if s not in sites] + [
        f"resident {r!r}" for r in body.residents if r not in registry.residents]
    if unknown:
        raise TokenError(f"not in the registry: {', '.join(unknown)}")
    issued = services.tokens.create(
        name=body.name, role=body.role, sites=body.sites, residents=body.residents,
        expires_ms=parse_time(body.expires_at, "expires_at"),
    )
    public = token_public(issued.record, services.context.clock())
    return TokenCreated(**public.model_dump(), token=issued.token)


@router.delete("/{token_id}", status_code=204, response_class=Response,
               summary="Revoke a token")
def revoke_token(token_id: TokenId, services: ServicesDep, _: AdminOnly) -> Response:
    """Also ends the token's open live streams."""
    services.tokens.revoke(token_id)
    services.streams.end_token(token_id)
    return Response(status_code=204)
