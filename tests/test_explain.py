"""scripts/explain.py: the seed's walkthrough as JSON or tables, for the seed's weights and for any others."""

import json

import numpy as np
import pytest
from PIL import Image

import seed_printed as seed
from backprop_by_example import by_hand
from backprop_by_example.pictures.explain import instance
from backprop_by_example.run.errors import one_line_errors
from conftest import compose_config
from overrides import matrix

VECTORS = ["h_in", "h_out", "y_in", "y_out", "e", "grad_y_out", "grad_y_in", "grad_h_out", "grad_h_in", "grad_x"]


def other_problem():
    """Other data and weights, 3 instances (the walkthrough explains the third): {config key: X, T, W or V}."""
    rng = np.random.default_rng(7)
    X, T = rng.normal(size=(3, 2)).round(3), rng.uniform(size=(3, 2)).round(3)
    W, V = rng.normal(size=(2, 2)).round(3), rng.normal(size=(2, 2)).round(3)
    return {"data.X": X, "data.T": T, "model.W": W, "model.V": V}


# The walkthroughs the tests read, each through the fixture of its name: one run of scripts/explain.py each (a second
# or two: it draws seven pictures and a GIF).
WALKTHROUGHS = {
    "seed_json": ["explain.format=json"],
    "seed_tables": [],
    "other_json": ["explain.format=json", "explain.instance=3", *(matrix(k, A) for k, A in other_problem().items())],
}


def start_early(session, start_script, tmp_path_factory):
    """The walkthroughs that the session's tests read, started with it (conftest.started_early): name -> (its run
    dir, Run)."""
    used = {name for item in session.items for name in item.fixturenames}
    runs = {}
    for name in WALKTHROUGHS.keys() & used:
        run_dir = tmp_path_factory.mktemp(name)
        runs[name] = run_dir, start_script("explain", run_dir, f"hydra.run.dir={run_dir}", *WALKTHROUGHS[name])
    return runs


def walkthrough(early, name):
    """What scripts/explain.py printed for WALKTHROUGHS[name], and its run dir."""
    run_dir, run = early[name]
    assert run.wait() == 0, run.stderr
    return run.stdout, run_dir


@pytest.fixture(scope="module")
def seed_json(early):
    text, run_dir = walkthrough(early, "seed_json")
    return json.loads(text), run_dir


@pytest.fixture(scope="module")
def seed_tables(early):
    return walkthrough(early, "seed_tables")[0]


@pytest.fixture(scope="module")
def other_json(early):
    return json.loads(walkthrough(early, "other_json")[0])


def test_json_for_the_default_config_is_the_seeds_walkthrough(seed_json):
    result, _ = seed_json
    for name in VECTORS + ["grad_W", "grad_V"]:
        np.testing.assert_allclose(result[name], getattr(seed, name), rtol=1e-9, atol=0, err_msg=name)
    assert result["loss"] == pytest.approx(sum(e**2 for e in seed.e), rel=1e-9)


def test_engines_agree_in_float64_and_float32_is_off_as_in_seed_cell_12(seed_json):
    engines = seed_json[0]["engines"]
    for engine in ("by_hand", "tape", "torch_by_hand", "torch_float64"):
        np.testing.assert_allclose(engines[engine]["grad_W"], seed.grad_W, rtol=1e-9, atol=0, err_msg=engine)
        assert engines[engine]["max_rel_diff"] < 1e-9
    float32 = engines["torch_float32"]
    assert float32["grad_W"][0][0] == pytest.approx(seed.grad_w11_float32, rel=1e-4)
    assert float32["max_rel_diff"] > 0.01  # w11 and w21 are about 6% off


STAGE_FILES = [
    "stage1-forward.png", "stage2-error.png", "stage3-output_sigmoid.png", "stage4-grad_V.png",
    "stage5-grad_h_out.png", "stage6-hidden_sigmoid.png", "stage7-grad_W.png",
]  # fmt: skip


def test_the_backward_pass_is_drawn_stage_by_stage_as_pngs_and_an_animated_gif(seed_json, png_size):
    _, run_dir = seed_json
    assert sorted(path.name for path in run_dir.glob("stage*.png")) == STAGE_FILES
    for name in STAGE_FILES:
        assert png_size(run_dir / name) == (1000, 700)
    with Image.open(run_dir / "backward.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == 7 and gif.size == (1000, 700)
        assert gif.info["duration"] == 3000  # explain.seconds_per_frame


def test_the_page_to_step_through_is_written_beside_the_stage_pictures(seed_json):
    _, run_dir = seed_json
    text = (run_dir / "backprop.html").read_text()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert not list(run_dir.glob("*.part"))


def test_the_picture_is_a_png_of_10_by_6_inches_at_100_dpi(seed_json, png_size):
    _, run_dir = seed_json
    assert png_size(run_dir / "network.png") == (1000, 600)  # whole: not cropped to what was drawn, nor scaled


@pytest.mark.slow
def test_json_for_other_weights_data_and_instance_equals_the_numpy_oracle(other_json):
    X, T, W, V = other_problem().values()
    result = other_json
    expected = by_hand.backprop(X[2:], T[2:], W, V)
    for name in VECTORS:
        np.testing.assert_allclose(result[name], getattr(expected, name)[0], rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(result["grad_W"], expected.grad_W, rtol=1e-12)
    for engine in ("torch_by_hand", "torch_float64"):
        np.testing.assert_allclose(result["engines"][engine]["grad_V"], expected.grad_V, rtol=1e-12, err_msg=engine)


@pytest.mark.slow
def test_tables_show_every_seed_name_and_the_five_engines(seed_tables):
    text = seed_tables
    for name in VECTORS + ["L ", "w11", "v22", "by_hand", "tape", "torch_by_hand", "torch_float64", "torch_float32"]:
        assert name in text
    assert "-5.34381483665323e-08" in text and "-1.7812716122177433e-08" in text  # seed cell 7, as printed


def refusal(run_dir, override):
    """The line scripts/explain.py exits with where it refuses `override` before it prints anything: its check
    (explain.instance, in one_line_errors), on its config as run with hydra.run.dir=run_dir, where the pictures go."""
    into_the_run_dir = {"explain.picture": f"{run_dir}/network.png", "explain.stages": str(run_dir)}
    given = override.split("=")[0]
    cfg = compose_config("explain", [*(f"{k}={v}" for k, v in into_the_run_dir.items() if k != given), override])
    with pytest.raises(SystemExit) as stopped, one_line_errors():
        instance(cfg)
    return stopped.value.code


PICTURES = [
    ("no/such/dir/network.png", "a file in an existing directory"),
    ("network.jpg", "a file name ending in .png"),
    (".", "a file name ending in .png"),
    ("docs.png", "a file name, not a directory"),
]  # (and /proc/x.png: "a file in a directory that can be written")


@pytest.mark.parametrize("picture, expected", PICTURES)
def test_a_picture_that_cannot_be_written_is_refused_naming_explain_picture(tmp_path, capfd, picture, expected):
    (tmp_path / "docs.png").mkdir()
    said = refusal(tmp_path, f"explain.picture={tmp_path / picture}")
    assert said == f"Error: explain.picture: expected {expected}, got {tmp_path / picture}"
    assert capfd.readouterr() == ("", "")


# A GIF keeps each frame's delay in hundredths of a second, in 16 bits (the GIF89a specification)
GIF_DELAY = "a number of seconds from 0.01 to 655.35 (a GIF frame's delay)"

STAGES = [
    (
        "explain.stages={tmp}/a_file",
        "explain.stages: expected a directory for the stage pictures, got {tmp}/a_file",
    ),
    (
        "explain.stages={tmp}/no/such",
        "explain.stages: expected a directory for the stage pictures, got {tmp}/no/such",
    ),
    (
        "explain.stages=/proc/nope",
        "explain.stages: expected a directory for the stage pictures, got /proc/nope (No such file or directory)",
    ),
    ("explain.seconds_per_frame=0", f"explain.seconds_per_frame: expected {GIF_DELAY}, got 0.0"),
    ("explain.seconds_per_frame=inf", f"explain.seconds_per_frame: expected {GIF_DELAY}, got inf"),
    ("explain.seconds_per_frame=1e10", f"explain.seconds_per_frame: expected {GIF_DELAY}, got 10000000000.0"),
    ("optimizer.lr=0", "optimizer.lr: expected a finite learning rate > 0, got 0.0"),  # backprop.html's
]


def written(run_dir):
    """The pictures and pages in run_dir."""
    return [*run_dir.glob("*.png"), *run_dir.glob("*.gif"), *run_dir.glob("*.html")]


@pytest.mark.parametrize("override, expected", STAGES)
def test_stage_pictures_that_cannot_be_written_are_refused_naming_the_key(tmp_path, capfd, override, expected):
    (tmp_path / "a_file").write_text("")
    said = refusal(tmp_path, override.format(tmp=tmp_path))
    assert said == f"Error: {expected.format(tmp=tmp_path)}"
    assert capfd.readouterr() == ("", "")
    assert not written(tmp_path)


# The refusals as scripts/explain.py makes them, one of a picture and one of the stages' directory
SCRIPT_RUNS = [
    (
        "explain.picture={tmp}/no/such/dir/network.png",
        "explain.picture: expected a file in an existing directory, got {tmp}/no/such/dir/network.png",
    ),
    STAGES[2],  # /proc/nope: the directory could not be made
]


@pytest.mark.parametrize("override, expected", SCRIPT_RUNS)
def test_a_walkthrough_that_cannot_be_written_is_refused_before_anything_is_printed(
    script, tmp_path, override, expected
):
    (tmp_path / "a_file").write_text("")
    done = script("explain", tmp_path, override.format(tmp=tmp_path))
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"Error: {expected.format(tmp=tmp_path)}\n"
    assert not written(tmp_path)
