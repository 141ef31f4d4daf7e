"""Load DuckDB extensions from their PyPI wheels (DuckDB's own download is unreachable offline)."""
from __future__ import annotations

import importlib
from pathlib import Path

import duckdb


def _wheel_file(name: str) -> Path | None:
    """duckdb-extension-NAME ships extensions/v<duckdb version>/NAME.duckdb_extension."""
    try:
        mod = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError:
        return None
    path = Path(mod.__file__).parent / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    return path if path.exists() else None


def load(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """LOAD the extension from its installed wheel; fall back to DuckDB's INSTALL where the network allows."""
    path = _wheel_file(name)
    # INSTALL from the file maps the wheel's file name to the extension's own (sqlite -> sqlite_scanner).
    con.execute(f"INSTALL '{path}'" if path is not None else f"INSTALL {name}")
    con.execute(f"LOAD {name}")
