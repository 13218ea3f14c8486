"""The benchmark's machinery (its figures are printed by scripts/benchmark.py, not asserted: machines are noisy)."""

from backprop_by_example.benchmark import epoch_table


def test_epoch_table_times_numpy_torch_and_lightning_for_each_setting(config):
    rows = epoch_table(config, sizes=[2, 100], precisions=["64-true", "32-true"], devices=["cpu"], epochs=3)
    assert [(r["precision"], r["n"]) for r in rows] == [
        ("64-true", 2),
        ("64-true", 100),
        ("32-true", 2),
        ("32-true", 100),
    ]
    for row in rows:
        assert row["torch_s"] > 0 and row["lightning_s"] > 0
        assert row["lightning_over_torch"] == row["lightning_s"] / row["torch_s"]
        assert (row["numpy_s"] is None) == (row["precision"] == "32-true")
