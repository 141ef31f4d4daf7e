"""A fresh PostgreSQL database per test, on the server .ci/services starts (Debian's postgresql)."""
from __future__ import annotations

import os
import uuid

import duckdb
import pytest

from lake import extensions

SERVER = os.environ.get("REPO_LLM_TEST_PG", "host=127.0.0.1 port=5432 user=repollm password=repollm")


def _admin() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    extensions.load(con, "postgres")
    con.execute(f"ATTACH '{SERVER} dbname=postgres' AS pgadmin (TYPE postgres)")
    return con


def fresh_database() -> str:
    """Create an empty database; return the `postgres:...` lake spec for it."""
    name = f"lake_{uuid.uuid4().hex[:12]}"
    try:
        con = _admin()
    except duckdb.Error as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL server ({str(e).splitlines()[0]}); run `bash .ci/services`")
    con.execute(f"CALL postgres_execute('pgadmin', 'CREATE DATABASE {name}', use_transaction => false)")
    con.close()
    return f"postgres:{SERVER} dbname={name}"
