"""The serialisation grammar: the region markers of training text, defined once.

The transforms write text with these markers; the tokenizer makes each marker a single token.
A document is a sequence of regions; a region opens with its marker and runs to the next marker.
`<FILE path=...>` carries its path inline: the marker token is `<FILE path=` and the path and `>` follow
as ordinary text, so the tokenizer needs one token for it, not one per path.
"""
from __future__ import annotations

# Order matters only for documentation; every entry becomes one user-defined SentencePiece symbol.
MARKERS: tuple[str, ...] = (
    "<REPO>",          # repository name (and licence) heading a document
    "<STRUCTURE>",     # the repository's path list
    "<FILE path=",     # a whole file: <FILE path=a/b.go>\n<content>
    "<PR_TITLE>",
    "<PR_BODY>",
    "<FILES>",         # the list of files a PR or commit changed
    "<BEFORE>",        # a snippet before a change
    "<AFTER>",         # the same snippet after it
    "<DIFF>",          # a unified diff
    "<COMMENTS>",      # review and conversation comments
    "<COMMENT>",       # one comment (author and body follow)
    "<ISSUE>",         # an issue title and body
    "<COMMIT_MSG>",
    "<README>",
    "<PROMPT>",        # SFT: what the model is given
    "<RESPONSE>",      # SFT: what it must produce (the loss is masked to this)
)

# Tokens the tokenizer reserves beside the markers.
PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
