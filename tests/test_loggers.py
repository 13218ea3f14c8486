"""The logger from the config (conf/logger: tensorboard, csv, none, several at once, any Lightning logger by
`_target_`): every logger gets the same values at step s, the oracle's: the loss and the weights after s updates,
and the gradients that update s + 1 applies. Read back from what each wrote."""

import csv

import pytest
from lightning.pytorch.loggers import Logger
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import optimizer_oracle as oracle
import seed_printed as seed
from backprop_by_example import by_hand
from backprop_by_example.run.checks import check
from backprop_by_example.run.errors import ConfigError
from backprop_by_example.run.training import train

EPOCHS = 5
NAMES = ["w11", "w12", "w21", "w22", "v11", "v12", "v21", "v22"]


def oracle_at(step):
    """{tag: value} at `step` of Adam (lr 0.1) from the seed, full batch: loss and weights after `step` updates, and
    the gradients there."""
    W, V = oracle.adam(seed.X, seed.T, seed.W, seed.V, lr=0.1, epochs=step)
    at = by_hand.backprop(seed.X, seed.T, W, V)
    values = {"loss": (at.e**2).sum()}
    values |= dict(zip([f"weights/{n}" for n in NAMES], [*W.ravel(), *V.ravel()], strict=True))
    values |= dict(zip([f"grads/{n}" for n in NAMES], [*at.grad_W.ravel(), *at.grad_V.ravel()], strict=True))
    return values


class Recording(Logger):
    """A logger of the user's own, named by `_target_`: keeps what it gets in `ROWS`."""

    ROWS = []

    def __init__(self, label="mine"):
        super().__init__()
        self.label = label

    name = "recording"
    version = 0

    def log_metrics(self, metrics, step=None):
        self.ROWS.append((step, dict(metrics)))

    def log_hyperparams(self, params, *args, **kwargs):
        pass


@pytest.fixture(scope="module")
def run(config, tmp_path_factory):
    """`optimizer=adam` with TensorBoard, the CSV file and a logger of the user's own at once: (run dir, summary)."""
    run_dir = tmp_path_factory.mktemp("loggers")
    Recording.ROWS.clear()
    overrides = [
        "optimizer=adam", f"trainer.max_epochs={EPOCHS}", "logger=[tensorboard,csv]",
        "+logger.mine._target_=test_loggers.Recording", "+logger.mine.label=user",
    ]  # fmt: skip
    return run_dir, train(config(*overrides), run_dir)


def csv_rows(run_dir):
    with open(run_dir / "csv" / "metrics.csv", newline="") as file:
        return list(csv.DictReader(file))


def test_the_csv_file_has_one_row_per_step_with_the_oracles_numbers(run):
    run_dir, _ = run
    rows = csv_rows(run_dir)
    assert [int(row["step"]) for row in rows] == list(range(EPOCHS + 1))
    for step, row in enumerate(rows):
        expected = oracle_at(step)
        for tag, value in expected.items():
            if step == EPOCHS and tag.startswith("grads/"):
                assert row[tag] == ""  # no update follows the last
            else:
                assert float(row[tag]) == pytest.approx(value, rel=0, abs=1e-12), (step, tag)


def test_tensorboard_gets_the_oracles_numbers_as_float32(run):
    run_dir, _ = run
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    for tag, value in oracle_at(2).items():
        (event,) = [e for e in events.Scalars(tag) if e.step == 2]
        assert event.value == pytest.approx(value, rel=2**-23, abs=1e-30), tag


def test_a_logger_named_by_target_gets_the_same_rows_as_the_csv_file(run):
    run_dir, _ = run
    rows = csv_rows(run_dir)
    assert [step for step, _ in Recording.ROWS] == list(range(EPOCHS + 1))
    for (_, got), row in zip(Recording.ROWS, rows, strict=True):
        assert {tag: repr(value) for tag, value in got.items()} == {t: v for t, v in row.items() if v and t != "step"}


def test_pictures_go_to_tensorboard_and_the_run_dir_only(run):
    run_dir, _ = run
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    assert [image.step for image in events.Images("network")] == [0, EPOCHS]
    assert (run_dir / "network.png").is_file()
    assert sorted(p.name for p in (run_dir / "csv").iterdir()) == ["hparams.yaml", "metrics.csv"]


def test_csv_alone_has_no_tensorboard_dir_and_none_has_no_logs(config, tmp_path):
    train(config("trainer.max_epochs=2", "logger=csv"), tmp_path / "csv")
    train(config("trainer.max_epochs=2", "logger=none"), tmp_path / "none")
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["checkpoints", "csv", "network.png", "summary.json"]
    assert sorted(p.name for p in (tmp_path / "none").iterdir()) == ["checkpoints", "summary.json"]


BAD = {
    "a logger class that is none": (
        ["logger.tensorboard._target_=lightning.pytorch.loggers.TensorBordLogger"],
        "logger.tensorboard._target_: expected a class to import, like lightning.pytorch.loggers.CSVLogger, got "
        "lightning.pytorch.loggers.TensorBordLogger",
    ),
    "a class that is not a logger": (
        ["logger=csv", "logger.csv._target_=torch.optim.SGD"],
        "logger.csv._target_: expected a subclass of lightning.pytorch.loggers.Logger, got torch.optim.SGD",
    ),
    "a logger without a class": (
        ["+logger.mine.name=x"],
        "logger.mine._target_: expected a class to build, like lightning.pytorch.loggers.CSVLogger, got None",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_logger_is_refused_in_one_line_naming_the_key(config, case):
    overrides, message = BAD[case]
    with pytest.raises(ConfigError) as refused:
        check(config(*overrides))
    assert str(refused.value) == message


def test_an_argument_the_logger_does_not_take_is_refused_naming_it(config):
    with pytest.raises(
        ConfigError, match=r"^logger.csv.flush_every: not an argument of lightning.pytorch.loggers.CSVLogger, "
    ):
        check(config("logger=csv", "+logger.csv.flush_every=3"))


def test_mlflows_local_store_holds_the_oracles_numbers_and_the_pictures(config, tmp_path):
    """`logger=mlflow` (the optional extra "mlflow"): its file store in <run dir>/mlflow, read back with its client."""
    pytest.importorskip("mlflow", reason='the optional extra: pip install -e ".[mlflow]"')
    from mlflow.tracking import MlflowClient

    train(config("optimizer=adam", f"trainer.max_epochs={EPOCHS}", "logger=mlflow"), tmp_path)
    client = MlflowClient(tracking_uri=f"file:{tmp_path / 'mlflow'}")
    (run,) = client.search_runs([client.get_experiment_by_name("backprop_by_example").experiment_id])
    for tag, value in oracle_at(2).items():
        (metric,) = [m for m in client.get_metric_history(run.info.run_id, tag) if m.step == 2]
        assert metric.value == pytest.approx(value, rel=0, abs=1e-12), tag
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "weights/w11")]
    assert sorted(steps) == list(range(EPOCHS + 1))
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["network.png"]
