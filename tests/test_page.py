"""backprop.html and training.html in a real browser (headless Chromium, driven by playwright): the numbers the pages
show, read from the DOM, against the numpy oracle and against what TensorBoard got."""

import io
import os
import shutil

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import seed_printed as seed
from backprop_by_example import by_hand
from backprop_by_example.pictures import page as page_module
from backprop_by_example.run.training import train

CHROMIUM = "/usr/bin/chromium"
X, T, W, V, LR = [[3, 1], [-1, 4]], [[1, 0], [0, 1]], [[6, -3], [-2, 5]], [[1, -2], [0.25, 2]], 0.5
# What each stage adds, in the seed's order (the list): forward values, then the gradients as they flow back
STAGE_ADDS = {
    1: {"x", "h_in", "h_out", "y_in", "y_out", "t"}, 2: {"e", "grad_y_out"}, 3: {"grad_y_in"}, 4: {"grad_v"},
    5: {"grad_h_out"}, 6: {"grad_h_in"}, 7: {"grad_w", "grad_x"},
}  # fmt: skip


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module; without one, the tests skip (and fail under CI=true)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not shutil.which(CHROMIUM):
        message = "no browser: apt-get install -y chromium, and pip install -e '.[dev]' (playwright)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true, and the browser tests cannot run: {message}")
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser):
    """open_page(path) -> a 1280x800 tab on file://path. Every request the page makes is intercepted; after the test,
    none may have been made (but the file's own), and the console may show no error."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    requests, errors, own = [], [], []

    def intercept(route):
        if route.request.url not in own:
            requests.append(route.request.url)
            return route.abort()
        return route.continue_()

    context.route("**/*", intercept)

    def opened(path):
        own.append(path.as_uri())
        tab = context.new_page()
        tab.on("request", lambda request: request.url in own or requests.append(request.url))
        tab.on("console", lambda message: message.type == "error" and errors.append(message.text))
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.goto(path.as_uri())
        return tab

    yield opened
    context.close()
    assert requests == [], "the page made requests"
    assert errors == [], "the console shows errors"


def explain_html(tmp_path, x, t, W, V, X=None, T=None, name="backprop.html"):
    X, T = np.asarray(X if X is not None else [x], float), np.asarray(T if T is not None else [t], float)
    path = tmp_path / name
    page_module.write(path, page_module.explain_page(x, t, W, V, X, T, LR, 1, "Instance 1"))
    return path


def oracle(x, t, W, V):
    """{name: value} of every quantity of the pass, by_hand's, under the seed's names (x1, h2_in, grad_v21, ...)."""
    p = by_hand.backprop([x], [t], W, V)
    values = {f"x{i + 1}": v for i, v in enumerate(x)} | {f"t{k + 1}": v for k, v in enumerate(t)}
    for q in ("h_in", "h_out", "y_in", "y_out", "grad_y_out", "grad_y_in", "grad_h_out", "grad_h_in", "grad_x", "e"):
        letter = q.removeprefix("grad_")[0]  # the unit's layer: h_in -> h, grad_y_out -> y, e -> e
        for n, v in enumerate(getattr(p, q)[0], start=1):
            values[q.replace(letter, f"{letter}{n}", 1)] = v
    for letter, A, G in (("w", W, p.grad_W), ("v", V, p.grad_V)):
        for (i, j), v in np.ndenumerate(np.asarray(A, float)):
            values[f"{letter}{i + 1}{j + 1}"], values[f"grad_{letter}{i + 1}{j + 1}"] = v, G[i, j]
    return values


def kind(name):
    """The quantity a shown name belongs to: h2_in -> h_in, grad_v21 -> grad_v, x1 -> x, w12 -> w."""
    if name.startswith("grad_") and name[5] in "wv":
        return name[:6]
    return "".join(c for c in name if not c.isdigit())


def shown(tab, where="#net"):
    """{name: value} of every number in `where`, from its data-value (its full digits); and the highlighted names."""
    items = tab.eval_on_selector_all(
        f"{where} [data-name]", "els => els.map(e => [e.dataset.name, e.dataset.value, e.classList.contains('new')])"
    )
    return {name: float(value) for name, value, _ in items}, {name for name, _, new in items if new}


def assert_equal_to_oracle(values, expected):
    for name, value in values.items():
        assert abs(value - expected[name]) <= 1e-12 * max(1, abs(expected[name])), name


def test_every_stage_shows_what_is_known_so_far_highlights_what_it_added_and_equals_by_hand(open_page, tmp_path):
    tab = open_page(explain_html(tmp_path, X[0], T[0], W, V, X, T))
    expected = oracle(X[0], T[0], W, V)
    for stage in range(1, 8):
        tab.click(f"#stage-{stage}")
        values, highlighted = shown(tab)
        known = set().union(*(STAGE_ADDS[n] for n in range(1, stage + 1))) | {"w", "v"}
        assert {kind(name) for name in values} == known, stage
        assert {kind(name) for name in highlighted} == STAGE_ADDS[stage], stage
        assert_equal_to_oracle(values, expected)
        worked, _ = shown(tab, "#stage-text")
        assert worked, stage
        assert_equal_to_oracle(worked, expected)


def test_the_arrow_keys_and_buttons_move_between_stages(open_page, tmp_path):
    tab = open_page(explain_html(tmp_path, X[0], T[0], W, V, X, T))
    tab.keyboard.press("ArrowRight")
    tab.keyboard.press("ArrowRight")
    assert tab.inner_text("#stage-number") == "3"
    tab.keyboard.press("ArrowLeft")
    tab.click("#next")
    tab.click("#next")
    assert tab.inner_text("#stage-number") == "4"


def test_a_random_3_4_2_net_equals_by_hand(open_page, tmp_path):
    rng = np.random.default_rng(20)
    x, t, W3, V3 = rng.normal(size=3).tolist(), rng.random(2).tolist(), rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    tab = open_page(explain_html(tmp_path, x, t, W3.tolist(), V3.tolist()))
    tab.click("#stage-7")
    values, _ = shown(tab)
    assert len(values) == 3 * 2 + 4 * 4 + 2 * 6 + 2 * (12 + 8)  # x, h, y with their gradients, every edge twice
    assert_equal_to_oracle(values, oracle(x, t, W3, V3))


def test_a_weight_typed_into_the_page_recomputes_the_pass(open_page, tmp_path):
    tab = open_page(explain_html(tmp_path, X[0], T[0], W, V, X, T))
    tab.click("#stage-7")
    tab.fill("#edit-w12", "")
    tab.locator("#edit-w12").press_sequentially("-2.5")
    values, _ = shown(tab)
    assert values["w12"] == -2.5
    assert_equal_to_oracle(values, oracle(X[0], T[0], [[6, -2.5], [-2, 5]], V))


def weights_in(tab, letter, rows, cols):
    return [[float(tab.input_value(f"#edit-{letter}{i + 1}{j + 1}")) for j in range(cols)] for i in range(rows)]


def test_one_sgd_step_in_the_page_is_by_hands_and_the_seeds_cell_24(open_page, tmp_path):
    tab = open_page(explain_html(tmp_path, X[0], T[0], W, V, X, T))
    tab.click("#step-all")
    W1, V1 = by_hand.train(X, T, W, V, LR, epochs=1)
    np.testing.assert_allclose(weights_in(tab, "w", 2, 2), W1, rtol=1e-12, atol=0)
    np.testing.assert_allclose(weights_in(tab, "v", 2, 2), V1, rtol=1e-12, atol=0)
    np.testing.assert_allclose(weights_in(tab, "w", 2, 2), seed.W_after_step, atol=5e-9)  # the printed digits
    loss = float(tab.get_attribute("#loss-total", "data-value"))
    assert loss == pytest.approx(by_hand.backprop(X, T, W1, V1).loss.sum(), rel=1e-12)
    tab.click("#reset")
    tab.click("#step-instance")
    W1, V1 = by_hand.train(X[:1], T[:1], W, V, LR, epochs=1)
    np.testing.assert_allclose(weights_in(tab, "v", 2, 2), V1, rtol=1e-12, atol=0)


def test_201_full_batch_steps_in_the_page_give_the_seeds_printed_weights_and_reset_goes_back(open_page, tmp_path):
    tab = open_page(explain_html(tmp_path, X[0], T[0], W, V, X, T))
    tab.fill("#train-steps", "201")
    tab.click("#train")
    np.testing.assert_allclose(weights_in(tab, "w", 2, 2), seed.W_final, atol=5e-9)
    np.testing.assert_allclose(weights_in(tab, "v", 2, 2), seed.V_final, atol=5e-9)
    assert tab.locator("#curve-svg polyline").count() == 1
    tab.click("#reset")
    assert weights_in(tab, "w", 2, 2) == W and weights_in(tab, "v", 2, 2) == V


def assert_screenshot_is_not_blank_and_the_drawing_fits(tab):
    image = np.asarray(Image.open(io.BytesIO(tab.screenshot())).convert("L"))
    assert image.shape == (800, 1280) and (image < 128).mean() > 0.01  # some dark ink: text, lines
    box = tab.locator("#net").bounding_box()
    assert box["width"] > 300 and box["x"] >= 0 and box["y"] >= 0
    assert box["x"] + box["width"] <= 1280 and box["y"] + box["height"] <= 800


def test_the_explain_page_at_1280x800_is_not_blank_and_its_drawing_fits(open_page, tmp_path):
    assert_screenshot_is_not_blank_and_the_drawing_fits(open_page(explain_html(tmp_path, X[0], T[0], W, V, X, T)))


def test_layers_too_wide_to_draw_are_left_out_and_the_page_says_so(open_page, tmp_path):
    tab = open_page(explain_html(tmp_path, [1.0, 2.0], [1.0], np.ones((2, 17)).tolist(), np.ones((17, 1)).tolist()))
    assert "wider than 16" in tab.inner_text("#left-out")
    worked, _ = shown(tab, "#stage-text")
    assert worked["h1_in"] == 3.0


def test_a_page_that_cannot_be_renamed_into_place_leaves_no_part_file(tmp_path):
    (tmp_path / "backprop.html").mkdir()
    with pytest.raises(OSError):
        page_module.write(tmp_path / "backprop.html", "<html></html>")
    assert [p.name for p in tmp_path.iterdir()] == ["backprop.html"]


# --- training.html ---


@pytest.fixture(scope="module")
def seed_run(config, tmp_path_factory):
    """The default run (201 updates) with log.page=true, and what TensorBoard got."""
    run_dir = tmp_path_factory.mktemp("page-run")
    train(config("log.page=true"), run_dir)
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    return run_dir, events


def test_the_default_runs_training_page_is_at_most_300_kB(seed_run):
    assert (seed_run[0] / "training.html").stat().st_size <= 300_000


@pytest.mark.parametrize("step", [0, 100, 201])
def test_the_training_page_at_update_s_shows_what_tensorboard_got_at_step_s(open_page, seed_run, step):
    """TensorBoard keeps float32s: the page's numbers, read as float32, are TensorBoard's."""
    run_dir, events = seed_run
    tab = open_page(run_dir / "training.html")
    tab.fill("#slider", str(step))  # every update kept: the slider's position is the step
    assert tab.get_attribute("#step", "data-value") == str(step)
    values = {name: np.float32(value) for name, value in shown(tab)[0].items()}
    logged = {tag: {e.step: np.float32(e.value) for e in events.Scalars(tag)} for tag in events.Tags()["scalars"]}
    names = ["w11", "w12", "w21", "w22", "v11", "v12", "v21", "v22"]
    for name in names:
        assert values[name] == logged[f"weights/{name}"][step], name
        if step in logged[f"grads/{name}"]:
            assert values[f"grad_{name}"] == logged[f"grads/{name}"][step], name
        else:  # after the last update: no gradient
            assert f"grad_{name}" not in values and step == 201
    loss, _ = shown(tab, "#values")
    assert np.float32(loss["loss"]) == logged["loss"][step]
    if step == 0:
        assert_screenshot_is_not_blank_and_the_drawing_fits(tab)


def test_a_data_set_too_large_for_per_instance_values_gets_a_page_that_says_so(open_page, config, tmp_path):
    train(config("log.page=true", "log.max_instances=1", "trainer.max_epochs=2"), tmp_path)
    tab = open_page(tmp_path / "training.html")
    assert "more than log.max_instances = 1" in tab.inner_text("#left-out")


def test_ten_thousand_updates_make_a_page_under_3_MB_that_keeps_the_last_and_says_it_thinned(tmp_path):
    from backprop_by_example.log.page import TrainingPage

    tags = ["loss"] + [f"{kind}/{n}" for kind in ("weights", "grads") for n in ("w11", "w12", "w21", "w22")] * 2
    training_page, rng = TrainingPage(tmp_path, np.zeros((2, 2)), np.zeros((2, 2)), 16), np.random.default_rng(0)
    training_page.dims = [2, 2, 2]
    for start in range(0, 10_000, 20):  # as BackpropLog hands them over
        training_page.add_rows(tags, [(s, rng.normal(size=len(tags)).tolist()) for s in range(start, start + 20)])
    training_page.add_last(tags, 10_000, {"loss": 0.5})
    training_page.on_train_end(type("Trainer", (), {"is_global_zero": True})(), None)
    text = (tmp_path / "training.html").read_text()
    assert len(text.encode()) < 3_000_000
    assert "10001 logged" in text and ",10000]" in text  # the steps: the last one kept


def test_a_training_page_that_cannot_be_written_is_one_line_and_no_summary(run_train, tmp_path):
    (tmp_path / "training.html").mkdir()
    done, summary = run_train(tmp_path, "log.page=true", "trainer.max_epochs=2")
    assert (done.returncode, summary) == (1, None)
    assert done.stderr.splitlines()[-1] == f"Error: could not write {tmp_path / 'training.html'}: Is a directory"
    assert "Traceback" not in done.stderr
