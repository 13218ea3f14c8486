import copy
import functools
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from backprop_by_example.run.schema import register

register()  # the structured configs and ${pid:}, as the scripts do

ROOT = Path(__file__).resolve().parents[1]
QUIET = ["trainer.enable_progress_bar=false", "trainer.enable_model_summary=false"]
OVERRIDES = OverridesParser.create()
GROUPS = [path.name for path in (ROOT / "conf").iterdir() if path.is_dir()]
CHOICE = re.compile(rf"hydra\b|({'|'.join(GROUPS)})(/|$)")  # an override Hydra composes: a group's, or of its own
VALUES = str | int | float | bool | list | dict | None  # what an override that sets one value gives

# The devices a claim is checked on. A test about the training's arithmetic takes `device` and runs on each (CUDA
# where there is a GPU); every other test runs on the CPU, as conf/trainer/default.yaml says, on a GPU machine too.
DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU"))]


def on(device):
    """The override that trains on `device` (cpu or cuda): trainer.accelerator=cpu or =gpu."""
    return f"trainer.accelerator={'gpu' if device == 'cuda' else 'cpu'}"


@pytest.fixture(params=DEVICES)
def device(request):
    """The override that trains on this device: trainer.accelerator=cpu or =gpu."""
    return on(request.param)


def compose_config(name, overrides):
    """conf/<name>.yaml composed with command-line style overrides, as scripts/<name>.py sees it."""
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(name, overrides=list(overrides))


@functools.cache
def composed(name, overrides):
    """compose_config, in less time: Hydra composes each choice of config groups (optimizer=adam, logger=csv) once a
    session (a tenth of a second each time, most of it loading YAML files), and the values are set on a copy of that
    as Hydra sets them (its `_apply_overrides_to_config`: OmegaConf.update, merged; `+` adds a key, `++` adds or
    sets one). What that does not take (a key to delete, a sweep, a value the schema refuses, `+` on a key that is
    there) is composed by Hydra itself, which gives its own error. test_hydra.py checks that both give one config."""
    parsed = OVERRIDES.parse_overrides(list(overrides))
    values = [o for o in parsed if not CHOICE.match(o.key_or_group)]
    cfg = copy.deepcopy(composed_by_hydra(name, tuple(o.input_line for o in parsed if o not in values)))
    try:
        for override in values:
            key, value, adds = override.key_or_group, override.value(), override.is_add() or override.is_force_add()
            if override.is_delete() or override.package or not isinstance(value, VALUES):
                raise ValueError(override.input_line)
            if override.is_add() and OmegaConf.select(cfg, key) is not None and not isinstance(value, dict | list):
                raise ValueError(override.input_line)
            OmegaConf.update(cfg, key, value, merge=True, force_add=adds)
    except Exception:
        return compose_config(name, overrides)
    return cfg


@functools.cache
def composed_by_hydra(name, overrides):
    """compose_config, once a session for the same overrides."""
    return compose_config(name, overrides)


@pytest.fixture(scope="session")
def config():
    """config(*overrides): the config of scripts/train.py, without its progress bar and model summary."""
    return lambda *overrides: copy.deepcopy(composed("train", (*QUIET, *overrides)))  # each caller's own


@pytest.fixture(scope="session")
def benchmark_config():
    """benchmark_config(*overrides): the config of scripts/benchmark.py."""
    return lambda *overrides: copy.deepcopy(composed("benchmark", overrides))


class Run:
    """`python scripts/<name>.py args` started in `cwd`: pid, poll, wait, send_signal and returncode as a Popen;
    stdout and stderr, the text it wrote (into files in `streams`), once it has ended. Started by a ForkServer."""

    def __init__(self, server, streams, name, args, cwd, env=None, file_size_limit=None, fresh=False):
        script = ROOT / "scripts" / f"{name}.py" if isinstance(name, str) else name  # or a Path of another
        self.server, self.args, self.returncode = server, [str(script.relative_to(ROOT)), *args], None
        self.files = {
            s: Path(tempfile.mkstemp(prefix=f"{script.stem}-{s}-", dir=streams)[1]) for s in ("stdout", "stderr")
        }
        request = {
            "script": str(script), "args": list(args), "cwd": str(cwd), "env": env or {},
            "file_size_limit": file_size_limit, "fresh": fresh,
            **{stream: str(path) for stream, path in self.files.items()},
        }  # fmt: skip
        self.pid = server.ask(start=request)["pid"]

    def poll(self):
        return self.wait(timeout=0)

    def wait(self, timeout=300):
        """The exit status once it has ended, None if it runs on after `timeout` seconds (0: a poll). Asked in
        slices of a quarter of a second: the server answers one request at a time, to the tests' threads too."""
        deadline = time.monotonic() + timeout
        while self.returncode is None:
            left = max(0.0, deadline - time.monotonic())
            self.returncode = self.server.ask(wait=self.pid, timeout=min(left, 0.25))["status"]
            if self.returncode is None and not left:
                if timeout:
                    self.send_signal(signal.SIGKILL)
                    self.server.ask(wait=self.pid, timeout=60)
                    raise subprocess.TimeoutExpired(self.args, timeout)
                break
        return self.returncode

    def send_signal(self, signum):
        os.kill(self.pid, signum)

    def send_signal_to_group(self, signum):
        """As a terminal sends Ctrl-C: to the process and every process it started."""
        os.killpg(self.pid, signum)

    @property
    def stdout(self):
        return self.files["stdout"].read_text()

    @property
    def stderr(self):
        return self.files["stderr"].read_text()


class ForkServer:
    """tests/forkserver.py: scripts run as processes forked from one that has imported the libraries once."""

    def __init__(self):
        command = [sys.executable, str(ROOT / "tests" / "forkserver.py")]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.asked, self.turn = False, threading.Lock()  # a request and its answer at a time

    def ask(self, **request):
        with self.turn:
            self.asked = True
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            return json.loads(self.process.stdout.readline())

    def close(self):
        if not self.asked:  # no test started a script: not worth waiting for its imports
            self.process.kill()
        self.process.stdin.close()
        self.process.wait(timeout=60)


SERVER = pytest.StashKey[ForkServer]()


def pytest_sessionstart(session):
    """The fork server is started with the session: its imports (seconds) run beside pytest's collection."""
    if not session.config.option.collectonly:
        session.stash[SERVER] = ForkServer()


def pytest_collection_modifyitems(items):
    """The modules whose tests all run in this process first, those with slow tests (scripts, as processes) after:
    the runs that the modules start as the session begins (`started_early`) run beside the first, and the second
    seldom wait for them. A module's tests stay together, in their order."""
    slow = {item.module for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.module in slow)


def pytest_sessionfinish(session):
    TRAIN_EACH.added.set()  # where no test started the runs
    TRAIN_EACH.finish()
    STARTER.shutdown(wait=False, cancel_futures=True)
    LANE.shutdown(wait=False, cancel_futures=True)
    if SERVER in session.stash:
        session.stash[SERVER].close()


@pytest.fixture(scope="session")
def start_script(request, tmp_path_factory):
    """start_script(name, cwd, *args, env=None, file_size_limit=None, fresh=False): `python scripts/<name>.py args`
    started in cwd -> Run. file_size_limit: no file it writes can grow beyond that many bytes (ulimit -f). fresh: in
    an interpreter that has imported the libraries but not this project's package. What the runs write to stdout and
    stderr goes into pytest's temporary directory, which pytest clears of all but its last few."""
    server, streams = request.session.stash[SERVER], tmp_path_factory.mktemp("streams")
    return lambda name, cwd, *args, **options: Run(server, streams, name, args, cwd, **options)


@pytest.fixture(scope="session", autouse=True)
def started_early(request, start_script, tmp_path_factory):
    """Future of {module name: what its `start_early(session, start_script, tmp_path_factory)` started as the session
    began}, for each test module that has one and a test in the session. Runs that take seconds of other processes'
    time (their imports, mostly) start there, beside the tests before their module's, which use one core of two.
    Started by a thread of its own: the first start waits for the fork server's imports (seconds), which the tests
    that run in this process (the first, see pytest_collection_modifyitems) need not wait for."""
    modules = dict.fromkeys(item.module for item in request.session.items if hasattr(item, "module"))

    def start():
        TRAIN_EACH.start(start_script, tmp_path_factory)  # first in the LANE, once the modules have added their runs
        try:
            return {
                module.__name__: module.start_early(request.session, start_script, tmp_path_factory)
                for module in modules
                if hasattr(module, "start_early")
            }
        finally:
            TRAIN_EACH.added.set()

    return STARTER.submit(start)


@pytest.fixture(scope="module")
def early(request, started_early):
    """What this test's module started as the session began (its `start_early`)."""
    return started_early.result(timeout=300)[request.module.__name__]


STARTER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="start_early")
# The runs started early that are best not run side by side (each compiles, or starts processes of its own), or that
# wait on more than their end (a checkpoint, to send Ctrl-C): run by one thread, one after the other, in the order the
# modules submit them. LANE.submit(job) -> Future of what the job returns.
LANE = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lane")


class TrainEach:
    """The runs of every module's `train_each`, gathered as the session starts and trained by one process
    (tests/train_each.py) in the LANE, once every module's `start_early` has added its own: torch.compile's machinery
    is imported and set up once (seconds), and the kernels of a graph two runs share are built once."""

    def __init__(self):
        self.runs, self.ended = [], Future()  # [run dir, overrides] pairs; the Run of the process, once it has ended
        self.added = threading.Event()  # set once every module's start_early has added its runs

    def add(self, tmp_path_factory, runs):
        root = tmp_path_factory.mktemp("train_each")
        dirs = {key: root / str(n) for n, key in enumerate(runs)}
        self.runs += [[str(dirs[key]), [*QUIET, *runs[key]]] for key in runs]
        return {key: (dirs[key], self.ended) for key in runs}

    def start(self, start_script, tmp_path_factory):
        """The process, submitted to the LANE (the first job there: its runs compile, tens of seconds where nothing is
        cached), started once the modules have added their runs, if they added any."""

        def job():
            self.added.wait()
            if not self.runs:
                return
            try:
                root = tmp_path_factory.mktemp("train_each")
                (root / "runs.json").write_text(json.dumps(self.runs))
                run = start_script(ROOT / "tests" / "train_each.py", root, str(root / "runs.json"))
                run.wait(timeout=900)
                self.ended.set_result(run)
            except BaseException as error:
                self.ended.set_exception(error)

        LANE.submit(job)

    def finish(self):
        """At the session's end: where the process has trained its last run, it is let end (its exit, a second) rather
        than be killed with the runs nobody waited for, so that its time counts in the session's, as a child's."""
        if self.runs and Path(f"{self.runs[-1][0]}.ended").exists():
            wait([self.ended], timeout=60)


TRAIN_EACH = TrainEach()


def train_each(start_script, tmp_path_factory, runs):
    """`runs`, {key: overrides}, trained by the one process that trains every module's (TrainEach; as `train` trains
    in the tests' own) in the LANE: for runs that compile, which import torch.compile's machinery (seconds) and
    compile (seconds each, ten and more where nothing is cached yet), beside the tests (train_each.py says how it
    compiles). Called from a module's `start_early`. -> {key: (run dir, Future of the process, once it has ended)}."""
    return TRAIN_EACH.add(tmp_path_factory, runs)


def summary_of(run_dir, ended):
    """The summary.json of a run of `train_each`, once it is trained (the process writes <run dir>.ended then), or
    once the process has ended."""
    marker = run_dir.with_name(f"{run_dir.name}.ended")
    deadline = time.monotonic() + 900
    while not marker.exists() and not ended.done() and time.monotonic() < deadline:
        time.sleep(0.1)
    if not (run_dir / "summary.json").is_file():  # it failed: the process's stderr says why
        run = ended.result(timeout=max(1.0, deadline - time.monotonic()))
        assert (run_dir / "summary.json").is_file(), run.stderr
    return json.loads((run_dir / "summary.json").read_text())


@pytest.fixture(scope="session")
def script(start_script):
    """script(name, run_dir, *overrides): `python scripts/<name>.py` from the repo root, run to its end -> Run."""

    def run(name, run_dir, *overrides, env=None):
        done = start_script(name, ROOT, f"hydra.run.dir={run_dir}", *overrides, env=env)
        done.wait()
        return done

    return run


@pytest.fixture(scope="session")
def start_train(start_script):
    """start_train(cwd, *overrides): scripts/train.py started in cwd without progress bar and summary -> Run."""
    return lambda cwd, *overrides, **options: start_script("train", cwd, *overrides, *QUIET, **options)


@pytest.fixture(scope="session")
def default_run(script, tmp_path_factory):
    """`python scripts/train.py` as a user runs it (progress bar and model summary on), to its end -> (Run, run
    dir). Read by several tests."""
    run_dir = tmp_path_factory.mktemp("default_run")
    return script("train", run_dir), run_dir


@pytest.fixture
def run_train(script):
    """run_train(run_dir, *overrides): scripts/train.py -> (Run, summary.json or None)."""

    def run(run_dir, *overrides, env=None):
        done = script("train", run_dir, *QUIET, *overrides, env=env)
        summary_file = run_dir / "summary.json"
        return done, json.loads(summary_file.read_text()) if summary_file.exists() else None

    return run


def session_items(session, test):
    """The items of the test function named `test` that this session runs (what -k, -m and the like left, less the
    cases a skipif skips here): for a fixture that starts the runs of several tests together, to start only those
    that are read."""
    skipped = lambda item: any(mark.args and mark.args[0] for mark in item.iter_markers("skipif"))  # noqa: E731
    return [item for item in session.items if getattr(item, "originalname", None) == test and not skipped(item)]


@pytest.fixture(scope="session")
def png_size():
    """png_size(path): (width, height) of a PNG file, after checking its signature."""

    def size(path):
        data = Path(path).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
        return struct.unpack(">II", data[16:24])

    return size
