"""The fill-in-the-middle suite: the middle of a held-out Go function, given the file before and after it.

Items come from the code suite's checkable tasks (documented functions of held-out files whose package builds
offline with the original body; evaluation/code.py), two per function:
- single_line: one line of the body (the middle one of its non-blank lines), without its newline; the answer is
  cut at its first newline, as in SantaCoder's single-line infilling;
- multi_line: every line of a body of two or more lines, between the line of `{` and the line of `}`.
The prompt is the training document's own layout (artifacts.grammar.render_file) cut at the middle, in PSM
order: EOS, <FIM_PREFIX> prefix <FIM_SUFFIX> suffix <FIM_MIDDLE>; the answer ends at EOS. A prompt longer than
max_prompt_tokens loses the start of the prefix and the end of the suffix (the suffix keeps at most a quarter).
Scores: exact match (whitespace-normalised, as the code suite), edit similarity (difflib ratio), and whether
the package still builds with the file's middle replaced (the Go toolchain shipped with the project).
"""
from __future__ import annotations

import difflib
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from evaluation import gobuild
from evaluation.config import EvalConfig
from evaluation.errors import EvalError
from evaluation.generation import generate_ids
from evaluation.gotasks import CodeTask
from evaluation.models import Subject
from evaluation.results import ItemOutcome, Metric
from artifacts.grammar import FIM_MARKERS, render_file

SUITE = "fim"
SINGLE, MULTI = "single_line", "multi_line"
CATEGORIES = (SINGLE, MULTI)


@dataclass
class FimTask:
    item_id: str
    kind: str              # single_line | multi_line
    task: CodeTask
    start: int             # byte offsets of the middle in the file
    end: int

    @property
    def prefix(self) -> str:
        return render_file(self.task.repo_id, self.task.path, self.task.raw[: self.start].decode("utf-8"))

    @property
    def suffix(self) -> str:
        return self.task.raw[self.end:].decode("utf-8")

    @property
    def reference(self) -> str:
        return self.task.raw[self.start: self.end].decode("utf-8")

    def with_middle(self, middle: str) -> str:
        raw = self.task.raw
        return (raw[: self.start] + middle.encode("utf-8") + raw[self.end:]).decode("utf-8")


def fim_tasks(task: CodeTask) -> list[FimTask]:
    """The single-line and (for a body of two or more lines) multi-line middles of one function."""
    raw = task.raw
    first = raw.find(b"\n", task.lbrace, task.rbrace)  # end of the line holding `{`
    last = raw.rfind(b"\n", task.lbrace, task.rbrace)  # end of the body's last line before `}`'s line
    if first < 0 or last <= first:
        return []  # a body on the brace's own line: no whole line to take out
    lines, pos = [], first + 1
    while pos <= last:
        nl = raw.index(b"\n", pos)
        if raw[pos:nl].strip():
            lines.append((pos, nl))
        pos = nl + 1
    if not lines:
        return []
    out = []

    def add(kind: str, start: int, end: int):
        key = f"{task.item_id}\0{kind}\0{start}\0{end}"
        out.append(FimTask("fim:" + hashlib.sha256(key.encode()).hexdigest()[:16], kind, task, start, end))
    add(SINGLE, *lines[len(lines) // 2])
    if len(lines) >= 2:
        add(MULTI, first + 1, last + 1)
    return out


def outcome(fim: FimTask, site: gobuild.PackageSite | None) -> ItemOutcome:
    t = fim.task
    return ItemOutcome(fim.item_id, SUITE, fim.kind, t.repo_id, f"{t.path}#{t.name}", fim.prefix + "\u2026" + fim.suffix,
                       fim.reference, scores={"site": site.kind if site else None})


def sentinel_ids(subject: Subject) -> list[int]:
    ids = [subject.encode(m) for m in FIM_MARKERS]
    if any(len(i) != 1 for i in ids):
        raise EvalError(f"{subject.name}: its tokenizer has no single-token FIM sentinels (trained before them): "
                        f"leave `fim` out of --suite")
    return [i[0] for i in ids]


def prompt_ids(subject: Subject, fim: FimTask, sentinels: list[int], max_prompt_tokens: int, new: int) -> list[int]:
    pre, suf, mid = sentinels
    budget = max(2, min(max_prompt_tokens, subject.ctx_len - new - 1) - 4)
    suffix = subject.encode(fim.suffix)[: budget // 4]
    prefix = subject.encode(fim.prefix)[-(budget - len(suffix)):]
    return [subject.eos_id, pre, *prefix, suf, *suffix, mid]


def run(subject: Subject, tasks: list[tuple[FimTask, gobuild.PackageSite, ItemOutcome]], cfg: EvalConfig,
        workdir: Path) -> list[Metric]:
    """Generate and score the scored items; the sites stay open (the caller closes them)."""
    todo = [(f, s, i) for f, s, i in tasks if i.status == "scored"]
    if not todo:
        return []
    sentinels = sentinel_ids(subject)
    new = {SINGLE: cfg.fim_line_max_new_tokens, MULTI: cfg.code_max_new_tokens}
    generated: dict[str, str] = {}
    for kind in CATEGORIES:
        group = [(f, i) for f, _, i in todo if f.kind == kind]
        n = min(new[kind], subject.ctx_len - 8)
        ids = [prompt_ids(subject, f, sentinels, cfg.max_prompt_tokens, n) for f, _ in group]
        for (_, item), text in zip(group, generate_ids(subject, ids, n, f"fim: {kind} middles")):
            generated[item.item_id] = text
    for f, _, item in todo:
        item.generation = generated[item.item_id]
        # a single line ends at the line's end; a multi-line middle ends with its last newline, like the reference
        item.scores["middle"] = item.generation.split("\n", 1)[0] if f.kind == SINGLE else item.generation

    def build(args):
        f, site, item = args
        return gobuild.check(site, f.with_middle(item.scores["middle"]), workdir, cfg.go_timeout_s, run_vet=False)

    with ThreadPoolExecutor(cfg.workers) as pool:
        results = list(tqdm(pool.map(build, todo), total=len(todo), desc="fim: building", unit=" items", leave=False))
    for (f, _, item), res in zip(todo, results):
        middle = item.scores["middle"]
        item.scores.update(
            compiles=res.compiles, error=res.error,
            edit_similarity=difflib.SequenceMatcher(None, f.reference, middle, autojunk=False).ratio(),
            exact_match=" ".join(middle.split()) == " ".join(f.reference.split()))
    return summarize([i for _, _, i in todo])


def summarize(items: list[ItemOutcome]) -> list[Metric]:
    rows = []
    for kind in CATEGORIES:
        group = [i for i in items if i.kind == kind]
        if not group:
            continue
        n = len(group)
        for metric, key in (("exact_match", "exact_match"), ("edit_similarity", "edit_similarity"),
                            ("compile_rate", "compiles")):
            rows.append(Metric(SUITE, metric, kind, sum(float(i.scores[key]) for i in group) / n, n))
    return rows
