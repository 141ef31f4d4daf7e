"""python -m trainers.fit --config trainers/configs/tiny-cpu.yaml [--data.lake data] [--trainer.max_steps 100]
                        [--ckpt_path last] [--print_config]

LightningCLI over LlamaLM and a data module (ShardDataModule for pretraining, SFTDataModule for SFT): every
field of the YAML can be overridden on the command line; the resolved config is saved as config.yaml in the
run's log folder and recorded in the lake's `training_runs` table with the shards, tokenizer and final metrics.
"""
from __future__ import annotations

import sys

from lightning.pytorch.cli import LightningCLI

from trainers.callbacks import FinalCheckpoint, LakeRunRecord, LossCurve
from trainers.errors import TrainerError
from trainers.model import LlamaLM


class TrainCLI(LightningCLI):
    def add_arguments_to_parser(self, parser) -> None:
        parser.add_argument("--ckpt_path", type=str | None, default=None,
                            help="checkpoint to resume from; `last` resumes the newest last.ckpt of the run")
        parser.link_arguments("data.vocab_size", "model.vocab_size", apply_on="instantiate")
        parser.link_arguments("data.seq_len", "model.max_seq_len", apply_on="instantiate")


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
        final, record = FinalCheckpoint(), LakeRunRecord(getattr(dm, "lake", None), cli.config.as_dict(), ckpt_path)
        trainer.callbacks.extend([final, LossCurve(), record])
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
    except TrainerError as e:
        print(f"trainers.fit: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        from lake import LakeError
        from transforms.shard_format import ShardError
        if isinstance(e, (LakeError, ShardError)):
            print(f"trainers.fit: {e}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
