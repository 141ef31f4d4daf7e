"""Ingest one repository into the raw git tables in ONE lake commit.

Unchanged (same refs fingerprint) is a no-op; otherwise HEAD files/trees/readmes and pull requests are
replaced, and history adds only commits the lake lacks (a rewritten history is replaced whole). Since
every row of a repository lands in one commit, a run killed at any moment leaves the lake as it was.
HEAD files and commits stream into that commit as Arrow batches (memory stays flat, reading overlaps
the Parquet write); the rows that depend on the whole HEAD (trees, readmes, repos' licence) are built
when DuckDB pulls them, after the HEAD stream.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
from tqdm import tqdm

from lake import Write, retry_on_conflict
from ingest.git import history, pulls
from ingest.git.licence_scopes import detect_scopes, scope_rows
from ingest.git.config import IngestConfig
from ingest.git.diffs import blob_cache
from ingest.git.head import HeadReader
from lake.arrow import schema, to_arrow
from ingest.git.errors import NameTakenError
from ingest.git.source import LAKE_PREFIX, OpenedRepo, is_url, open_source, source_key

INGEST_VERSION = 1  # bump when rows change for the same input, so fingerprints no longer match
_BATCH = 256


@dataclass
class IngestResult:
    repo_id: str
    status: str  # "ingested" | "unchanged"
    head_commit: str
    counts: dict = field(default_factory=dict)
    license: str | None = None


def repo_id_of(name: str, version: str = "") -> str:
    return f"{name}@{version}" if version else name


def fingerprint(opened: OpenedRepo, pull_heads: dict[int, str], cfg: IngestConfig, identity: dict) -> str:
    doc = {"v": INGEST_VERSION, "head": str(opened.head.id), "branch": opened.default_branch,
           "pulls": {str(k): v for k, v in pull_heads.items()}, "config": cfg.digest_fields(), **identity}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def ingest_repo(lake, src: str | Path, *, name: str | None = None, version: str = "", license: str | None = None,
                license_source: str = "cli", go_module: str | None = None, fetch_prs: bool = False,
                max_commits: int | None = None, config: IngestConfig | None = None, run_id: str | None = None,
                progress: bool = True, github_license: str | None = None) -> IngestResult:
    """Ingest `src` (a path or URL) as repository `name` (default: owner/name of the URL or of the origin
    remote, else the folder; see ingest/git/source.py).

    license: a declared SPDX id that overrides detection (evidence 'declared:<license_source>').
    github_license: the licence GitHub's API reports, kept beside the detected one.
    Raises GitIngestError for bad input, NameTakenError when the name is in the lake from another source
    (nothing is written); per-object problems become ingest_errors rows.
    """
    cfg = config or IngestConfig()
    if max_commits is not None:
        cfg = IngestConfig(**{**cfg.__dict__, "max_commits": max_commits})
    opened = open_source(str(src), lake.artifacts("git"), fetch_prs=fetch_prs, lake_root=lake.root)
    # another process's commit may win a conflict (the whole commit streams, so it cannot be replayed):
    # everything after opening is redone against the lake as that commit left it; the source is not fetched again
    return retry_on_conflict(lambda: _ingest_opened(
        lake, opened, cfg, name=name, version=version, license=license, license_source=license_source,
        go_module=go_module, run_id=run_id, progress=progress, github_license=github_license))


def _ingest_opened(lake, opened: OpenedRepo, cfg: IngestConfig, *, name, version, license, license_source,
                   go_module, run_id, progress, github_license) -> IngestResult:
    repo = opened.repo
    rid = repo_id_of(name or opened.name, version)
    pull_heads = pulls.pull_refs(repo)
    identity = {"name": name or opened.name, "version": version, "license": license, "go_module": go_module,
                # only when known: fingerprints of repositories ingested without it stay as they were
                **({"github_license": github_license} if github_license else {})}
    fp = fingerprint(opened, pull_heads, cfg, identity)
    before = lake.query("SELECT refs_fingerprint, source FROM repos WHERE repo_id = ?", [rid]).to_pylist()
    _refuse_other_source(lake, rid, opened, before)
    head_id = str(opened.head.id)
    if before and before[0]["refs_fingerprint"] == fp:
        return IngestResult(rid, "unchanged", head_id)

    errors: list = []
    walk = history.walk(repo, opened.head.id)
    errors += walk.errors
    # every row of a repository lands in the same commit as its repos row: no repos row, no rows at all
    fresh = not before
    known = set() if fresh else set(
        lake.query("SELECT commit_id FROM commits WHERE repo_id = ?", [rid]).column("commit_id").to_pylist())
    reachable = set(walk.order)
    wanted = walk.order if cfg.max_commits is None else walk.order[: cfg.max_commits]
    rewritten = bool(known - reachable)
    todo = wanted if rewritten else [c for c in wanted if c not in known]
    kept_errors = [] if rewritten or fresh else [
        r for r in lake.query("""SELECT object, error, run_id, "at" FROM ingest_errors WHERE repo_id = ? AND stage = 'git'""",
                              [rid]).to_pylist() if r["object"] in known]

    merges = pulls.merged_by_message(walk.messages)
    old_pulls = {} if fresh else {
        r["number"]: r for r in lake.query("SELECT * FROM git_pulls WHERE repo_id = ?", [rid]).to_pylist()}
    pull_rows = []
    for number, head in tqdm(pull_heads.items(), desc=f"{rid} pulls", unit=" PRs", disable=not progress,
                             leave=False):
        old = old_pulls.get(number)
        if old and old["head_commit"] == head and old["merge_commit"] == merges.get(number, (None,))[0] \
                and old["merged"] == (merges.get(number) is not None or _in(repo, opened.head.id, head)):
            pull_rows.append(old)
            continue
        row, errs = pulls.pull_row(repo, rid, number, head, opened.head.id, merges, cfg)
        errors += errs
        if row:
            pull_rows.append(row)

    # HEAD and history stream into the lake commit; the writes after them are built when DuckDB pulls
    # them, i.e. once the HEAD stream has filled the reader's trees, readmes and licence evidence.
    bar = tqdm(desc=f"{rid} files", unit=" files", disable=not progress, leave=False)
    reader = HeadReader(repo, rid, opened.head, cfg, progress=bar)
    snap = reader.snap
    commit_errors: list = []
    now = datetime.now(timezone.utc)
    outcome: dict = {}

    def repo_rows():
        bar.close()
        scopes = detect_scopes(snap.licence_texts, snap.spdx_headers,
                               readmes={r["path"]: r["content"] for r in snap.readmes}, manifests=snap.manifests,
                               later_notices=snap.later_notices, gnu_notices=snap.gnu_notices, declared=(license, license_source) if license else None,
                               cache_dir=lake.artifacts("git"))
        outcome["scopes"] = scopes
        root = scopes[0]
        outcome["license"] = root.license
        return [{"repo_id": rid, "name": name or opened.name, "version": version, "source": opened.source,
                 "default_branch": opened.default_branch, "head_commit": head_id, "root_commit": walk.root, "license": root.license,
                 "license_evidence": root.evidence, "license_score": root.score, "github_license": github_license,
                 "go_module": go_module or snap.go_module, "refs_fingerprint": fp, "fetched_at": now}]

    def error_rows():
        return _error_rows(rid, run_id, now, [*errors, *snap.errors], commit_errors, kept_errors)

    scope = [{"repo_id": rid}]
    mode = "append" if fresh else "scope"  # fresh: nothing to replace, so no deletes at all
    writes = [
        Write("files", reader.files_stream(), mode,
              scope=None if fresh else scope),
        Write("trees", _later("trees", lambda: snap.trees), mode, scope=None if fresh else scope),
        Write("readmes", _later("readmes", lambda: snap.readmes), mode,
              scope=None if fresh else [{"repo_id": rid, "source": "git"}]),
        Write("git_pulls", to_arrow("git_pulls", pull_rows), mode, scope=None if fresh else scope),
        # new commits are by construction not in the lake: append streams them without reading twice
        Write("commits", commits_stream(repo, rid, todo, cfg, commit_errors, progress),
            "scope" if rewritten else "append", scope=scope if rewritten else None),
        Write("repos", _later("repos", repo_rows), mode, scope=None if fresh else scope),
        Write("license_scopes", _later("license_scopes", lambda: scope_rows(rid, outcome["scopes"])), mode,
              scope=None if fresh else scope),
        Write("ingest_errors", _later("ingest_errors", error_rows), mode,
              scope=None if fresh else [{"repo_id": rid, "stage": "git"}]),
    ]
    try:
        lake.commit(writes, message=f"ingest git {rid} {head_id[:12]}")
    finally:
        bar.close()  # also when the commit fails (repo_rows closes it on the way)
    if not reader.done:
        raise RuntimeError(f"{rid}: the lake commit did not read the whole HEAD stream")
    counts = {"files": snap.files_count, "bytes": snap.bytes_read, "pulls": len(pull_rows),
              "commits_new": len(todo), "commits_total": len(todo) + (0 if rewritten else len(known)),
              "errors": len(error_rows())}
    return IngestResult(rid, "ingested", head_id, counts, outcome.get("license"))


def _refuse_other_source(lake, rid: str, opened: OpenedRepo, before: list[dict]) -> None:
    """Two sources under one name would replace each other's rows: the second is refused, the first kept.
    Checked inside the conflict retry, so a concurrent writer's commit of the same name is seen too."""
    old = before[0]["source"] if before else None
    if old is None or not (is_url(old) or old.startswith(LAKE_PREFIX) or Path(old).is_absolute()):
        return  # rows from before sources were recorded resolved: where a relative path pointed is unknown
    if source_key(old, lake.root) != source_key(opened.source, lake.root):
        raise NameTakenError(f"{rid}: already in the lake from {old}; refusing {opened.shown} "
                             f"(name it with --name OWNER/NAME, or 'SRC NAME' in --from-list)")


def _later(table: str, rows_fn) -> pa.RecordBatchReader:
    """A one-batch stream whose rows are computed only when DuckDB first reads it."""
    def batches():
        rows = rows_fn()
        if rows:
            yield pa.RecordBatch.from_pylist(rows, schema=schema(table))
    return pa.RecordBatchReader.from_batches(schema(table), batches())


def _in(repo, default_head, head: str) -> bool:
    try:
        return str(default_head) == head or repo.descendant_of(default_head, head)
    except Exception:  # noqa: BLE001 -- a missing object only means "not merged" for the reuse check
        return False


def commits_stream(repo, rid, todo, cfg, errors: list, progress: bool) -> pa.RecordBatchReader:
    """`commits` rows of `todo` as a stream for a lake write: diffed as DuckDB pulls the batches."""
    return pa.RecordBatchReader.from_batches(schema("commits"), commit_batches(repo, rid, todo, cfg, errors, progress))


def commit_batches(repo, rid, todo, cfg, errors: list, progress: bool):
    rows: list[dict] = []
    with blob_cache(cfg):
        for commit_id in tqdm(todo, desc=f"{rid} commits", unit=" commits", disable=not progress, leave=False):
            row, errs = history.commit_row(repo, rid, commit_id, cfg)
            errors.extend(errs)
            if row is not None:
                rows.append(row)
            if len(rows) >= _BATCH:
                yield pa.RecordBatch.from_pylist(rows, schema=schema("commits"))
                rows = []
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=schema("commits"))


def _error_rows(rid, run_id, at, errors, commit_errors, kept) -> list[dict]:
    """One row per (repo, stage, object): messages for the same object are joined; sorted by object."""
    seen: dict[str, dict] = {}
    for obj, err in [*errors, *commit_errors]:
        seen.setdefault(obj, {"repo_id": rid, "stage": "git", "object": obj, "error": err, "run_id": run_id, "at": at})
        if err not in seen[obj]["error"]:
            seen[obj]["error"] += "; " + err
    for r in kept:
        seen.setdefault(r["object"], {"repo_id": rid, "stage": "git", "object": r["object"], "error": r["error"],
                                      "run_id": r["run_id"], "at": r["at"]})
    return [seen[k] for k in sorted(seen)]
