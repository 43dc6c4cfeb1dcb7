from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event

_MIGRATIONS = Path(__file__).parent / "migrations"


def _loads_json(text: str | bytes) -> Any:
    """JSON columns as orjson reads them (a page of 500 alerts decodes thousands of
    evidence and history values), or as ``json`` does for what orjson refuses: ``NaN`` and
    ``Infinity``, which ``json.dumps`` writes."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def create_database_engine(url: str, **kwargs: Any) -> Engine:
    """Create the engine for the alerts/registry database.

    SQLite files get WAL mode and a busy timeout so that ingest, alerting and the API can
    share one file from several threads; other URLs (PostgreSQL) are used as they are.
    """
    kwargs.setdefault("json_deserializer", _loads_json)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def migrate(engine: Engine) -> None:
    """Bring the schema up to date (``alembic upgrade heads``); safe to call at every start."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
