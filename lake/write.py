"""Atomic writes: one lake commit replaces rows by key scope across any number of tables.

DuckLake makes a commit all-or-nothing (data files are written first, the catalog commit makes them
visible). Two transactions that delete from the same table conflict at commit even on different
partitions, so the whole transaction is retried with jittered, bounded backoff.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable

import duckdb
import pyarrow as pa
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from lake.catalog import table as declared
from lake.errors import LakeError

MODES = ("scope", "upsert", "overwrite", "append")
MAX_ATTEMPTS = 12
_names = itertools.count()


@dataclass
class Write:
    """Write `data` into `table`.

    data: a pyarrow Table / RecordBatch / list of dicts, a RecordBatchReader (streamed: read once, so only
          with mode append/overwrite or an explicit `scope`, and never retried), or a SQL SELECT over lake tables.
    mode: scope     -- delete rows whose scope columns match the data's (or `scope`'s), then insert
          upsert    -- delete rows with the same key, then insert
          overwrite -- delete every row, then insert
          append    -- insert only
    scope: explicit scope values to clear (list of dicts, or a pyarrow Table), e.g. to empty a repository
           that now has no rows at all.
    """

    table: str
    data: Any
    mode: str = "scope"
    scope: Any = None


def _is_retryable(e: BaseException) -> bool:
    if not isinstance(e, duckdb.Error):
        return False
    text = str(e).lower()
    return any(s in text for s in ("conflict", "database is locked", "another transaction", "busy",
                                    "could not serialize", "duplicate key", "already exists"))


class CommitConflict(LakeError):
    """A commit lost a conflict and could not be replayed here (it streamed its data): redo the whole unit of
    work, e.g. with `retry_on_conflict`."""


def retry_on_conflict(fn: Callable[[], Any]) -> Any:
    """Run fn again (it must rebuild its data) while its streamed commit loses a conflict."""
    retry = Retrying(retry=retry_if_exception(lambda e: isinstance(e, CommitConflict)),
                     stop=stop_after_attempt(MAX_ATTEMPTS), wait=wait_random_exponential(multiplier=0.1, max=3.0),
                     reraise=True)
    return retry(fn)


def with_retry(fn: Callable[[], Any], stats: dict | None = None) -> Any:
    """Run fn, again on a commit conflict or a locked catalog; stats["attempts"] tells how many runs it took."""
    retry = Retrying(retry=retry_if_exception(_is_retryable), stop=stop_after_attempt(MAX_ATTEMPTS),
                     wait=wait_random_exponential(multiplier=0.05, max=2.0), reraise=True)
    try:
        return retry(fn)
    finally:
        if stats is not None:
            stats["attempts"] = retry.statistics.get("attempt_number", 1)


def in_transaction(con: duckdb.DuckDBPyConnection, body: Callable[[], Any]) -> Any:
    """BEGIN; body(); COMMIT -- or ROLLBACK and re-raise (a failed COMMIT has already rolled back)."""
    con.execute("BEGIN")
    try:
        out = body()
        con.execute("COMMIT")
        return out
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise


def _as_relation_sql(lake, data, what: str) -> tuple[str, list[str]]:
    """Register data with DuckDB; return a SQL source and the names registered (to unregister)."""
    if isinstance(data, str):
        return f"({data})", []
    if isinstance(data, list):
        data = pa.Table.from_pylist(data)
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if not isinstance(data, (pa.Table, pa.RecordBatchReader)):
        raise LakeError(f"{what}: cannot write a {type(data).__name__}; give an Arrow table or a SQL query")
    name = f"__incoming_{next(_names)}"
    lake.con.register(name, data)
    return name, [name]


def _columns_of(lake, source: str) -> list[str]:
    return [r[0] for r in lake.con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]


def _check_columns(t, have: list[str]) -> None:
    want = t.column_names
    for c in have:
        if c not in want:
            raise LakeError(f"table {t.name}: unknown column {c!r} (declared: {', '.join(want)})")
    for c in want:
        if c not in have:
            raise LakeError(f"table {t.name}: column {c!r} missing from the data")


def _match(t, cols: tuple[str, ...], source: str) -> str:
    cond = " AND ".join(f'k."{c}" IS NOT DISTINCT FROM "{t.name}"."{c}"' for c in cols)
    return f'DELETE FROM "{t.name}" WHERE EXISTS (SELECT 1 FROM (SELECT DISTINCT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM {source}) k WHERE {cond})'


def _apply(lake, w: Write) -> int:
    t = declared(w.table)
    if w.mode not in MODES:
        raise LakeError(f"table {t.name}: write mode {w.mode!r} not in {MODES}")
    registered: list[str] = []
    try:
        source = None
        if isinstance(w.data, pa.RecordBatchReader) and w.scope is None and w.mode in ("scope", "upsert"):
            raise LakeError(f"table {t.name}: a streamed write is read once; give mode append/overwrite or an "
                            f"explicit scope")
        if w.data is not None:
            source, reg = _as_relation_sql(lake, w.data, f"table {t.name}")
            registered += reg
            _check_columns(t, _columns_of(lake, source))
        if w.scope is not None:
            scope_src, reg = _as_relation_sql(lake, w.scope, f"table {t.name} scope")
            registered += reg
            missing = [c for c in t.scope_columns if c not in _columns_of(lake, scope_src)]
            if missing:
                raise LakeError(f"table {t.name}: scope lacks column {missing[0]!r}")
            lake.con.execute(_match(t, t.scope_columns, scope_src))
        if w.mode == "overwrite":
            lake.con.execute(f'DELETE FROM "{t.name}"')
        elif source is not None and w.mode == "scope" and w.scope is None:
            lake.con.execute(_match(t, t.scope_columns, source))
        elif source is not None and w.mode == "upsert":
            if not t.key:
                raise LakeError(f"table {t.name}: upsert needs key columns")
            lake.con.execute(_match(t, t.key, source))
        if source is None:
            return 0
        select = ", ".join(f'CAST("{c.name}" AS {c.type}) AS "{c.name}"' for c in t.columns)
        try:
            lake.con.execute(f'INSERT INTO "{t.name}" BY NAME SELECT {select} FROM {source}')
        except duckdb.ConversionException as e:
            raise LakeError(f"table {t.name}: {_bad_column(lake, t, w.data) or str(e).splitlines()[0]}") from None
        n = lake.con.execute(f"SELECT count(*) FROM {source}").fetchone()[0] if not isinstance(
            w.data, pa.RecordBatchReader) else -1
        return n
    finally:
        for name in registered:
            lake.con.unregister(name)


def _bad_column(lake, t, data) -> str | None:
    """Name the column that failed to cast. The transaction is aborted, so probe on a fresh cursor."""
    if isinstance(data, pa.RecordBatchReader):
        return None
    cur = lake.con.cursor()
    try:
        cur.execute("USE lake")
        if isinstance(data, str):
            source = f"({data})"
        else:
            source = "__probe"
            cur.register(source, pa.Table.from_pylist(data) if isinstance(data, list) else data)
        for c in t.columns:
            try:
                cur.execute(f'SELECT CAST("{c.name}" AS {c.type}) FROM {source}').fetchall()
            except duckdb.Error as e:
                return f"column {c.name!r} does not cast to {c.type}: {str(e).splitlines()[0]}"
        return None
    finally:
        cur.close()


def commit(lake, writes: list[Write], message: str | None = None) -> int:
    """Apply all writes in one transaction (one lake snapshot); retry the whole transaction on conflict."""
    if lake.read_only:
        raise LakeError("this lake was opened at a snapshot, read-only")
    streams = [w for w in writes if isinstance(w.data, pa.RecordBatchReader)]
    attempts = 1 if streams else None  # a consumed stream cannot be replayed

    def body() -> int:
        if message:
            lake.con.execute("CALL lake.set_commit_message('repo-llm', ?)", [message])
        return sum(max(_apply(lake, w), 0) for w in writes)

    # DuckDB buffers a partitioned write until 524,288 rows per thread by default: for tables declared with
    # small row groups (whole files per row) that is a whole repository in memory, encoded only at the end
    small = [declared(w.table).row_group_rows for w in writes if declared(w.table).row_group_rows]
    flush = {"partitioned_write_flush_threshold": min(small)} if small else {}

    def once() -> int:
        with lake.settings(**flush):
            return in_transaction(lake.con, body)

    try:
        lake.last_commit = {"attempts": 1}
        return once() if attempts == 1 else with_retry(once, lake.last_commit)
    except LakeError:
        raise
    except duckdb.Error as e:
        tables = ', '.join(sorted({w.table for w in writes}))
        if streams and _is_retryable(e):
            raise CommitConflict(f"write to {tables} lost a commit conflict") from None
        raise LakeError(f"write to {tables} failed: {str(e).splitlines()[0]}") from None
