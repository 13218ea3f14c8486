"""On CUDA the seed reproduction matches the CPU run (float64). Skips where CUDA is absent."""

import numpy as np
import pytest
import torch

import seed_printed as seed
from backprop_by_example.run.training import train

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_gpu_run_matches_cpu_run_to_1e_12(config, tmp_path):
    cpu = train(config("trainer.accelerator=cpu"), tmp_path / "cpu")
    gpu = train(config("trainer.accelerator=gpu"), tmp_path / "gpu")
    assert gpu["accelerator"] == "cuda"
    for key in ("W", "V", "outputs"):
        np.testing.assert_allclose(gpu[key], cpu[key], rtol=0, atol=1e-12)
    np.testing.assert_allclose(gpu["outputs"], seed.outputs_final, rtol=0, atol=seed.DECIMALS_8)
