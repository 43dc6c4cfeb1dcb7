"""API bearer tokens: random, shown once, stored as a SHA-256 hash with role and scope."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update

from safehood.database import api_tokens
from safehood.protocol import SITE_RE

from ._roles import Principal, Role
from .const import TOKEN_ID_BYTES, TOKEN_PREFIX, TOKEN_SECRET_BYTES


class TokenError(ValueError):
    """A token request that cannot be honoured (bad scope for the role, unknown id)."""


class TokenNotFound(TokenError):
    """No token has that id."""


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A stored token without its secret. Times are epoch milliseconds."""

    id: str
    name: str
    role: Role
    sites: tuple[str, ...]
    residents: tuple[str, ...]
    created_ms: int
    expires_ms: int | None = None
    revoked_ms: int | None = None

    def active(self, now_ms: int) -> bool:
        return self.revoked_ms is None and (self.expires_ms is None or now_ms < self.expires_ms)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly created token: ``token`` is the only copy of the secret."""

    record: TokenRecord
    token: str


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _split(token: str) -> str | None:
    """The id part of ``shd_<id>_<secret>``, or None when the token is not of that form."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    token_id, sep, secret = token[len(TOKEN_PREFIX):].partition("_")
    if not sep or not secret or len(token_id) != 2 * TOKEN_ID_BYTES:
        return None
    return token_id


def check_scope(role: Role, sites: Iterable[str], residents: Iterable[str]) -> None:
    """Raise :class:`TokenError` unless the scope fits the role (officers need sites,
    families residents, integrators and admins neither)."""
    sites, residents = list(sites), list(residents)
    for site in sites:
        if not SITE_RE.fullmatch(site):
            raise TokenError(f"site {site!r} does not match {SITE_RE.pattern}")
    for resident in residents:
        if not resident or len(resident) > 64:
            raise TokenError(f"resident id {resident!r} is not 1-64 characters")
    if role is Role.OFFICER:
        if not sites:
            raise TokenError("an officer token needs at least one site")
        if residents:
            raise TokenError("an officer token is scoped by sites, not residents")
    elif role is Role.FAMILY:
        if not residents:
            raise TokenError("a family token needs at least one resident")
        if sites:
            raise TokenError("a family token is scoped by residents, not sites")
    elif sites or residents:
        raise TokenError(f"an {role.value} token is not scoped: give no sites or residents")


class TokenStore:
    """Creates, lists, revokes and checks tokens in the ``api_tokens`` table. Thread safe."""

    def __init__(self, engine: Engine, clock: Callable[[], int] = wall_clock_ms) -> None:
        self.engine = engine
        self.clock = clock

    def create(
        self,
        *,
        name: str,
        role: Role | str,
        sites: Iterable[str] = (),
        residents: Iterable[str] = (),
        expires_ms: int | None = None,
    ) -> IssuedToken:
        """Create a token; the returned secret is not kept anywhere."""
        role = Role(role)
        sites, residents = sorted(set(sites)), sorted(set(residents))
        check_scope(role, sites, residents)
        name = name.strip()
        if not name:
            raise TokenError("a token needs a name (whose token it is)")
        now = self.clock()
        if expires_ms is not None and expires_ms <= now:
            raise TokenError("the expiry time is in the past")
        token_id = secrets.token_hex(TOKEN_ID_BYTES)
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(TOKEN_SECRET_BYTES)}"
        record = TokenRecord(token_id, name, role, tuple(sites), tuple(residents), now, expires_ms)
        with self.engine.begin() as connection:
            connection.execute(insert(api_tokens).values(
                id=token_id, token_hash=hash_token(token), role=role.value, name=name,
                sites=sites, residents=residents, created_ms=now, expires_ms=expires_ms,
            ))
        return IssuedToken(record, token)

    def list(self, *, include_revoked: bool = True) -> list[TokenRecord]:
        """All tokens, oldest first."""
        query = select(api_tokens).order_by(api_tokens.c.created_ms, api_tokens.c.id)
        if not include_revoked:
            query = query.where(api_tokens.c.revoked_ms.is_(None))
        with self.engine.connect() as connection:
            return [_record(row) for row in connection.execute(query)]

    def get(self, token_id: str) -> TokenRecord:
        with self.engine.connect() as connection:
            row = connection.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
        if row is None:
            raise TokenNotFound(f"no token has id {token_id!r}")
        return _record(row)

    def revoke(self, token_id: str) -> TokenRecord:
        """Revoke a token (idempotent); raises :class:`TokenNotFound` for an unknown id."""
        with self.engine.begin() as connection:
            connection.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_ms.is_(None))
                .values(revoked_ms=self.clock())
            )
        return self.get(token_id)

    def is_active(self, token_id: str) -> bool:
        """Whether the token with this id exists and is neither revoked nor expired."""
        try:
            return self.get(token_id).active(self.clock())
        except TokenNotFound:
            return False

    def authenticate(self, token: str) -> Principal | None:
        """The principal of a valid, active token, else None (unknown, revoked, expired)."""
        token_id = _split(token)
        if token_id is None:
            return None
        with self.engine.connect() as connection:
            row = connection.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
        if row is None or not hmac.compare_digest(row.token_hash, hash_token(token)):
            return None
        record = _record(row)
        if not record.active(self.clock()):
            return None
        return Principal(record.id, record.name, record.role, frozenset(record.sites),
                         frozenset(record.residents))


def _record(row: object) -> TokenRecord:
    r = row._mapping  # type: ignore[attr-defined]
    return TokenRecord(
        id=r["id"], name=r["name"], role=Role(r["role"]), sites=tuple(r["sites"] or ()),
        residents=tuple(r["residents"] or ()), created_ms=r["created_ms"],
        expires_ms=r["expires_ms"], revoked_ms=r["revoked_ms"],
    )
