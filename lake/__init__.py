"""The lake: a DuckLake catalog of declared tables over partitioned Parquet."""
from lake.connection import Lake, open_lake
from lake.errors import LakeError, RepoLLMError
from lake.write import CommitConflict, Write, retry_on_conflict

__all__ = ["CommitConflict", "Lake", "LakeError", "RepoLLMError", "Write", "open_lake", "retry_on_conflict"]
