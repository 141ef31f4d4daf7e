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
    "<DOC path=",      # a Go package's documentation (its doc comment as prose): <DOC path=dir/file.go>
    "<PROMPT>",        # SFT: what the model is given
    "<RESPONSE>",      # SFT: what it must produce (the loss is masked to this)
)

# What a sample is, by how much natural language it holds (sql/samples.sql picks one per sample; the trainer,
# evaluation and search report per category). Defined here once: a test holds the SQL's literals to these.
NAT, MIX, CODE = "NAT", "MIX", "CODE"
CATEGORIES: tuple[str, ...] = (NAT, MIX, CODE)

# The kinds of SFT pair (sql/sft_candidates.sql writes them; render_sft lays each one out the same way):
# a commit's diff -> its message, and a pull request -> the reviewers' explanation.
COMMIT_MESSAGE, PR_EXPLANATION = "commit_message", "pr_explanation"
PAIR_KINDS: tuple[str, ...] = (COMMIT_MESSAGE, PR_EXPLANATION)

# Tokens the tokenizer reserves beside the markers.
PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"

# Fill-in-the-middle (Bavarian et al. 2022, "Efficient Training of Language Models to Fill in the Middle";
# StarCoder and Code Llama use the same three sentinels). A document cut into prefix, middle and suffix is
# trained in one of two orders, each followed by the document's EOS:
#   PSM:  <FIM_PREFIX> prefix <FIM_SUFFIX> suffix <FIM_MIDDLE> middle
#   SPM:  <FIM_PREFIX> <FIM_SUFFIX> suffix <FIM_MIDDLE> prefix middle      (the paper's "SPM, variant 2")
# so that at inference `fim_prompt(prefix, suffix)` asks for the middle, which ends at EOS. They are kept apart
# from MARKERS because they open no region of a stored document: only the trainer (trainers/fim.py) and
# infill prompts write them. The tokenizer makes each one token like the markers.
FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE = "<FIM_PREFIX>", "<FIM_SUFFIX>", "<FIM_MIDDLE>"
FIM_MARKERS: tuple[str, ...] = (FIM_PREFIX, FIM_SUFFIX, FIM_MIDDLE)
# Every string the tokenizer must keep as one user-defined token, in id order after the four specials.
SINGLE_TOKENS: tuple[str, ...] = MARKERS + FIM_MARKERS


def fim_prompt(prefix: str, suffix: str) -> str:
    """The infill prompt (PSM order): the model's answer is the middle, ended by EOS."""
    return f"{FIM_PREFIX}{prefix}{FIM_SUFFIX}{suffix}{FIM_MIDDLE}"


# -- The grammar: how each kind of document is laid out ------------------------------------------------
#
#   document  := "<REPO>" repo_id "\n" region+
#   region    := inline | block
#   inline    := MARKER text "\n"            (text has no newline: a title, a path)
#   block     := MARKER "\n" text            (text ends with "\n"; one is added when it does not)
#
#   file      := <REPO> <FILE path=P>\n content            (a Go or Markdown file at HEAD)
#   readme    := <REPO> <README> block
#   package   := <REPO> <DOC path=P>\n doc comment text, `//` markers removed
#   structure := <REPO> <STRUCTURE> block of paths, one a line
#   pull      := <REPO> <PR_TITLE> inline, <PR_BODY> block, <FILES> block, <DIFF> block, <COMMENTS> {<COMMENT> block}
#   issue     := <REPO> <ISSUE> inline title, block body, <COMMENTS> {<COMMENT> block}
#   commit    := <REPO> <COMMIT_MSG> block, <FILES> block, <DIFF> block
#   sft       := <PROMPT> block <RESPONSE> block          (the trainer masks the loss to the response)
#
# A <COMMENT> block is "author: body". Empty regions are left out.

def _block(marker: str, text: str) -> str:
    return f"{marker}\n{text}" + ("" if text.endswith("\n") else "\n")


def _inline(marker: str, text: str) -> str:
    return f"{marker}{' '.join(text.split(chr(10)))}\n"


def _comments(comments) -> str:
    if not comments:
        return ""
    return "<COMMENTS>\n" + "".join(_block("<COMMENT>", f"{c['author']}: {c['body']}") for c in comments if c["body"])


def file_start(path: str, content: str) -> str:
    """A file's region as training saw it (without the repository line): what a prompt for code in that file
    starts with, so that the model knows it is in a Go file and where."""
    return _inline("<FILE path=", f"{path}>") + content


def render_file(repo_id: str, path: str, content: str) -> str:
    return _inline("<REPO>", repo_id) + file_start(path, content)


def render_package_doc(repo_id: str, path: str, text: str) -> str:
    return _inline("<REPO>", repo_id) + _inline("<DOC path=", f"{path}>") + text


def render_readme(repo_id: str, content: str) -> str:
    return _inline("<REPO>", repo_id) + _block("<README>", content)


def render_structure(repo_id: str, paths: list[str]) -> str:
    return _inline("<REPO>", repo_id) + _block("<STRUCTURE>", "\n".join(paths))


def render_pull(repo_id: str, title: str, body: str | None, files: list[str] | None, diff: str | None,
                comments=None) -> str:
    return (_inline("<REPO>", repo_id) + render_pull_prompt(title, body, files, diff) + _comments(comments))


def render_pull_prompt(title: str, body: str | None, files: list[str] | None, diff: str | None) -> str:
    out = _inline("<PR_TITLE>", title or "")
    if body and body.strip():
        out += _block("<PR_BODY>", body)
    return out + render_change(files, diff)


def render_change(files: list[str] | None, diff: str | None) -> str:
    out = _block("<FILES>", "\n".join(files)) if files else ""
    return out + (_block("<DIFF>", diff) if diff else "")


def render_issue(repo_id: str, title: str, body: str | None, comments=None) -> str:
    return _inline("<REPO>", repo_id) + _inline("<ISSUE>", title or "") + (
        (body if body.endswith("\n") else body + "\n") if body else "") + _comments(comments)


def render_commit(repo_id: str, message: str, files: list[str] | None, diff: str | None) -> str:
    return _inline("<REPO>", repo_id) + _block("<COMMIT_MSG>", message) + render_change(files, diff)


def sft_parts(prompt: str, response: str) -> tuple[str, str]:
    """An SFT pair as the model sees it: `<PROMPT>prompt<RESPONSE>` (no loss) then `response` (loss), EOS after.
    The trainer (trainers/sft.py), the evaluation prompts and the exported chat template all follow this."""
    return f"<PROMPT>{prompt}<RESPONSE>", response


def render_sft(prompt: str, response: str) -> str:
    return "".join(sft_parts(prompt, response))
