import logging
import os

import pytest
import tqdm.std

from lake import Lake
from tests.helpers.fit_runs import build_fit_lake
from tests.helpers.held_out import fill_held_module


@pytest.fixture(autouse=True)
def _undo_quiet():
    """A command run in-process with --quiet (lake/options.quiet) silences tqdm and logging for the rest of its
    process and sets TQDM_DISABLE for the processes it starts: undo that after each test, so it leaks into none."""
    init, env, disabled = tqdm.std.tqdm.__init__, os.environ.get("TQDM_DISABLE"), logging.root.manager.disable
    yield
    tqdm.std.tqdm.__init__ = init
    logging.disable(disabled)
    if env is None:
        os.environ.pop("TQDM_DISABLE", None)
    else:
        os.environ["TQDM_DISABLE"] = env


@pytest.fixture
def lake(tmp_path):
    """A fresh lake in a temporary folder (SQLite catalog + Parquet), closed after the test."""
    with Lake(tmp_path / "lake") as lk:
        yield lk


@pytest.fixture
def held_lake(lake):
    """`lake` with a held-out module in `files` (tests/helpers/held_out.py)."""
    fill_held_module(lake)
    return lake


@pytest.fixture(scope="module")
def fit_lake(tmp_path_factory):
    """A lake for tiny trainer runs (tests/helpers/fit_runs.py), built once per test module."""
    return build_fit_lake(tmp_path_factory.mktemp("fit") / "lake")


@pytest.fixture(scope="session")
def kit(tmp_path_factory):
    """The exporter tests' tiny trained model, lake and shards (tests/helpers/exporter_kit.py), built once."""
    from tests.helpers.exporter_kit import exporter_kit
    return exporter_kit(tmp_path_factory.mktemp("exporter_kit"))
