"""python -m trainers.fit --config trainers/configs/tiny-cpu.yaml [--lake data] [--data-path DIR] [--quiet]
                        [--trainer.max_steps 100] [--run_dir runs/x] [--ckpt_path last] [--print_config]

LightningCLI over LlamaLM and a data module (ShardDataModule for pretraining, SFTDataModule for SFT): every
field of the YAML can be overridden on the command line; the resolved config is saved as config.yaml in the
run's log folder and recorded in the lake's `training_runs` table with the shards, tokenizer and final metrics.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from jsonargparse import ActionYesNo
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningCLI
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from lake.edge import exit_code
from lake.options import DATA_PATH_HELP, LAKE_HELP, QUIET_HELP, quiet
from trainers.callbacks import (CurriculumLog, FinalCheckpoint, LakeRunRecord, LossCurve, StopOnNonFinite,
                                Throughput)
from trainers.errors import TrainerError
from trainers.model import LlamaLM


class TrainCLI(LightningCLI):
    """LightningCLI plus where a run lives: --run_dir holds checkpoints/ (last.ckpt every --checkpoint_every
    steps, final.ckpt at the end), logs/version_N/ (CSV, config.yaml, loss_curve.png) and tensorboard/."""

    def add_arguments_to_parser(self, parser) -> None:
        parser.add_argument("--ckpt_path", type=str | None, default=None,
                            help="checkpoint to resume from; `last` resumes the newest last.ckpt of the run")
        parser.add_argument("--run_dir", type=str, default="runs/train", help="the run's folder")
        parser.add_argument("--checkpoint_every", type=int, default=100, help="optimiser steps between last.ckpt saves")
        # the options every stage takes (lake/options.py); --lake is the data module's lake, --data.lake as well
        parser.add_argument("--lake", type=str | None, default=None, help=f"{LAKE_HELP}; the same as --data.lake")
        parser.add_argument("--data-path", type=str | None, default=None, help=DATA_PATH_HELP)
        parser.add_argument("--quiet", action=ActionYesNo, default=False, help=QUIET_HELP)
        parser.link_arguments("data.vocab_size", "model.vocab_size", apply_on="instantiate")
        parser.link_arguments("data.seq_len", "model.max_seq_len", apply_on="instantiate")

    def before_instantiate_classes(self) -> None:
        c = self.config
        if c.quiet:
            quiet()
            c.trainer.enable_progress_bar = False
        if c.data_path:
            # The data modules and the run record open the lake by name, in this process and in the data
            # loader's workers: the variable that lake.location reads reaches all of them.
            os.environ["REPO_LLM_DATA_PATH"] = c.data_path
        if c.lake:
            given = c.data.init_args.lake
            if given not in (None, c.lake):
                raise TrainerError(f"--lake {c.lake} and --data.lake {given} name two lakes; give one")
            c.data.init_args.lake = c.lake

    def _instantiate_trainer(self, config: dict, callbacks: list):
        run_dir = Path(self.config["run_dir"])
        config["default_root_dir"] = str(run_dir)
        if config.get("logger") in (None, True):
            config["logger"] = [CSVLogger(run_dir, name="logs"), TensorBoardLogger(run_dir, name="tensorboard")]
        callbacks = [*callbacks, ModelCheckpoint(dirpath=run_dir / "checkpoints", every_n_train_steps=self.config["checkpoint_every"],
                                                 save_last=True, save_top_k=1),
                     StopOnNonFinite(self.config["checkpoint_every"]), Throughput(), CurriculumLog(),
                     FinalCheckpoint(), LossCurve()]
        return super()._instantiate_trainer(config, callbacks)


def summary(trainer, dm) -> list[str]:
    """The held-out bits per byte by category next to the xz -9 baselines on the same documents."""
    m = {k: float(v) for k, v in trainer.callback_metrics.items()}
    lines = []
    for cat in getattr(dm, "val_categories", []):
        if f"val/bpb_{cat}" not in m:
            continue
        line = f"val {cat:4s}: {m[f'val/bpb_{cat}']:.3f} bits/byte (loss {m[f'val/loss_{cat}']:.3f}, ppl {m[f'val/ppl_{cat}']:.1f})"
        xz = getattr(dm, "xz", {}).get(cat)
        if xz:
            line += f" | xz -9 per document {xz['per_document']:.3f}, concatenated {xz['concatenated']:.3f}"
        lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    try:
        cli = TrainCLI(LlamaLM, subclass_mode_data=True, run=False, args=argv,
                       save_config_kwargs={"overwrite": True}, parser_kwargs={"prog": "python -m trainers.fit"},
                       auto_configure_optimizers=False)
        trainer, dm = cli.trainer, cli.datamodule
        ckpt_path = cli.config.get("ckpt_path")
        final = next(cb for cb in trainer.callbacks if isinstance(cb, FinalCheckpoint))
        record = LakeRunRecord(getattr(dm, "lake", None), cli.config.as_dict(), ckpt_path)
        trainer.callbacks.append(record)
        try:
            trainer.fit(cli.model, datamodule=dm, ckpt_path=ckpt_path)
        except BaseException as e:
            record.finish(trainer, "failed", None, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            raise
        status = "interrupted" if trainer.interrupted else "ok"
        record.finish(trainer, status, final.path)
        if trainer.global_rank == 0:
            for line in summary(trainer, dm):
                print(line)
            if final.path:
                print(f"checkpoint: {final.path}")
        return 0
    except Exception as e:
        return exit_code("trainers.fit", e)


if __name__ == "__main__":
    sys.exit(main())
