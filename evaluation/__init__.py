"""Evaluation of a checkpoint or GGUF against held-out data; `python -m evaluation` is the way in.

One module per concern: models (what is scored), data (what the lake holds for evaluation), lm, explain and
code (the suites), decontamination, baselines, results (lake rows), report, review (human ratings) and runner
(the order they run in).
"""
