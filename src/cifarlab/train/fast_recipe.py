"""Step-dependent parts of the fast ConvNet recipe: the whitening layer set from the first
batch, lookahead averaging and freezing the whitening bias. All are functions of the step, so
a resumed run matches an uninterrupted one."""

from __future__ import annotations

import torch

from cifarlab.train.torch_learner import StepHooks


class Lookahead:
    """Every `every` steps from `start_step` on, the weights move to an exponential average of
    themselves, and training continues from that average (the lookahead idea). The decay
    grows over the run, `base**every * (step / total)**power`: little averaging early, when
    the weights must move fast, strong averaging at the end."""

    def __init__(self, start_step: int, total_steps: int, every: int = 5, base: float = 0.95, power: float = 3.0):
        self.start_step, self.total_steps, self.every, self.base, self.power = start_step, total_steps, every, base, power
        self.average: list[torch.Tensor] | None = None

    @staticmethod
    def _tracked(model: torch.nn.Module) -> list[torch.Tensor]:
        # weights and float buffers (batch-norm running statistics) alike
        return [t for t in model.state_dict().values() if t.is_floating_point()]

    @torch.no_grad()
    def after_step(self, model: torch.nn.Module, step: int) -> None:
        """`step`: the number of steps done so far."""
        if step < self.start_step or step % self.every:
            return
        current = self._tracked(model)
        if self.average is None:
            self.average = [t.detach().clone() for t in current]
            return
        decay = self.base ** self.every * (step / self.total_steps) ** self.power
        for average, tensor in zip(self.average, current):
            average.lerp_(tensor, 1 - decay)
            tensor.copy_(average)

    @torch.no_grad()
    def settle(self, model: torch.nn.Module) -> None:
        """Put the averaged weights into the model (at epoch ends and before evaluating)."""
        if self.average is not None:
            for average, tensor in zip(self.average, self._tracked(model)):
                tensor.copy_(average)

    def state_dict(self) -> dict:
        return {"average": self.average}

    def load_state_dict(self, state: dict) -> None:
        self.average = state["average"]


class FastRecipe(StepHooks):
    """Hooks the torch learner calls around each step of a FastNet (see TorchLearner.train_step)."""

    def __init__(self, steps_per_epoch: int, total_steps: int, whiten_bias_epochs: float, lookahead_epochs: float,
                 distributed: bool = False):
        self.steps_per_epoch = max(1, steps_per_epoch)
        self.distributed = distributed
        self.whiten_bias_steps = round(whiten_bias_epochs * self.steps_per_epoch)
        self.lookahead = None
        if lookahead_epochs >= 0:
            self.lookahead = Lookahead(round(lookahead_epochs * self.steps_per_epoch), total_steps)
        self.total_steps = total_steps

    def before_step(self, model: torch.nn.Module, inputs: torch.Tensor, step: int) -> None:
        if step == 0:
            model.init_whitening(inputs)  # from the first whole, un-augmented batch
        if not self.distributed:
            # A frozen bias needs no gradient, and without it autograd skips the first block's
            # input gradient too: 3-7 % of a step on a 2-core CPU (benchmarks/step_cost.py).
            # DDP expects the same parameters to get gradients at every step, so there the
            # bias freezes by lr 0 alone.
            model.whiten.bias.requires_grad_(step < self.whiten_bias_steps)

    def lr_scale(self, group: dict, step: int) -> float:
        """Multiplier of the base learning rate for an optimiser group at 0-based `step`:
        the whitening bias learns for the first epochs only (lr 0 freezes it, also under DDP)."""
        if group.get("whitening_bias") and step >= self.whiten_bias_steps:
            return 0.0
        return group.get("lr_scale", 1.0)

    def after_step(self, model: torch.nn.Module, done: int) -> None:
        if self.lookahead is None:
            return
        self.lookahead.after_step(model, done)
        if done % self.steps_per_epoch == 0 or done == self.total_steps:
            self.lookahead.settle(model)

    def state_dict(self) -> dict:
        return self.lookahead.state_dict() if self.lookahead else {}

    def load_state_dict(self, state: dict) -> None:
        if self.lookahead and state:
            self.lookahead.load_state_dict(state)
