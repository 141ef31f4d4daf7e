"""The optimiser of a run: AdamW, or Muon on the decoder's hidden matrices with AdamW on the rest.

Muon (torch.optim.Muon: momentum, then the update orthogonalised by Newton-Schulz) trains the 2-D weights of
the attention and MLP blocks; embeddings, the output head and the norm gains stay on AdamW, as Muon's authors
prescribe. Its "match_rms_adamw" scaling gives its updates AdamW's size, so one learning rate and schedule
serve both. Lightning's automatic optimisation drives one optimiser, so `Combined` steps both as one: its
param_groups are the inner optimisers' own group dicts (the LR scheduler's changes reach them), and its state
dict is theirs, so a run resumes with both.

`embed_lr` gives the input embedding its own AdamW rate (the schedule scales it like the others; a tied head
shares the tensor, so it gets that rate too): a row is trained only by the tokens it embeds, so at one shared rate
the embedding learns slowest; in the demo's 5-minute run, 10x the model's rate gained more than any other change
of the third round (README).
"""
from __future__ import annotations

import torch

from trainers.errors import TrainerError

OPTIMIZERS = ("adamw", "muon")


class Combined(torch.optim.Optimizer):
    """Several optimisers over disjoint parameters, stepped as one."""

    def __init__(self, optimizers: list[torch.optim.Optimizer]):
        self.optimizers = optimizers
        super().__init__([p for o in optimizers for g in o.param_groups for p in g["params"]], {})
        self.param_groups = [g for o in optimizers for g in o.param_groups]

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for o in self.optimizers:
            o.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        for o in self.optimizers:
            o.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict:
        return {"optimizers": [o.state_dict() for o in self.optimizers]}

    def load_state_dict(self, state_dict: dict) -> None:
        inner = state_dict.get("optimizers")
        if inner is None or len(inner) != len(self.optimizers):
            raise TrainerError("the checkpoint's optimiser state is not this run's optimiser (model.optimizer changed?)")
        for o, s in zip(self.optimizers, inner):
            o.load_state_dict(s)
        # loading replaces an optimiser's group dicts: share the new ones, or the scheduler would set stale ones
        self.param_groups = [g for o in self.optimizers for g in o.param_groups]


def is_hidden_matrix(name: str, p: torch.nn.Parameter) -> bool:
    """A 2-D weight inside a decoder layer (attention or MLP): what Muon trains. Embeddings and the output head
    are excluded by name, so a tied or untied head is treated alike."""
    return p.ndim == 2 and ".layers." in f".{name}" and "embed" not in name and "lm_head" not in name


def build_optimizer(kind: str, named_params: list[tuple[str, torch.nn.Parameter]], lr: float,
                    weight_decay: float, betas: tuple[float, float], on_gpu: bool,
                    muon_lr: float | None = None, embed_lr: float | None = None) -> torch.optim.Optimizer:
    if kind not in OPTIMIZERS:
        raise TrainerError(f"model.optimizer {kind!r}: must be one of {', '.join(OPTIMIZERS)}")
    kernel = {"fused": True} if on_gpu else {"foreach": True}  # one fused kernel on a GPU; a few batched ops elsewhere
    hidden = [p for n, p in named_params if kind == "muon" and is_hidden_matrix(n, p)]
    taken = {id(p) for p in hidden}
    rest = [p for _, p in named_params if id(p) not in taken]
    embedding = {id(p) for n, p in named_params if "embed_tokens" in n}
    decay = [p for p in rest if p.ndim >= 2 and id(p) not in embedding]
    embed = [p for p in rest if id(p) in embedding]
    no_decay = [p for p in rest if p.ndim < 2]  # norms and biases
    groups = [g for g in ({"params": decay, "weight_decay": weight_decay},
                          {"params": embed, "weight_decay": weight_decay, "lr": embed_lr or lr},
                          {"params": no_decay, "weight_decay": 0.0}) if g["params"]]
    adamw = torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), **kernel)
    if not hidden:
        return adamw
    muon = torch.optim.Muon(hidden, lr=muon_lr or lr, weight_decay=weight_decay, adjust_lr_fn="match_rms_adamw")
    return Combined([muon, adamw])
