"""The lake: a DuckLake catalog of declared tables over partitioned Parquet."""
from lake.connection import Lake, open_lake
from lake.errors import LakeError
from lake.write import Write

__all__ = ["Lake", "LakeError", "Write", "open_lake"]
