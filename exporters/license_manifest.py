"""dataset_license_manifest.csv: every repository of the lake with its licence, commit, samples and tokens."""
from __future__ import annotations

import csv
from pathlib import Path

from exporters.training_data import TrainingData

NAME = "dataset_license_manifest.csv"
COLUMNS = ("repo_id", "name", "license", "license_evidence", "sample_licenses", "commit", "samples", "bytes", "tokens",
           "train_samples", "train_tokens")  # sample_licenses: its samples' path-scoped licences (license is the root's)


def write_manifest(data: TrainingData, out_dir: Path) -> Path:
    path = Path(out_dir) / NAME
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        for row in data.per_repository():
            w.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in COLUMNS})
    return path
