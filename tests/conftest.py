import pytest

from lake import Lake


@pytest.fixture
def lake(tmp_path):
    """A fresh lake in a temporary folder (SQLite catalog + Parquet), closed after the test."""
    with Lake(tmp_path / "lake") as lk:
        yield lk
