"""torch.autograd.gradcheck: the LightningModule's autograd gradients against finite differences."""

import pytest
import torch
from torch.func import functional_call

import seed_printed as seed
from backprop_by_example.module import BackpropModule


class LossOf(torch.nn.Module):
    """Exposes `module.loss` as a forward, so functional_call can swap in the W and V that gradcheck perturbs."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, X, T):
        return self.module.loss(X, T)


@pytest.mark.parametrize(
    "W, V",
    [
        (seed.W, seed.V),
        ([[0.9, -0.4], [-1.7, 0.2]], [[0.3, -1.2], [2.0, 0.7]]),
    ],
    ids=["seed weights", "other weights"],
)
def test_module_loss_passes_gradcheck_in_W_and_V(W, V):
    W, V = (torch.tensor(A, dtype=torch.float64, requires_grad=True) for A in (W, V))
    X, T = torch.tensor(seed.X, dtype=torch.float64), torch.tensor(seed.T, dtype=torch.float64)
    loss = LossOf(BackpropModule(W=seed.W, V=seed.V, lr=seed.lr))

    assert torch.autograd.gradcheck(
        lambda W, V: functional_call(loss, {"module.net.W": W, "module.net.V": V}, (X, T)), (W, V)
    )
