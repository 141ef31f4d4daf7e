from lake.errors import LakeError


class SearchError(LakeError):
    """A search-index problem a user can act on (no index yet, unknown model, bad category or mode)."""
