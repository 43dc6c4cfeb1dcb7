"""A throwaway PostgreSQL for the tests and benches: Debian's binaries, a cluster in a
temporary directory, one free loopback port, trust authentication, no durability (the data
dies with the test run anyway).

PostgreSQL refuses to run as root: when the tests run as root (containers, CI as root) the
cluster belongs to the ``postgres`` account that Debian's package creates.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url

from safehood._broker import free_port, stop_process
from safehood.database import create_database_engine, metadata, migrate


def postgres_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has ``initdb``, or ``None``."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name.split(".")[0]))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """``postgres`` on a free loopback port with its cluster in a directory of its own;
    :attr:`url` reaches its ``postgres`` database as the ``postgres`` superuser."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.host = "127.0.0.1"
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="safehood-postgres-"))
        self.process: subprocess.Popen[bytes] | None = None
        self._user = "postgres" if os.geteuid() == 0 else None

    @property
    def url(self) -> URL:
        return URL.create("postgresql+psycopg", username="postgres", host=self.host,
                          port=self.port, database="postgres")

    def _run_as(self) -> dict[str, object]:
        if self._user is None:
            return {}
        account = pwd.getpwnam(self._user)
        os.chown(self.root, account.pw_uid, account.pw_gid)
        return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def start(self, timeout_s: float = 60.0) -> None:
        as_owner = self._run_as()
        data = self.root / "data"
        subprocess.run(
            [str(self.bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, cwd=self.root, **as_owner)  # type: ignore[call-overload]
        log = open(self.root / "postgres.log", "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen(
            [str(self.bin_dir / "postgres"), "-D", str(data), "-h", self.host,
             "-p", str(self.port), "-k", str(self.root), "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=200"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=self.root,
            **as_owner)  # type: ignore[call-overload]
        log.close()
        deadline = time.monotonic() + timeout_s
        engine = create_engine(self.url)
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"postgres exited at start: {self._log_tail()}")
                try:
                    with engine.connect() as connection:
                        connection.execute(text("SELECT 1"))
                    return
                except Exception:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise RuntimeError(f"postgres did not answer: {self._log_tail()}") from None
                    time.sleep(0.1)
        finally:
            engine.dispose()

    def _log_tail(self) -> str:
        return (self.root / "postgres.log").read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, 20)
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)


def create_database(admin_url: URL | str) -> URL:
    """A new, empty database on the server of ``admin_url``; returns its URL."""
    name = f"t{uuid.uuid4().hex[:12]}"
    _as_admin(admin_url, f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name)


def drop_database(admin_url: URL | str, url: URL) -> None:
    _as_admin(admin_url, f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def _as_admin(admin_url: URL | str, statement: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE refuse to run in one)."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(statement))
    finally:
        admin.dispose()


@contextlib.contextmanager
def migrated_database(admin_url: URL | str) -> Iterator[Engine]:
    """A migrated database of its own on the server of ``admin_url``, dropped afterwards.
    Making one takes a second or two: share it (module or session scope) and
    :func:`empty_tables` between tests."""
    url = create_database(admin_url)
    engine = create_database_engine(url.render_as_string(hide_password=False))
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        drop_database(admin_url, url)


def empty_tables(engine: Engine) -> None:
    """Delete every row of the safehood tables (not alembic's), in a few milliseconds. The
    registry's version row stays (the schema's, not data: its triggers raise it)."""
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables
                      if table.name != "registry_version")
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
