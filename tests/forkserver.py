"""Runs `python scripts/<name>.py ...` as real processes, forked from one that has already imported the libraries.

A fresh `python scripts/train.py` spends seconds importing torch, Lightning, Hydra and TensorBoard before it reads
its first override; the suite starts dozens. This server imports them once; each run is a child forked from it,
after the imports and before anything else: from there on the same as a fresh process (its own pid, signals,
exit status, stdout and stderr), started in a fraction of a second. It uses no tensor before forking, so no
thread pool is copied into the children half-started.

Protocol, one JSON object per line: {"start": {...}} -> {"pid": N}; {"wait": N, "timeout": T} -> {"status": S}
(S as in subprocess, negative: killed by that signal; None: still running after T seconds, T = 0: a poll).
When the requests end, so do the runs nobody waited for to their end.
"""

import atexit
import json
import os
import resource
import runpy
import signal
import sys
import time

os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"  # asking whether there is a GPU must not start CUDA here

import hydra  # noqa: E402, F401
import lightning  # noqa: E402, F401
import matplotlib.figure  # noqa: E402, F401
import numpy  # noqa: E402, F401
import tensorboard  # noqa: E402, F401
import torch  # noqa: E402
import torch.utils.tensorboard  # noqa: E402, F401

import backprop_by_example.run.training  # noqa: E402, F401

# Where there is an NVIDIA driver, ask NVML once here (it does not start CUDA) and keep it open: a driver without its
# persistence daemon otherwise wakes the GPU anew in every child that asks whether there is one (Lightning does).
if os.path.exists("/dev/nvidiactl"):
    torch.cuda.device_count()
assert not torch.cuda.is_initialized(), "a child forked after CUDA started could not use it"


def run_child(request):
    """In the forked child: become `python <script> <args>` in `cwd`, writing to the given files."""
    os.setpgid(0, 0)  # a process group of its own, as a job started from a shell: signals can go to all of it
    if request.get("file_size_limit"):  # writing past it fails as on a full disk (EFBIG for ENOSPC)
        resource.setrlimit(resource.RLIMIT_FSIZE, (request["file_size_limit"],) * 2)
    os.chdir(request["cwd"])
    os.environ.update(request["env"])
    for fd, name in ((1, "stdout"), (2, "stderr")):
        file = os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(file, fd)
        os.close(file)
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)  # not the requests' pipe
    os.close(stdin)
    sys.argv = [request["script"], *request["args"]]
    sys.path[0] = os.path.dirname(request["script"])
    try:
        runpy.run_path(request["script"], run_name="__main__")
        status = 0
    except SystemExit as exit:  # as the interpreter treats it: a message goes to stderr, with status 1
        status = exit.code if isinstance(exit.code, int) else exit.code is not None
        if not isinstance(exit.code, int | None):
            print(exit.code, file=sys.stderr)
    # The end of a script, less the second or so that tearing down every module of torch takes: atexit handlers
    # (multiprocessing waits for its processes there), flushed streams, the exit status.
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def main():
    running = set()
    for line in sys.stdin:
        request = json.loads(line)
        if "start" in request:
            pid = os.fork()
            if pid == 0:
                run_child(request["start"])  # never returns
            running.add(pid)
            answer = {"pid": pid}
        else:
            answer = {"status": wait(request["wait"], request["timeout"])}
            if answer["status"] is not None:
                running.discard(request["wait"])
        print(json.dumps(answer), flush=True)
    for pid in running:  # the tests have ended (or were stopped) before these runs: none trains on unwatched
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:  # it has ended
            pass
    os._exit(0)  # nothing to tear down or flush (tearing down torch's modules takes seconds)


def wait(pid, timeout):
    """The child's exit status, or None if it is still running after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)


if __name__ == "__main__":
    main()
