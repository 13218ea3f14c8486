"""Each instance's loss and outputs in TensorBoard (`losses/instance1 ...`, `outputs/instance1_y1 ...`), as the
training step works them out: for data sets of at most `log.max_instances` instances that every update sees whole."""

from contextlib import nullcontext

import torch

from backprop_by_example import torch_by_hand
from backprop_by_example.network import squared_error


class InstanceValues:
    """Each instance's loss, then its outputs, before each logged update (`values`), for BackpropLog's rows.

    The autograd step trains on the per-instance losses (compiled, if it is): its loss is their sum, and it returns
    them. They are the instances' when an update is one batch, the data in order, on one process: then they come from
    the step (`from_step`); else (shuffled, accumulated, shared out to DDP's processes, the by_hand engines) from an
    eager pass of the same arithmetic before the update (`eager`).
    """

    def __init__(self, trainer, module, whole, max_instances):
        self.X, self.T = (A.to(module.device) for A in (trainer.datamodule.X, trainer.datamodule.T))
        self.on = whole and len(self.T) <= max_instances
        one_batch = trainer.num_training_batches == 1 and trainer.world_size == 1 and not trainer.datamodule.shuffle
        self.from_step = self.on and one_batch and module.hparams.gradients == "autograd"
        instances, outputs = range(1, len(self.T) + 1), range(1, self.T.shape[1] + 1)
        self.tags = [f"losses/instance{i}" for i in instances] + [
            f"outputs/instance{i}_y{k}" for i in instances for k in outputs
        ]
        self.values = []  # before the update under way: [losses, Y] from the step, or [one row of both]

    def before_update(self, trainer, module):
        if self.on and not self.from_step:
            self.values = [self.eager(trainer, module)]

    def of_step(self, outputs):
        if self.from_step:
            Y, losses = outputs["outputs"]
            self.values = [losses, Y]

    def eager(self, trainer, module):
        """Each instance's loss, then its outputs, through the weights as they are now (`outputs_as_trained`)."""
        with trainer.precision_plugin.forward_context():
            Y, losses = outputs_as_trained(module, self.X, self.T)
        return torch.cat([losses, Y.flatten()]).to(module.net.W.dtype)


def outputs_as_trained(module, X, T):
    """Y and each instance's loss as the training step computes them, eagerly, without gradients; called under the
    precision's forward_context, as the step is: in autocast, but for the fused engine, which computes in the weights'
    dtype whatever the precision (torch_by_hand.without_autocast)."""
    fused = torch_by_hand.fused(module.hparams.gradients, module.hparams.compile)
    with torch.no_grad(), torch_by_hand.without_autocast(X.device) if fused else nullcontext():
        Y = module(X)
        return Y, squared_error(Y, T)
