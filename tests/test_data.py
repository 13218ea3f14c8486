"""Beyond the seed's data: random initial weights, CSV files, mini-batches, and whole-tensor batches."""

import os
import random

import numpy as np
import pytest

import seed_printed as seed
from backprop_by_example import by_hand
from backprop_by_example.data import Instances
from backprop_by_example.run.csv_file import read_csv
from backprop_by_example.run.errors import ConfigError
from backprop_by_example.run.training import build, train
from overrides import matrix

FAST = "log.details=false"
# five instances, so that batches of 2 are 2, 2 and 1
X5 = [[3, 1], [-1, 4], [0.5, -2], [2, 2], [-3, 0.5]]
T5 = [[1, 0], [0, 1], [0.3, 0.7], [1, 1], [0, 0]]


def write_csv(path, header, rows):
    path.write_text(header + "\n" + "".join(",".join(str(v) for v in row) + "\n" for row in rows))
    return path


def initial(config, tmp_path, *overrides):
    _, module, _ = build(config("model=random", *overrides), tmp_path)
    return module.net.W.detach().numpy(), module.net.V.detach().numpy()


def test_random_init_is_seeded_in_range_and_shaped_by_the_dims(config, tmp_path):
    a_3_5_2_net = ["model.input_dim=3", "model.hidden_dim=5", "data.X=[[1,2,3]]", "data.T=[[1,0]]"]
    W, V = initial(config, tmp_path, *a_3_5_2_net)
    W_again, V_again = initial(config, tmp_path, *a_3_5_2_net)
    assert (W.shape, V.shape) == ((3, 5), (5, 2))
    assert ((0 <= W) & (W < 0.1)).all() and ((0 <= V) & (V < 0.1)).all()
    assert (W == W_again).all() and (V == V_again).all()


def test_different_seeds_draw_different_weights(config, tmp_path):
    W0, V0 = initial(config, tmp_path, "seed=0")
    W1, V1 = initial(config, tmp_path, "seed=1")
    assert not np.allclose(W0, W1) and not np.allclose(V0, V1)


def test_a_3_5_2_net_trained_from_csv_matches_the_numpy_oracle(config, tmp_path):
    rng = np.random.default_rng(3)
    X, T = rng.normal(size=(7, 3)).round(4), rng.uniform(size=(7, 2)).round(4)
    W, V = rng.normal(size=(3, 5)).round(3), rng.normal(size=(5, 2)).round(3)
    # columns in another order than x1 x2 x3 t1 t2: they are found by name
    path = write_csv(tmp_path / "data.csv", "t2,x1,x2,t1,x3", np.column_stack([T[:, 1], X[:, :2], T[:, 0], X[:, 2]]))
    overrides = [
        "data=csv", f"data.path={path}", "model.input_dim=3", "model.hidden_dim=5",
        matrix("model.W", W), matrix("model.V", V),
        "optimizer.lr=0.3", "trainer.max_epochs=40",
    ]  # fmt: skip
    summary = train(config(*overrides), tmp_path / "run")
    W_end, V_end = by_hand.train(X, T, W, V, lr=0.3, epochs=40)
    np.testing.assert_allclose(summary["W"], W_end, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(summary["V"], V_end, rtol=1e-12, atol=1e-14)


def test_mini_batches_in_data_order_match_the_oracle_doing_per_batch_summed_updates(config, tmp_path):
    data = [matrix("data.X", X5), matrix("data.T", T5)]
    summary = train(config(FAST, *data, "data.batch_size=2", "trainer.max_epochs=30"), tmp_path)
    W, V = by_hand.train(X5, T5, seed.W, seed.V, seed.lr, 30, batch_size=2)
    np.testing.assert_allclose(summary["W"], W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(summary["V"], V, rtol=1e-12, atol=1e-14)


def test_shuffled_runs_are_reproducible_by_seed_and_differ_between_seeds(config, tmp_path):
    common = [FAST, matrix("data.X", X5), matrix("data.T", T5), "trainer.max_epochs=10"]
    shuffled = [*common, "data.batch_size=2", "data.shuffle=true"]
    first = train(config(*shuffled, "seed=5"), tmp_path / "a")
    again = train(config(*shuffled, "seed=5"), tmp_path / "b")
    other = train(config(*shuffled, "seed=6"), tmp_path / "c")
    in_order = train(config(*common, "data.batch_size=2"), tmp_path / "d")
    assert first["W"] == again["W"] and first["V"] == again["V"]
    assert first["W"] != other["W"] and first["W"] != in_order["W"]


def test_two_runs_with_random_init_and_shuffled_batches_give_identical_summaries(config, tmp_path):
    overrides = [FAST, "model=random", "data.batch_size=1", "data.shuffle=true", "trainer.max_epochs=20", "seed=11"]
    first, second = (train(config(*overrides), tmp_path / name) for name in ("a", "b"))
    first.pop("fit_seconds"), second.pop("fit_seconds")
    assert first == second


def test_a_full_batch_epoch_fetches_one_batch_object_not_rows(config, tmp_path, monkeypatch):
    fetched = []
    get = Instances.__getitem__
    monkeypatch.setattr(Instances, "__getitem__", lambda self, index: fetched.append(index) or get(self, index))
    X = np.random.default_rng(0).normal(size=(1000, 2)).round(3)
    T = np.random.default_rng(1).uniform(size=(1000, 2)).round(3)
    # a file: Hydra's override parser takes seconds over 4,000 numbers
    path = write_csv(tmp_path / "data.csv", "x1,x2,t1,t2", np.column_stack([X, T]))
    train(config(FAST, "data=csv", f"data.path={path}", "trainer.max_epochs=3"), tmp_path / "run")
    assert fetched == [slice(0, 1000)] * 3  # one whole-data slice per epoch: a view, no per-row work


@pytest.mark.parametrize(
    "engine, columns",
    [([], False), (["model.gradients=by_hand"], False), (["model.gradients=by_hand", "model.compile=true"], True)],
    ids=["autograd", "by_hand", "fused"],
)
def test_the_data_is_held_by_rows_for_matrix_products_and_by_columns_for_the_fused_step(
    config, tmp_path, engine, columns
):
    _, _, data = build(config(matrix("data.X", X5), matrix("data.T", T5), *engine), tmp_path)
    for A, given in ((data.X, X5), (data.T, T5)):
        np.testing.assert_array_equal(A.numpy(), given)
        assert (A.T.is_contiguous(), A.is_contiguous()) == (columns, not columns)


CSV_ERRORS = {
    "missing file": (None, "data.path: expected a CSV file, got {path} (no such file)"),
    "empty file": ("", "data.path: {path} is empty; expected a header row like x1,x2,t1,t2 and rows of numbers"),
    "header only": ("x1,x2,t1,t2\n", "data.path: {path} has a header but no rows of numbers"),
    "a non-number": (
        "x1,x2,t1,t2\n3,1,1,0\n-1,four,0,1\n",
        "data.path: {path}, line 3: expected a number in column x2, got 'four'",
    ),
    "NaN": ("x1,x2,t1,t2\n3,1,1,0\n-1,4,nan,1\n", "data.path: {path}, line 3: expected finite numbers, got -1,4,nan,1"),
    "inf": ("x1,x2,t1,t2\n3,inf,1,0\n", "data.path: {path}, line 2: expected finite numbers, got 3,inf,1,0"),
    "a row too short": ("x1,x2,t1,t2\n3,1,1,0\n-1,4,0\n", "data.path: {path}, line 3: expected 4 values, got 3"),
    "every row wider than the header": (
        "x1,x2,t1,t2\n0,3,1,1,0\n1,-1,4,0,1\n",  # an index column: read as data, it shifted every value
        "data.path: {path}, line 2: expected 4 values, got 5",
    ),
    "a value after the last column": (
        "x1,x2,t1,t2\n3,1,1,0,99\n",
        "data.path: {path}, line 2: expected 4 values, got 5",
    ),
    "a missing cell": (
        "x1,x2,t1,t2\n3,1,1,0\n\n-1,,0,1\n",
        "data.path: {path}, line 4: expected a number in column x2, got an empty value",
    ),
    "a space inside a number": (
        "x1,x2,t1,t2\n3 4,1,1,0\n",
        "data.path: {path}, line 2: expected a number in column x1, got '3 4'",
    ),
    "a line of spaces before a bad row": (
        "x1,x2,t1,t2\n   \n3,1,1,0\n  # indented comment\n-1,4,0\n",
        "data.path: {path}, line 5: expected 4 values, got 3",
    ),
    "Latin-1, not UTF-8": (
        "x1,x2,t1,t2\n3,1,1,0\n# \u00e9t\u00e9\n".encode("latin-1"),
        "data.path: expected UTF-8 text, got {path} with byte 0xe9 at offset 22 (save it as CSV UTF-8)",
    ),
    "a binary file": (bytes(range(256)), "data.path: expected UTF-8 text, got {path} with byte 0x80 at offset 128"),
    "a number only Python reads": (
        "x1,x2,t1,t2\n3,1,1,0\n1_0,4,0,1\n",
        "data.path: {path}, line 3: expected a number in column x1, got '1_0'",
    ),
    "a form feed inside a row": (
        "x1,x2,t1,t2\n3,1,1,0\f-1,4,0,1\n",
        "data.path: {path}, line 2: expected 4 values, got 7",
    ),
    "a line after a comment": (
        "x1,x2,t1,t2\n# a comment\n3,1,1,0\n\n-1,4,0,inf\n",
        "data.path: {path}, line 5: expected finite numbers, got -1,4,0,inf",
    ),
    "columns that do not fit the dims": (
        "x1,x2,x3,t1,t2\n3,1,0,1,0\n",
        "data.path: {path} has the columns x1,x2,x3,t1,t2; expected x1,x2,t1,t2"
        " (model.input_dim = 2, model.output_dim = 2)",
    ),
}


@pytest.mark.parametrize("case", CSV_ERRORS)
def test_csv_error_names_the_file_and_the_line(tmp_path, case):
    content, message = CSV_ERRORS[case]
    path = tmp_path / "data.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as refused:
        read_csv(path, 2, 2)
    assert str(refused.value).startswith(message.format(path=path))


def test_a_directory_a_device_or_a_pipe_is_not_taken_for_a_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=f"^data.path: expected a CSV file, got {tmp_path} \\(a directory\\)$"):
        read_csv(tmp_path, 2, 2)
    with pytest.raises(ConfigError, match="^data.path: expected a CSV file, got /dev/null \\(not a regular file\\)$"):
        read_csv("/dev/null", 2, 2)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # reading it would wait for a writer for ever
    with pytest.raises(ConfigError, match="\\(not a regular file\\)$"):
        read_csv(fifo, 2, 2)


def test_the_byte_order_mark_of_excels_csv_utf_8_is_not_part_of_the_first_column(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("x1,x2,t1,t2\r\n3,1,1,0\r\n".encode("utf-8-sig"))
    X, T = read_csv(path, 2, 2)
    assert X.tolist() == [[3, 1]] and T.tolist() == [[1, 0]]


def fuzzed_csv(rng):
    """A CSV file's text with its dims, X, T, and the line and message start of its first bad row (None if none):
    a header in random column order, rows of numbers written in several ways, blank lines, comments, and
    a few rows spoilt: one value too many or too few, a missing cell, a space inside a number, inf or nan."""
    n_in, n_out = rng.randint(1, 3), rng.randint(1, 3)
    names = [f"x{i}" for i in range(1, n_in + 1)] + [f"t{k}" for k in range(1, n_out + 1)]
    order = rng.sample(range(len(names)), len(names))
    header = ",".join(names[j] for j in order)
    lines = [header + (" # the columns" if rng.random() < 0.2 else "")]
    rows, bad = [], None
    for _ in range(rng.randint(1, 7)):
        while rng.random() < 0.3:  # lines to skip: keep the line numbers honest
            lines.append(rng.choice(["", "   ", "# a comment, with, commas", "  # indented"]))
        row = [rng.randint(-9, 9) / 4 for _ in names]
        rows.append(row)
        values = [rng.choice([f"{v}", f" {v:g} ", f"{v:.3e}", f"{v:+}"]) for v in (row[j] for j in order)]
        spoil = rng.choice(["wider", "shorter", "missing", "space", "nonfinite"]) if rng.random() < 0.25 else None
        j = rng.randrange(len(values))
        expected = None
        if spoil == "wider":
            values.insert(j, "1")
            expected = f"expected {len(names)} values, got {len(names) + 1}"
        elif spoil == "shorter":
            values.pop(j)
            expected = f"expected {len(names)} values, got {len(names) - 1}"
        elif spoil == "missing":
            values[j] = rng.choice(["", "  "])
            expected = f"expected a number in column {names[order[j]]}, got an empty value"
        elif spoil == "space":
            values[j] = "3 4"
            expected = f"expected a number in column {names[order[j]]}, got '3 4'"
        elif spoil == "nonfinite":
            values[j] = rng.choice(["inf", "-inf", "nan"])
            expected = "expected finite numbers"
        line = ",".join(values) + (" # note, here" if rng.random() < 0.2 else "")
        lines.append(line)
        if expected and bad is None:
            bad = len(lines), expected
    newline = "\r\n" if rng.random() < 0.3 else "\n"
    text = ("\ufeff" if rng.random() < 0.3 else "") + newline.join(lines) + (newline if rng.random() < 0.8 else "")
    X, T = np.array(rows)[:, :n_in], np.array(rows)[:, n_in:]
    return text, (n_in, n_out), X, T, bad


def test_fuzzed_csv_files_are_read_exactly_or_refused_in_one_line_naming_the_first_bad_line(tmp_path):
    rng = random.Random(23)
    refused = 0
    for case in range(400):
        text, dims, X, T, bad = fuzzed_csv(rng)
        path = tmp_path / f"fuzzed{case}.csv"  # a new file each time: rewriting one costs ext4 a flush
        path.write_bytes(text.encode())
        if bad is None:
            X_read, T_read = read_csv(path, *dims)
            np.testing.assert_array_equal(X_read, X, err_msg=f"case {case}: {text!r}")
            np.testing.assert_array_equal(T_read, T, err_msg=f"case {case}: {text!r}")
            continue
        with pytest.raises(ConfigError) as error:
            read_csv(path, *dims)
        message, (line, expected) = str(error.value), bad
        assert message.startswith(f"data.path: {path}, line {line}: {expected}"), f"case {case}: {text!r}"
        assert len(message.splitlines()) == 1, f"case {case}: {text!r}"
        refused += 1
    assert 100 < refused < 300  # both kinds of file were tried, many times
