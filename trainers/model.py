"""The language model as a LightningModule: loss, optimiser and validation of the Llama-style decoder that
artifacts/architecture.py describes and trainers/construction.py builds (fresh, from a checkpoint or from a
Hugging Face folder, optionally under LoRA). What a run does around it -- stopping on a non-finite loss,
throughput and MFU, curriculum logging -- are callbacks (trainers/callbacks.py) that trainers.fit adds.
"""
from __future__ import annotations

import math

import lightning as L
import torch
from lightning.pytorch.callbacks import Timer

from artifacts.architecture import ARCHITECTURE, apply_special_ids, llama_config  # noqa: F401 (llama_config: bench/)
from artifacts.checkpoint import META_KEY
from artifacts.lora import LoraSpec
from trainers import adapt
from trainers.construction import build_model
from trainers.errors import TrainerError
from trainers.optimizers import build_optimizer
from trainers.loss import IGNORE, HeldOutSums, token_losses


class LlamaLM(L.LightningModule):
    """Causal LM over batches {"input_ids", "targets"} (targets IGNORE where no loss is wanted).

    Optimiser: AdamW (no decay on norms and biases), linear warmup then cosine decay to
    min_lr_ratio * lr over lr_decay_steps (default: trainer.max_steps), then flat. lr_decay_to_max_time: the
    cosine follows whichever budget runs out first, steps or trainer.max_time, so a time-capped run ends at the
    floor instead of in the middle of its schedule. lr_decay_share: warmup-stable-decay instead of the cosine:
    the peak LR until the last lr_decay_share of that budget, then a linear decay to the floor over it.
    init_from: a checkpoint whose weights (and architecture) start this run, e.g. for SFT; or a Hugging Face
    model folder (continued pretraining of an existing model, trainers/adapt.py).
    lora: train only peft LoRA adapters {rank, alpha, dropout, target_modules} on the frozen model.
    compile: torch.compile the decoder for training (None: on a GPU only; it costs a minute of compiling,
    which a short CPU run does not win back). Attention is PyTorch's sdpa (flash / memory-efficient kernels on
    a GPU); AdamW is the fused kernel on a GPU, foreach on a CPU. bf16 weights: `trainer.precision: bf16-true`.
    """

    def __init__(self, vocab_size: int = 0, d_model: int = 256, n_layers: int = 4, n_heads: int = 4,
                 n_kv_heads: int | None = None, ffn_hidden: int | None = None, max_seq_len: int = 256,
                 rope_theta: float = 10000.0, tie_embeddings: bool = True, norm_eps: float = 1e-5,
                 init_std: float = 0.02, lr: float = 3e-3, min_lr_ratio: float = 0.1, warmup_steps: int = 100,
                 lr_decay_steps: int | None = None, lr_decay_to_max_time: bool = False,
                 lr_decay_share: float | None = None, weight_decay: float = 0.1,
                 betas: tuple[float, float] = (0.9, 0.95), optimizer: str = "adamw",
                 muon_lr: float | None = None, embed_lr: float | None = None,
                 init_from: str | None = None, lora: LoraSpec | None = None, peak_flops: float | None = None, seed: int = 1234,
                 compile: bool | None = None):
        super().__init__()
        arch = dict(zip(ARCHITECTURE, (vocab_size, d_model, n_layers, n_heads, n_kv_heads, ffn_hidden, max_seq_len,
                                       rope_theta, tie_embeddings, norm_eps)))
        built = build_model(arch, init_std, init_from, lora, seed)
        self.save_hyperparameters()
        # LightningCLI records the values it was given; the checkpoint must carry the architecture actually built.
        self.hparams.update(built.arch)
        self.model, self.config, self.base_meta = built.model, built.config, built.base_meta
        self.meta: dict = {}  # what the checkpoint must carry to be usable alone (set by the data module)
        self.categories: list[str] = []
        self._val: HeldOutSums | None = None

    def setup(self, stage: str) -> None:
        if stage == "fit" and self.compiles(self.trainer.strategy.root_device):
            # in place: the state dict keeps its keys (no `_orig_mod.`), so checkpoints and exports are unchanged
            self.model.compile()
        dm = self.trainer.datamodule
        if dm is not None and hasattr(dm, "describe"):
            self.meta = dm.describe()
            base_tok = self.base_meta.get("tokenizer_sha256")
            if base_tok and base_tok != self.meta.get("tokenizer_sha256"):
                raise TrainerError(f"model.init_from {self.hparams.init_from} was trained with tokenizer "
                                   f"{self.base_meta.get('tokenizer_id')}, the data uses {self.meta.get('tokenizer_id')}")
            if adapt.is_hf_folder(self.hparams.init_from):
                adapt.check_tokenizer(self.hparams.init_from, self.meta)
            apply_special_ids(self.model, self.meta.get("special_ids"))
            self.categories = list(getattr(dm, "val_categories", dm.categories))

    def compiles(self, device: torch.device) -> bool:
        wanted = self.hparams.get("compile")  # absent from checkpoints written before the flag existed
        return device.type == "cuda" if wanted is None else bool(wanted)

    # -- forward and loss -------------------------------------------------------------------
    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids).logits

    def token_losses(self, batch: dict) -> torch.Tensor:
        return token_losses(self.model, batch)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        losses = self.token_losses(batch)
        valid = (batch["targets"] != IGNORE).sum()
        loss = losses.sum() / valid.clamp(min=1)
        self.log("train/loss", loss, on_step=True, prog_bar=True, sync_dist=self.trainer.world_size > 1)
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"], on_step=True)
        return loss

    # -- validation: summed over whole held-out documents, per category ----------------------
    def on_validation_epoch_start(self) -> None:
        self._val = HeldOutSums(self.categories, self.device)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._val.add(batch, self.token_losses(batch))

    def on_validation_epoch_end(self) -> None:
        reduce = (lambda v: self.trainer.strategy.reduce(v, reduce_op="sum")) if self.trainer.world_size > 1 else None
        metrics = self._val.metrics(reduce)
        for name, value in metrics.items():
            self.log(name, value, sync_dist=False, rank_zero_only=True)

    # -- optimiser ---------------------------------------------------------------------------
    def configure_optimizers(self):
        hp = self.hparams
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]  # LoRA: the adapters only
        opt = build_optimizer(hp.get("optimizer", "adamw"), named, hp.lr, hp.weight_decay, hp.betas,
                              self.device.type == "cuda", hp.get("muon_lr"), hp.get("embed_lr"))
        horizon = hp.lr_decay_steps or (self.trainer.max_steps if self.trainer.max_steps > 0 else None)
        by_time = self._time_progress() if hp.get("lr_decay_to_max_time") else None
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(hp.warmup_steps, horizon, hp.min_lr_ratio, by_time,
                                                                 hp.get("lr_decay_share")))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def _time_progress(self):
        """Share of trainer.max_time spent training, as a function (None without a time cap): Lightning's own
        Timer callback, the one that stops the run, is the clock (its state travels with a resumed run)."""
        timer = next((cb for cb in self.trainer.callbacks if isinstance(cb, Timer)), None)
        if timer is None or not timer._duration:
            return None
        return lambda: (timer.time_elapsed("train") or 0.0) / timer._duration

    # -- checkpoint metadata -----------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        meta = {**self.base_meta, **self.meta}
        meta["config"] = self.config.to_dict()
        meta["step"] = int(self.global_step)
        dm = self.trainer.datamodule if self._trainer is not None else None
        if dm is not None and hasattr(dm, "tokens_per_step"):
            meta["tokens_seen"] = int(self.global_step) * dm.tokens_per_step(self.trainer)
        checkpoint[META_KEY] = meta


def lr_lambda(warmup: int, horizon: int | None, min_ratio: float, time_progress=None,
              decay_share: float | None = None):
    """LR multiplier at a step: linear warmup, then cosine to min_ratio at `horizon` steps or when
    time_progress() (the share of the time budget spent) reaches 1, whichever comes first. decay_share:
    warmup-stable-decay instead, flat at 1 until 1 - decay_share of that budget, then linear to min_ratio."""
    if decay_share is not None and not 0 < decay_share <= 1:
        raise TrainerError(f"model.lr_decay_share {decay_share}: must be in (0, 1]")
    def f(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        by_steps = bool(horizon and horizon > warmup)
        if not by_steps and time_progress is None:
            return 1.0
        t = (step - warmup) / (horizon - warmup) if by_steps else 0.0
        if time_progress is not None:
            t = max(t, time_progress())
        t = min(1.0, t)
        if decay_share is not None:
            return min_ratio + (1 - min_ratio) * min(1.0, (1 - t) / decay_share)
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * t))
    return f
