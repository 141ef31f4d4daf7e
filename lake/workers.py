"""`--worker I/N`: which of a run's items (ingest: repositories; near dedup: files) this worker takes.

Workers split the repositories by a stable hash of the repository name, not by claiming them from a
work table: no coordinator, no leases, no writes to a shared table (every claim would be a DuckLake
commit that conflicts with every other worker's claim), and the split is the same on every machine and
every restart. A worker that dies is simply started again with the same I/N by whatever launched it
(SLURM array task, Kubernetes Job, a shell loop); its repositories' writes are idempotent replacements,
so the lake ends as one clean run would leave it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable, Iterator, TypeVar

from lake.errors import RepoLLMError

T = TypeVar("T")


class WorkerSpecError(RepoLLMError, ValueError):
    pass


@dataclass(frozen=True)
class Worker:
    index: int  # 1-based, as people count workers
    count: int

    @classmethod
    def parse(cls, spec: str | None) -> "Worker":
        if not spec:
            return cls(1, 1)
        try:
            i, n = (int(x) for x in spec.split("/"))
        except ValueError:
            raise WorkerSpecError(f"--worker {spec!r}: expected I/N, e.g. 2/4") from None
        if not (n >= 1 and 1 <= i <= n):
            raise WorkerSpecError(f"--worker {spec!r}: need 1 <= I <= N")
        return cls(i, n)

    def owns(self, name: str) -> bool:
        return share_of(name, self.count) == self.index

    def take(self, items: Iterable[T], key=lambda x: x) -> Iterator[T]:
        for item in items:
            if self.owns(str(key(item))):
                yield item


def share_of(name: str, count: int) -> int:
    """The share (1..count) a name belongs to: a stable hash, the same on every machine and every restart."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1
