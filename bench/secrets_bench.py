"""Secret redaction: our rules next to detect-secrets on the same texts, same run.

    .venv/bin/python bench/secrets_bench.py [--stride N] [--goroot DIR]

1. The labelled set (tests/helpers/secrets_cases.py): recall (a positive counts when its planted secret is gone after
   our redaction, or when detect-secrets reports anything in it) and false-redaction rate (a look-alike
   touched at all), for ours, detect-secrets with the audit's plugins (transforms/secrets_audit.py), and
   detect-secrets with every plugin (keyword and high-entropy included, its default).
2. A slice of GOROOT (every Nth .go file): MB/s, and what each flags there. Go's own source holds no live
   credential, so every flag is a false positive or a deliberate test credential; the lines are printed
   for the reader to judge.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from detect_secrets.core.scan import _process_line_based_plugins  # noqa: E402
from detect_secrets.settings import default_settings  # noqa: E402

from tests.helpers.secrets_cases import negatives, positives  # noqa: E402
from transforms import secrets  # noqa: E402
from transforms.secrets_audit import detect_secrets_findings  # noqa: E402

DEFAULT_GOROOT = Path(__file__).resolve().parents[1] / ".venv/lib/python3.11/site-packages/go"


def _all_plugins(text: str, filename: str = "sample.go") -> list[tuple[int, str]]:
    with default_settings():
        return [(s.line_number, s.type) for s in
                _process_line_based_plugins(list(enumerate(text.splitlines(), 1)), filename=filename)]


def labelled() -> None:
    pos, neg = positives(), negatives()
    print(f"labelled set: {len(pos)} positives ({len({c.kind for c in pos})} kinds), {len(neg)} look-alikes")
    print(f"{'detector':34} {'recall':>7} {'false redaction':>16} {'seconds':>8}")
    detectors = {
        "ours (transforms.secrets)": (lambda c: c.secret not in secrets.redact(c.text)[0], lambda t: bool(secrets.find(t))),
        "detect-secrets (audit plugins)": (lambda c: bool(detect_secrets_findings(c.text)),
                                           lambda t: bool(detect_secrets_findings(t))),
        "detect-secrets (all plugins)": (lambda c: bool(_all_plugins(c.text)), lambda t: bool(_all_plugins(t))),
    }
    for name, (caught, flags) in detectors.items():
        t0 = time.perf_counter()
        recall = sum(map(caught, pos)) / len(pos)
        false_rate = sum(flags(c.text) for c in neg) / len(neg)
        print(f"{name:34} {recall:7.3f} {false_rate:16.3f} {time.perf_counter() - t0:8.1f}")
    missed = Counter(c.kind for c in pos if not detect_secrets_findings(c.text))
    print("kinds detect-secrets (audit plugins) misses entirely:",
          ", ".join(k for k, n in sorted(missed.items()) if n == sum(c.kind == k for c in pos)))


def goroot(root: Path, stride: int) -> None:
    paths = sorted(p for p in (root / "src").rglob("*.go") if p.is_file())[::stride]
    texts = [(p.name, p.read_text(encoding="utf-8", errors="replace")) for p in paths]
    mb = sum(len(t.encode()) for _, t in texts) / 1e6
    print(f"\nGOROOT slice: {len(texts)} .go files (every {stride}th), {mb:.2f} MB")
    runs = {"ours (transforms.secrets.find)": lambda n, t: [(t.count("\n", 0, f.start) + 1, f.kind) for f in secrets.find(t)],
            "detect-secrets (audit plugins, prefiltered)": lambda n, t: detect_secrets_findings(t, n),
            "detect-secrets (audit plugins, every line)": lambda n, t: detect_secrets_findings(t, n, prefilter=False),
            "detect-secrets (all plugins, every line)": lambda n, t: _all_plugins(t, n)}
    base = None
    for name, detect in runs.items():
        t0 = time.perf_counter()
        kinds = Counter(kind for n, t in texts for _, kind in detect(n, t))
        rate = mb / (time.perf_counter() - t0)
        base = base or rate
        top = ", ".join(f"{k} {v}" for k, v in kinds.most_common(5)) or "none"
        print(f"{name:44} {rate:7.3f} MB/s ({rate / base:5.3f}x ours)  flags: {top}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--goroot", type=Path, default=DEFAULT_GOROOT)
    ap.add_argument("--stride", type=int, default=100, help="every Nth .go file of GOROOT (sorted by path)")
    args = ap.parse_args()
    labelled()
    goroot(args.goroot, args.stride)
    return 0


if __name__ == "__main__":
    sys.exit(main())
