"""The errors of the artifacts layer: an artifact that is missing, corrupt or does not fit (one line, exit 2)."""

from lake.errors import RepoLLMError


class ArtifactError(RepoLLMError):
    """A shard, tokenizer, checkpoint or model configuration a user can fix."""


class ShardError(ArtifactError):
    """A shard that is missing, truncated, corrupted or inconsistent with its manifest row."""


class TokenizerError(ArtifactError):
    """A tokenizer that is missing, cannot load or lacks a token the grammar needs."""


class CheckpointError(ArtifactError):
    """A checkpoint that is missing, unreadable or does not fit the model it describes."""


class ModelConfigError(ArtifactError):
    """A model architecture that cannot be built (a width that does not divide, no vocabulary)."""
