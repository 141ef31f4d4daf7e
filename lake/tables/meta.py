from lake.schema import Table, cols

TABLES = [
    Table(
        "runs", "meta", "Every pipeline command: what ran, with which arguments, and the snapshot it produced.",
        cols(
            ("run_id", "VARCHAR", "uuid4"),
            ("command", "VARCHAR", "e.g. 'ingest git'"),
            ("args", "JSON", "arguments, secrets removed"),
            ("started_at", "TIMESTAMPTZ"),
            ("ended_at", "TIMESTAMPTZ"),
            ("status", "VARCHAR", "running | ok | failed"),
            ("rows_written", "BIGINT"),
            ("snapshot_id", "BIGINT", "lake snapshot after the run's last commit"),
            ("error", "VARCHAR"),
            ("stats", "JSON", "per-step counts the command reports"),
        ),
        key=("run_id",),
    ),
]
