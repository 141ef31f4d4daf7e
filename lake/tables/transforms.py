"""Clean-layer tables of the transforms stage (issue: transforms)."""
from lake.schema import Table, cols

TABLES: list[Table] = []
