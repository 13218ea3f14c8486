"""The bounds on what training.gif's animation keeps. (A stop, and a resume from it: test_signals.py; the frames of a
run, and of a run resumed from its end: test_tensorboard.py.)"""

from backprop_by_example.log.animation import Thinned


def test_what_the_animation_keeps_is_thinned_evenly_to_its_bound():
    kept = Thinned(100)
    for step in range(10_000):
        kept.add(step)
    assert 50 <= len(kept.items) <= 100
    stride = kept.items[1]
    assert kept.items == list(range(0, 10_000, stride))  # from the first, evenly
    assert kept.last == 9_999
