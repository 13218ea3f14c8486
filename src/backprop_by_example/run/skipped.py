"""The updates that float16's loss scaler skips (`trainer.precision=16-mixed` on CUDA), counted for the report.

16-mixed computes in float16 with the loss scaled up (Lightning's torch.amp.GradScaler, from 2**16). An update whose
gradients overflow (inf or nan, as the seed's first does with autograd) is skipped and the scale halved; Lightning
counts it as a step all the same.
"""

import torch
from lightning.pytorch.callbacks import Callback


class SkippedUpdates(Callback):
    """Adds each update whose gradients are not all finite to `module.steps_skipped` (on the device: no wait). A run
    has it where its precision has a loss scaler (run/training.build)."""

    def on_before_optimizer_step(self, trainer, module, optimizer):
        finite = torch.stack([torch.isfinite(p.grad).all() for p in module.parameters() if p.grad is not None])
        module.steps_skipped += ~finite.all()
