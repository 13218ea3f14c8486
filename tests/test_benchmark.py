"""The benchmark's machinery (its figures are printed by scripts/benchmark.py, not asserted: machines are noisy)."""

import json

import pytest

from backprop_by_example.run.benchmark import check_benchmark
from backprop_by_example.run.errors import ConfigError


@pytest.mark.parametrize(
    "override, message",
    [
        ("sizes=[2,0]", "sizes: expected numbers of instances >= 1, got 0"),
        ("precisions=[16-mixed]", "precisions: expected 64-true or 32-true, got 16-mixed"),
        ("epochs=0", "epochs: expected a number of timed epochs >= 1, got 0"),
        ("rounds=0", "rounds: expected a number of rounds >= 1, got 0"),
        ("end_to_end_repeats=-1", "end_to_end_repeats: expected a number of runs >= 0"),
        ("crossover_widths=[4,0]", "crossover_widths: expected numbers of hidden units >= 1, got 0"),
    ],
)
def test_benchmark_settings_that_cannot_be_timed_are_refused_naming_the_key(benchmark_config, override, message):
    check_benchmark(benchmark_config())  # the defaults pass
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        check_benchmark(benchmark_config(override))


@pytest.mark.slow
def test_benchmark_script_times_numpy_torch_the_project_and_bare_lightning_for_each_setting(script, tmp_path):
    """The shape of its output, in a second: one epoch each way, for two settings (the figures themselves are the
    benchmark's to print)."""
    settings = ["sizes=[2]", "precisions=[64-true,32-true]", "epochs=1", "rounds=1", "end_to_end_repeats=0"]
    engines = ["engines=[by_hand]", "crossover_widths=[]"]  # the CPU alone, on a GPU machine too
    done = script("benchmark", tmp_path, "devices=[cpu]", *settings, *engines)
    assert done.returncode == 0, done.stderr
    assert "(c)/(b)" in done.stdout and "(c)/(d)" in done.stdout and "all/(d)" in done.stdout
    assert "\ncpu    32-true           2 by_hand  " in done.stdout
    result = json.loads((tmp_path / "benchmark.json").read_text())
    rows = result["epochs"]
    settings = [(r["device"], r["precision"], r["n"], r["engine"]) for r in rows]
    assert settings == [("cpu", precision, 2, "by_hand") for precision in ("64-true", "32-true")]
    for row in rows:
        assert row["torch_s"] > 0 and row["lightning_s"] > 0 and row["bare_lightning_s"] > 0
        assert row["lightning_over_torch"] == row["lightning_s"] / row["torch_s"]
        assert row["bare_lightning_over_torch"] == row["bare_lightning_s"] / row["torch_s"]
        assert row["lightning_over_bare_lightning"] == row["lightning_s"] / row["bare_lightning_s"]
        assert row["all_over_bare_lightning"] == row["lightning_all_s"] / row["bare_lightning_all_s"]
        assert (row["numpy_s"] is None) == (row["precision"] == "32-true")
    assert result["end_to_end"] is None and result["crossover"] == []
