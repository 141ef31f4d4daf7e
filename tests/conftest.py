import pytest

from lake import Lake


@pytest.fixture
def lake(tmp_path):
    """A fresh lake in a temporary folder (SQLite catalog + Parquet), closed after the test."""
    with Lake(tmp_path / "lake") as lk:
        yield lk


@pytest.fixture(scope="session")
def kit(tmp_path_factory):
    """The exporter tests' tiny trained model, lake and shards (tests/test_exporters_kit.py), built once."""
    from tests.test_exporters_kit import exporter_kit
    return exporter_kit(tmp_path_factory.mktemp("exporter_kit"))
