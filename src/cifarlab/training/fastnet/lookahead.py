"""Lookahead weight averaging (fastnet's step 6): from a chosen step on, the weights are pulled
towards a running average of themselves, and training continues from that average."""

from __future__ import annotations

import torch


class Lookahead:
    """Every `every` steps from `start_step` on, the weights move to an exponential average of
    themselves, and training continues from that average (the lookahead idea). The decay
    grows over the run, `base**every * (step / total)**power`: little averaging early, when
    the weights must move fast, strong averaging at the end."""

    def __init__(self, start_step: int, total_steps: int, every: int = 5, base: float = 0.95, power: float = 3.0):
        self.start_step, self.total_steps, self.every = start_step, total_steps, every
        self.base, self.power = base, power
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
