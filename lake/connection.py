"""Open a DuckLake lake: load extensions from their wheels, attach the catalog, create declared tables."""
from __future__ import annotations

import os
import re
import sqlite3
from contextlib import closing, contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from lake import extensions
from lake.catalog import TABLES, table as declared
from lake.errors import LakeError
from lake.location import LakeLocation, resolve, s3_settings_from_env
from lake.schema import Table
from lake.runs import RunRecord
from lake.write import Write, commit, in_transaction, with_retry

CATALOG = "lake"  # the name the lake is attached under: SELECT * FROM lake.files, or plain files after USE


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _sql_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(int(v)) if isinstance(v, int) else _sql_str(str(v))


class Lake:
    """A DuckDB connection with the lake attached as `lake` and selected (`USE lake`).

    snapshot=N attaches read-only at that snapshot: the tables exactly as a run that named N saw them.
    """

    def __init__(self, lake: str | os.PathLike | None = None, *, data_path: str | None = None,
                 snapshot: int | None = None, create: bool = True, threads: int | None = None):
        self.location: LakeLocation = resolve(lake, data_path)
        self.snapshot_version = snapshot
        self.read_only = snapshot is not None
        if self.location.backend == "sqlite":
            if not self.location.root.exists():
                if not create or self.read_only:
                    raise LakeError(f"no lake at {self.location.root} (run `python -m lake init`)")
                self.location.root.mkdir(parents=True, exist_ok=True)
            Path(self.location.data_path).mkdir(parents=True, exist_ok=True)
        # DuckDB draws its progress bar on stdout once a query runs for 2 s: inside `lake sql --format csv`
        # output on a busy machine. Our commands draw their own bars (tqdm, on stderr).
        self.con = duckdb.connect(config={"threads": threads} if threads else {})
        self.con.execute("SET enable_progress_bar = false")
        self._attach()
        self.created: list[str] = []  # tables and columns this open created
        if create and not self.read_only:
            self.created = self.ensure_tables()

    # -- connection -------------------------------------------------------------------------
    def _attach(self) -> None:
        loc = self.location
        extensions.load(self.con, "ducklake")
        extensions.load(self.con, "sqlite" if loc.backend == "sqlite" else "postgres")
        if loc.data_path.startswith(("s3://", "gs://", "r2://", "http")):
            extensions.load(self.con, "httpfs")
            self._s3_secret()
        opts = [f"DATA_PATH {_sql_str(loc.data_path)}"]
        new = loc.relocatable and not (loc.root / "catalog.sqlite").exists()
        if loc.relocatable:
            # the catalog's stored path is where the lake was made (or 'files/'): this open's folder wins
            opts.append("OVERRIDE_DATA_PATH true")
        if self.snapshot_version is not None:
            opts += [f"SNAPSHOT_VERSION {int(self.snapshot_version)}", "READ_ONLY"]

        def attach() -> None:
            try:
                self.con.execute(f"ATTACH {_sql_str(loc.catalog)} AS {CATALOG} ({', '.join(opts)})")
            except duckdb.Error:
                if CATALOG in {r[0] for r in self.con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}:
                    self.con.execute(f"DETACH {CATALOG}")
                raise

        try:
            with_retry(attach)  # processes attaching a new PostgreSQL catalog at once race on creating it
            if new:
                self._store_relative_data_path()
        except duckdb.Error as e:
            raise LakeError(f"cannot open lake {loc.describe()}: {_sanitize(_first_line(e))}") from None
        self.con.execute(f"USE {CATALOG}")

    def _store_relative_data_path(self) -> None:
        """A new local lake's catalog gets 'files/' as its data path. DuckLake resolves a relative DATA_PATH
        against the working directory, so the lake is made with its absolute folder, then the stored value
        is rewritten in the catalog file while nothing holds it (DuckDB's own UPDATE of it can meet 'database
        is locked' from the attached catalog's second connection)."""
        self.con.execute(f"DETACH {CATALOG}")
        with closing(sqlite3.connect(self.location.root / "catalog.sqlite", timeout=30)) as db, db:
            db.execute("UPDATE ducklake_metadata SET value = 'files/' WHERE key = 'data_path'")
        self._attach()

    def _s3_secret(self) -> None:
        """A temporary (in-memory, this connection only) DuckDB secret from the AWS environment variables;
        without them DuckDB's own secrets or credential chain apply."""
        s3 = s3_settings_from_env()
        if s3 is None:
            return
        parts = [f"KEY_ID {_sql_str(s3['key_id'])}", f"SECRET {_sql_str(s3['secret'])}",
                 f"REGION {_sql_str(s3['region'])}", f"USE_SSL {'true' if s3['use_ssl'] else 'false'}"]
        if s3["session_token"]:
            parts.append(f"SESSION_TOKEN {_sql_str(s3['session_token'])}")
        if s3["endpoint"]:
            parts += [f"ENDPOINT {_sql_str(s3['endpoint'])}", "URL_STYLE 'path'"]
        try:
            self.con.execute(f"CREATE OR REPLACE TEMPORARY SECRET repo_llm_s3 (TYPE s3, {', '.join(parts)})")
        except duckdb.Error as e:
            raise LakeError(f"cannot configure S3 access: {type(e).__name__}") from None

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Lake":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def root(self) -> Path:
        return self.location.root

    def artifacts(self, kind: str) -> Path:
        """A local folder under the lake for files that are not tables (tokenizers, shards, caches)."""
        path = self.root / "artifacts" / kind
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- schema -----------------------------------------------------------------------------
    def existing_tables(self) -> set[str]:
        rows = self.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = ?", [CATALOG]
        ).fetchall()
        return {r[0] for r in rows}

    def ensure_tables(self, tables: dict[str, Table] | None = None) -> list[str]:
        """Create missing declared tables and add missing columns (schema evolution). Returns what changed."""
        tables = tables or TABLES
        changed: list[str] = []

        def create() -> None:
            changed.clear()
            existing = dict(self.con.execute(  # one query for every table's columns: this runs at each open
                "SELECT table_name, list(column_name) FROM information_schema.columns WHERE table_catalog = ? "
                "GROUP BY table_name", [CATALOG]).fetchall())
            todo = []
            for t in tables.values():
                if t.name not in existing:
                    todo.append(t)
                    continue
                have = set(existing[t.name])
                todo += [(t, c) for c in t.columns if c.name not in have]
            if not todo:
                return

            def body() -> None:
                for item in todo:
                    if isinstance(item, Table):
                        columns = ", ".join(f'"{c.name}" {c.type}' for c in item.columns)
                        self.con.execute(f'CREATE TABLE IF NOT EXISTS "{item.name}" ({columns})')
                        if item.partition_by:
                            self.con.execute(
                                f'ALTER TABLE "{item.name}" SET PARTITIONED BY ({", ".join(item.partition_by)})')
                        changed.append(item.name)
                    else:
                        t, c = item
                        self.con.execute(f'ALTER TABLE "{t.name}" ADD COLUMN "{c.name}" {c.type}')
                        changed.append(f"{t.name}.{c.name}")

            in_transaction(self.con, body)

        def layout() -> None:
            # after the tables exist: DuckLake sets no option on a table its own transaction creates
            now = self._layouts()
            todo = [t for t in tables.values() if (t.sort_by or t.row_group_rows)
                    and now.get(t.name, ((), 0)) != (tuple(t.sort_by), t.row_group_rows)]
            if todo:
                in_transaction(self.con, lambda: [self._set_layout(t) for t in todo])
                changed.extend(f"{t.name} layout" for t in todo)

        with_retry(create)  # several processes may open a new lake at once
        with_retry(layout)
        return changed

    def _layouts(self) -> dict[str, tuple[tuple[str, ...], int]]:
        """Table -> (sort columns, rows per row group) as the catalog holds them now (two queries for all)."""
        meta = f"__ducklake_metadata_{CATALOG}"
        out: dict[str, tuple[tuple[str, ...], int]] = {}
        for name, sort in self.con.execute(
                f"SELECT t.table_name, list(e.expression ORDER BY e.sort_key_index) "
                f"FROM {meta}.ducklake_sort_info i JOIN {meta}.ducklake_sort_expression e USING (sort_id, table_id) "
                f"JOIN {meta}.ducklake_table t USING (table_id) "
                "WHERE i.end_snapshot IS NULL AND t.end_snapshot IS NULL GROUP BY t.table_name").fetchall():
            out[name] = (tuple(sort), 0)
        for entry, value in self.con.execute(
                f"SELECT scope_entry, value FROM {CATALOG}.options() "
                "WHERE option_name = 'parquet_row_group_size' AND scope = 'TABLE'").fetchall():
            name = entry.split(".", 1)[-1]
            out[name] = (out.get(name, ((), 0))[0], int(value))
        return out

    def _set_layout(self, t: Table) -> None:
        if t.sort_by:
            self.con.execute(f'ALTER TABLE "{t.name}" SET SORTED BY ({", ".join(t.sort_by)})')
        if t.row_group_rows:
            self.con.execute(f"CALL {CATALOG}.set_option('parquet_row_group_size', '{int(t.row_group_rows)}', "
                             f"table_name => '{t.name}')")

    # -- reading ----------------------------------------------------------------------------
    def query(self, sql: str, params: list | None = None) -> pa.Table:
        try:
            # a busy SQLite catalog ("database is locked") answers on a retry
            return with_retry(lambda: self.con.execute(sql, params or []).to_arrow_table())
        except duckdb.Error as e:
            raise self._error(e) from None

    def stream(self, sql: str, params: list | None = None, batch_rows: int = 10_000) -> pa.RecordBatchReader:
        """Arrow record batches of a query, never the whole result in memory."""
        try:
            return with_retry(lambda: self.con.execute(sql, params or []).to_arrow_reader(batch_rows))
        except duckdb.Error as e:
            raise self._error(e) from None

    def _error(self, e: duckdb.Error) -> LakeError:
        """One line; an unknown table also lists the tables there are."""
        text = _first_line(e)
        m = re.search(r"Table with name (\S+) does not exist", text)
        if m:
            return LakeError(f"unknown table {m.group(1)!r}; tables: {', '.join(sorted(self.existing_tables()))}")
        return LakeError(text)

    @contextmanager
    def settings(self, **values):
        """DuckDB settings for the length of a block, put back after: `with lake.settings(threads=1): ...`."""
        names = list(values)
        if not names:
            yield
            return
        old = self.con.execute(f"SELECT {', '.join(f'current_setting({_sql_str(n)})' for n in names)}").fetchone()
        try:
            for name, value in values.items():
                self.con.execute(f"SET {name} = {_sql_value(value)}")
            yield
        finally:
            for name, value in zip(names, old):
                self.con.execute(f"SET {name} = {_sql_value(value)}")

    def count(self, name: str) -> int:
        declared(name)
        return self.con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]

    # -- snapshots --------------------------------------------------------------------------
    def snapshot(self) -> int:
        """The snapshot id this connection sees now (the one a training run should name)."""
        if self.snapshot_version is not None:
            return int(self.snapshot_version)
        return int(with_retry(lambda: self.con.execute(f"SELECT id FROM {CATALOG}.current_snapshot()").fetchone()[0]))

    def snapshots(self) -> pa.Table:
        return self.con.execute(
            f"SELECT snapshot_id, snapshot_time, schema_version, changes, author, commit_message "
            f"FROM {CATALOG}.snapshots() ORDER BY snapshot_id").to_arrow_table()

    # -- writing (lake/write.py) ------------------------------------------------------------
    def write(self, table: str, data, mode: str = "scope", scope=None, message: str | None = None) -> int:
        return commit(self, [Write(table, data, mode, scope)], message=message)

    def commit(self, writes, message: str | None = None) -> int:
        return commit(self, writes, message=message)

    def run(self, command: str, args: dict | None = None):
        return RunRecord(self, command, args or {})


def _sanitize(text: str) -> str:
    return re.sub(r"(password\s*=\s*)\S+", r"\1***", text, flags=re.I)


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def open_lake(lake=None, **kw) -> Lake:
    return Lake(lake, **kw)
