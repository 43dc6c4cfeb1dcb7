"""``safehood token``: create, list and revoke API tokens (stored hashed; shown once).

API tokens carry a role (officer, family, integrator, admin) and a scope (an officer's
sites, a family's residents). A token is shown once, when it is created; safehood stores
only its hash.
"""

from __future__ import annotations

import argparse
import time

from safehood.api import Role, TokenError, TokenNotFound, TokenStore
from safehood.database import load_registry
from safehood.protocol import format_ts, parse_ts_ms

from ._common import CommandError, database, load_settings, positive_float


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    create = actions.add_parser("create", help="create a token and print it (once)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--name", required=True, help="whose token it is, e.g. 'Li Wei'")
    create.add_argument("--site", action="append", default=[], metavar="SITE",
                        help="officer tokens: a site they see (repeat for several)")
    create.add_argument("--resident", action="append", default=[], metavar="ID",
                        help="family tokens: a resident they see (repeat for several)")
    expiry = create.add_mutually_exclusive_group()
    expiry.add_argument("--expires", metavar="TIME", help="expiry, RFC 3339 or epoch ms")
    expiry.add_argument("--days", type=positive_float, metavar="N", help="expire in N days")
    create.set_defaults(func=create_token)

    listing = actions.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--active", action="store_true", help="leave out revoked tokens")
    listing.set_defaults(func=list_tokens)

    revoke = actions.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id", help="token id, as `safehood token list` shows it")
    revoke.set_defaults(func=revoke_token)


def create_token(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    expires_ms = None
    if args.expires is not None:
        try:
            expires_ms = parse_ts_ms(int(args.expires) if args.expires.isdigit() else args.expires)
        except (TypeError, ValueError) as exc:
            raise CommandError(f"--expires: {exc}") from None
    elif args.days is not None:
        expires_ms = time.time_ns() // 1_000_000 + int(args.days * 86_400_000)
    with database(settings) as engine:
        if args.resident:
            known = load_registry(engine).residents
            for resident in args.resident:
                if resident not in known:
                    print(f"warning: resident {resident!r} is not in the registry (yet)")
        try:
            issued = TokenStore(engine).create(name=args.name, role=args.role, sites=args.site,
                                               residents=args.resident, expires_ms=expires_ms)
        except TokenError as exc:
            raise CommandError(str(exc)) from None
    record = issued.record
    scope = ", ".join(record.sites or record.residents) or "everything"
    print(f"token {record.id} for {record.name} ({record.role.value}; {scope})"
          + (f", expires {format_ts(record.expires_ms)}" if record.expires_ms else ""))
    print(issued.token)
    print("keep it safe: it is not shown again")
    return 0


def list_tokens(args: argparse.Namespace) -> int:
    with database(load_settings(args)) as engine:
        records = TokenStore(engine).list(include_revoked=not args.active)
    now = time.time_ns() // 1_000_000
    print(f"{'ID':<14}{'ROLE':<12}{'STATE':<9}{'CREATED':<26}{'SCOPE':<24}NAME")
    for r in records:
        state = "active" if r.active(now) else "revoked" if r.revoked_ms else "expired"
        scope = ",".join(r.sites or r.residents) or "-"
        print(f"{r.id:<14}{r.role.value:<12}{state:<9}{format_ts(r.created_ms):<26}{scope:<24}{r.name}")
    return 0


def revoke_token(args: argparse.Namespace) -> int:
    with database(load_settings(args)) as engine:
        try:
            record = TokenStore(engine).revoke(args.id)
        except TokenNotFound as exc:
            raise CommandError(str(exc)) from None
    print(f"token {record.id} of {record.name} revoked at {format_ts(record.revoked_ms or 0)}")
    return 0
