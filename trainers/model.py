"""The language model as a LightningModule: a Llama-style decoder from `transformers` (RMSNorm, RoPE, SwiGLU,
optional grouped-query attention), built from a LlamaConfig, never downloaded. Using LlamaForCausalLM itself
keeps the Hugging Face and GGUF exports a direct copy of the state dict.
"""
from __future__ import annotations

import math
import time

import lightning as L
import torch
import torch.nn.functional as F
from transformers import LlamaConfig, LlamaForCausalLM

from trainers import adapt, flops
from trainers.adapt import LoraSpec
from trainers.errors import TrainerError

IGNORE = -100  # target value that carries no loss (SFT prompt tokens, padding)
ARCHITECTURE = ("vocab_size", "d_model", "n_layers", "n_heads", "n_kv_heads", "ffn_hidden", "max_seq_len",
                "rope_theta", "tie_embeddings", "norm_eps")


def llama_config(vocab_size: int, d_model: int, n_layers: int, n_heads: int, n_kv_heads: int | None,
                 ffn_hidden: int | None, max_seq_len: int, rope_theta: float, tie_embeddings: bool,
                 norm_eps: float = 1e-5, init_std: float = 0.02, pad_id: int = 0, bos_id: int = 1,
                 eos_id: int = 2) -> LlamaConfig:
    if vocab_size <= 0:
        raise TrainerError("model.vocab_size is not set (it comes from the tokenizer of the data module)")
    if d_model % n_heads:
        raise TrainerError(f"model.d_model {d_model} is not a multiple of model.n_heads {n_heads}")
    kv = n_kv_heads or n_heads
    if n_heads % kv:
        raise TrainerError(f"model.n_heads {n_heads} is not a multiple of model.n_kv_heads {kv}")
    # SwiGLU hidden width: 8/3 d rounded up to a multiple of 64, as in Llama.
    ffn = ffn_hidden or 64 * math.ceil(8 * d_model / 3 / 64)
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=d_model, intermediate_size=ffn,
                      num_hidden_layers=n_layers, num_attention_heads=n_heads, num_key_value_heads=kv,
                      max_position_embeddings=max_seq_len, rope_theta=rope_theta, rms_norm_eps=norm_eps,
                      tie_word_embeddings=tie_embeddings, initializer_range=init_std, hidden_act="silu",
                      attention_bias=False, mlp_bias=False, attention_dropout=0.0,
                      pad_token_id=pad_id, bos_token_id=bos_id, eos_token_id=eos_id, use_cache=False)
    cfg._attn_implementation = "sdpa"
    return cfg


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
                 betas: tuple[float, float] = (0.9, 0.95),
                 init_from: str | None = None, lora: LoraSpec | None = None, peak_flops: float | None = None, seed: int = 1234,
                 compile: bool | None = None):
        super().__init__()
        self.base_meta: dict = {}
        hf_base = adapt.is_hf_folder(init_from)
        if hf_base:
            from transformers import AutoConfig
            arch = adapt.architecture(AutoConfig.from_pretrained(init_from, local_files_only=True))
            arch["vocab_size"] = max(vocab_size, arch["vocab_size"])  # grown for added marker tokens
            vocab_size, d_model, n_layers, n_heads, n_kv_heads, ffn_hidden, max_seq_len, rope_theta, \
                tie_embeddings, norm_eps = (arch[k] for k in ARCHITECTURE)
        elif init_from:
            from trainers.checkpoint import read_checkpoint
            base = read_checkpoint(init_from)
            arch = {k: base["hyper_parameters"][k] for k in ARCHITECTURE}
            if vocab_size and vocab_size != arch["vocab_size"]:
                raise TrainerError(f"model.init_from {init_from}: vocabulary {arch['vocab_size']} != data's {vocab_size}")
            vocab_size, d_model, n_layers, n_heads, n_kv_heads, ffn_hidden, max_seq_len, rope_theta, \
                tie_embeddings, norm_eps = (arch[k] for k in ARCHITECTURE)
            self.base_meta = base.get("repo_llm", {})
        self.save_hyperparameters()
        # LightningCLI records the values it was given; the checkpoint must carry the architecture actually built.
        self.hparams.update(zip(ARCHITECTURE, (vocab_size, d_model, n_layers, n_heads, n_kv_heads, ffn_hidden,
                                               max_seq_len, rope_theta, tie_embeddings, norm_eps)))
        # Seeded here so that the initial weights depend on the seed alone, not on what ran before.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if hf_base:
                self.model = adapt.load_base(init_from, vocab_size, lora is not None)
                self.config = self.model.config
            else:
                self.config = llama_config(vocab_size, d_model, n_layers, n_heads, n_kv_heads, ffn_hidden,
                                           max_seq_len, rope_theta, tie_embeddings, norm_eps, init_std)
                self.model = LlamaForCausalLM(self.config)
        if init_from and not hf_base:
            state = {k.removeprefix("model."): v for k, v in base["state_dict"].items() if k.startswith("model.")}
            self.model.load_state_dict(state)
        if lora is not None:  # after the weights it adapts are in place; its own init seeded like the model's
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.model = adapt.apply_lora(self.model, lora)
            self.base_meta["trainable_parameters"], self.base_meta["parameters"] = adapt.parameter_counts(self.model)
        self.meta: dict = {}  # what the checkpoint must carry to be usable alone (set by the data module)
        self.categories: list[str] = []
        self._val: dict[str, torch.Tensor] = {}
        self._t_last: float | None = None
        self._flops_per_token: float | None = None

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
        logits = self(batch["input_ids"])
        return F.cross_entropy(logits.float().flatten(0, 1), batch["targets"].flatten(), ignore_index=IGNORE,
                               reduction="none").view_as(batch["targets"])

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        losses = self.token_losses(batch)
        valid = (batch["targets"] != IGNORE).sum()
        loss = losses.sum() / valid.clamp(min=1)
        self._stop_if_not_finite(loss)
        self.log("train/loss", loss, on_step=True, prog_bar=True, sync_dist=self.trainer.world_size > 1)
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"], on_step=True)
        self._log_throughput(batch)
        dm = self.trainer.datamodule
        if getattr(dm, "curriculum", None) is not None:
            stage = dm.curriculum.stage_at_step(self.global_step)
            self.log("curriculum/stage", float(stage.index), on_step=True)
            for cat, w in stage.weights.items():
                self.log(f"curriculum/weight_{cat}", w, on_step=True)
        return loss

    def _stop_if_not_finite(self, loss: torch.Tensor) -> None:
        bad = not bool(torch.isfinite(loss))
        if self.trainer.world_size > 1:  # every rank must take the same decision (and the checkpoint together)
            bad = self.trainer.strategy.reduce_boolean_decision(bad, all=False)
        if not bad:
            return
        # Save the weights that gave this loss only if they are still finite (then they are the state from
        # before this step); otherwise the last periodic checkpoint is the one from before the divergence.
        cb = self.trainer.checkpoint_callback
        if all(bool(torch.isfinite(p).all()) for p in self.parameters()):
            folder = cb.dirpath if cb is not None and cb.dirpath else self.trainer.default_root_dir
            path = f"{folder}/nonfinite-step{self.global_step}.ckpt"
            self.trainer.save_checkpoint(path)
            where = f"weights from before this step saved to {path}"
        else:
            last = cb.last_model_path if cb is not None else ""
            where = f"the weights are already non-finite; last finite checkpoint: {last or 'none saved yet'}"
        raise TrainerError(f"training loss is {loss.item()} at step {self.global_step}: stopped; {where}")

    def _log_throughput(self, batch: dict) -> None:
        now = time.perf_counter()
        if self._t_last is not None:
            world = self.trainer.world_size
            tokens = batch["input_ids"].numel() * world * self.trainer.accumulate_grad_batches
            tps = tokens / max(now - self._t_last, 1e-9)
            self.log("train/tokens_per_s", tps, on_step=True, prog_bar=True)
            if self._flops_per_token is None:
                self._flops_per_token = flops.flops_per_token(self.model, self.config.num_hidden_layers,
                                                              self.config.hidden_size, batch["input_ids"].shape[1])
            peak = flops.peak_flops(self.device, self.trainer.precision, self.hparams.peak_flops)
            if peak:
                self.log("train/mfu", self._flops_per_token * tps / (peak * world), on_step=True)
        self._t_last = now

    def on_train_batch_start(self, batch, batch_idx):
        if batch_idx % self.trainer.accumulate_grad_batches == 0 and self._t_last is None:
            self._t_last = time.perf_counter()

    # -- validation: summed over whole held-out documents, per category ----------------------
    def on_validation_epoch_start(self) -> None:
        n = len(self.categories)
        self._val = {k: torch.zeros(n, dtype=torch.float64, device=self.device) for k in ("nll", "tokens", "bytes")}

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        losses = self.token_losses(batch).double()
        valid = (batch["targets"] != IGNORE)
        cat = batch["category"]
        self._val["nll"].index_add_(0, cat, losses.sum(1))
        self._val["tokens"].index_add_(0, cat, valid.sum(1).double())
        self._val["bytes"].index_add_(0, cat, batch["bytes"].double())

    def on_validation_epoch_end(self) -> None:
        sums = {k: self.trainer.strategy.reduce(v, reduce_op="sum") if self.trainer.world_size > 1 else v
                for k, v in self._val.items()}
        metrics = val_metrics(self.categories, sums["nll"].cpu(), sums["tokens"].cpu(), sums["bytes"].cpu())
        for name, value in metrics.items():
            self.log(name, value, sync_dist=False, rank_zero_only=True)
        self._t_last = None  # validation time is not training throughput

    # -- optimiser ---------------------------------------------------------------------------
    def configure_optimizers(self):
        hp = self.hparams
        params = [p for p in self.parameters() if p.requires_grad]  # LoRA: the adapters only
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        # one fused kernel for the whole update on a GPU; foreach (a few batched ops) elsewhere
        kernel = {"fused": True} if self.device.type == "cuda" else {"foreach": True}
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": hp.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}], lr=hp.lr, betas=tuple(hp.betas), **kernel)
        horizon = hp.lr_decay_steps or (self.trainer.max_steps if self.trainer.max_steps > 0 else None)
        by_time = self._time_progress() if hp.get("lr_decay_to_max_time") else None
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(hp.warmup_steps, horizon, hp.min_lr_ratio, by_time,
                                                                 hp.get("lr_decay_share")))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def _time_progress(self):
        """Share of trainer.max_time spent training, as a function (None without a time cap): Lightning's own
        Timer callback, the one that stops the run, is the clock (its state travels with a resumed run)."""
        from lightning.pytorch.callbacks import Timer
        timer = next((cb for cb in self.trainer.callbacks if isinstance(cb, Timer)), None)
        if timer is None or not timer._duration:
            return None
        return lambda: (timer.time_elapsed("train") or 0.0) / timer._duration

    # -- checkpoint metadata -----------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        from trainers.checkpoint import META_KEY
        meta = {**self.base_meta, **self.meta}
        meta["config"] = self.config.to_dict()
        meta["step"] = int(self.global_step)
        dm = self.trainer.datamodule if self._trainer is not None else None
        if dm is not None and hasattr(dm, "tokens_per_step"):
            meta["tokens_seen"] = int(self.global_step) * dm.tokens_per_step(self.trainer)
        checkpoint[META_KEY] = meta


def apply_special_ids(model: LlamaForCausalLM, ids: dict | None) -> None:
    """The tokenizer's pad/bos/eos ids into the model's config, so that exports and generation agree with it."""
    if not ids:
        return
    for cfg in (model.config, model.generation_config):
        cfg.pad_token_id, cfg.bos_token_id, cfg.eos_token_id = ids["pad"], ids["bos"], ids["eos"]


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


def val_metrics(categories: list[str], nll, tokens, bytes_) -> dict[str, float]:
    """Loss, perplexity and bits per byte per category and overall (bpb = nats / ln 2 / bytes of the text)."""
    out = {}
    for i, cat in enumerate(categories):
        if tokens[i] > 0:
            out[f"val/loss_{cat}"] = float(nll[i] / tokens[i])
            out[f"val/ppl_{cat}"] = math.exp(min(out[f"val/loss_{cat}"], 50.0))
            out[f"val/bpb_{cat}"] = float(nll[i] / math.log(2) / bytes_[i])
    if tokens.sum() > 0:
        out["val/loss"] = float(nll.sum() / tokens.sum())
        out["val/ppl"] = math.exp(min(out["val/loss"], 50.0))
        out["val/bpb"] = float(nll.sum() / math.log(2) / bytes_.sum())
    return out
