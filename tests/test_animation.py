"""training.gif across a resume, and the bounds on what the animation keeps. (A stop, and a resume from it:
test_signals.py; the frames of one run: test_tensorboard.py.)"""

import torch
from PIL import Image

from backprop_by_example.animation import Thinned
from backprop_by_example.training import train


def test_a_run_resumed_from_its_end_has_one_loss_point_per_update_and_its_pictures(config, tmp_path):
    """4 epochs, then 2 more: the loss after update 4 is the first run's last point and the resumed run's first;
    the pictures are those of epoch 0 and after the last update (the first run's last is not one of them)."""
    train(config("log.details=false", "log.animation=true", "trainer.max_epochs=4"), tmp_path / "first")
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    train(config("log.details=false", "log.animation=true", "trainer.max_epochs=6", f"ckpt_path={last}"), tmp_path)
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert [step for step, _ in checkpoint["animation"]["curve"]["items"]] == [0, 1, 2, 3, 4, 5, 6]
    with Image.open(tmp_path / "training.gif") as gif:
        assert gif.n_frames == 2


def test_what_the_animation_keeps_is_thinned_evenly_to_its_bound():
    kept = Thinned(100)
    for step in range(10_000):
        kept.add(step)
    assert 50 <= len(kept.items) <= 100
    stride = kept.items[1]
    assert kept.items == list(range(0, 10_000, stride))  # from the first, evenly
    assert kept.last == 9_999
