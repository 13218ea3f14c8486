"""Runs `python scripts/<name>.py ...` as real processes, forked from one that has already imported the libraries.

A fresh `python scripts/train.py` spends seconds importing torch, Lightning, Hydra and TensorBoard before it reads
its first override; the suite starts dozens. This server imports them once; each run is a child forked from it,
after the imports and before anything else: from there on the same as a fresh process (its own pid, signals,
exit status, stdout and stderr), started in a fraction of a second. It uses no tensor before forking, so no
thread pool is copied into the children half-started.

Protocol, one JSON object per line: {"start": {...}} -> {"pid": N}; {"wait": N, "timeout": T} -> {"status": S}
(S as in subprocess, negative: killed by that signal; None: still running after T seconds, T = 0: a poll).
When the requests end, so do the runs nobody waited for to their end.

The processes those runs start (ddp_spawn's workers, torchrun's, submitit's jobs, the script that `ddp` starts again)
are forked from here too: the runs' `sys.executable` is tests/forked_python.py, which asks the interpreters' server
(`serve_interpreters`, forked from this one as it starts) for `python ARGS` over a Unix socket and stands for the
process forked there. A worker that would spend seconds on its imports starts in a fraction of one, and is otherwise
the process that `python ARGS` would be: its arguments, directory, environment, limits and open files, its signals
and its exit status. They have imported the libraries alone, not this project's package: a run with "fresh": true
is one of them too (the client exec'd in the child forked here), for a test of what importing the package does.
"""

import atexit
import ctypes
import fcntl
import io
import json
import multiprocessing
import os
import resource
import runpy
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
import types
from pathlib import Path

os.environ["PYTORCH_NVML_BASED_CUDA_CHECK"] = "1"  # asking whether there is a GPU must not start CUDA here

import hydra  # noqa: E402, F401
import lightning  # noqa: E402, F401
import matplotlib.figure  # noqa: E402, F401
import numpy  # noqa: E402, F401
import tensorboard  # noqa: E402, F401
import torch  # noqa: E402
import torch.utils.tensorboard  # noqa: E402, F401

# Where there is an NVIDIA driver, ask NVML once here (it does not start CUDA) and keep it open: a driver without its
# persistence daemon otherwise wakes the GPU anew in every child that asks whether there is one (Lightning does).
if os.path.exists("/dev/nvidiactl"):
    torch.cuda.device_count()
assert not torch.cuda.is_initialized(), "a child forked after CUDA started could not use it"
PYTHON = sys.executable  # the interpreter itself, for what cannot be forked


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
    if request.get("fresh"):  # an interpreter of the interpreters' server, which has not imported the package
        os.execv(sys.executable, [sys.executable, request["script"], *request["args"]])
    sys.stdin = open(0, closefd=False)  # without what the server had read ahead of the requests
    run_as_python([request["script"], *request["args"]])


def run_as_python(args):
    """Run what `python ARGS` runs (a script, -m MODULE or -c CODE, after the options that change nothing here or
    -u), then end as the interpreter does: with the script's status, or by the signal of a Ctrl-C it did not catch.
    An option not known here: `python ARGS` itself, anew."""
    args = list(args)
    while args and args[0].startswith("-") and args[0] not in ("-c", "-m"):
        option = args.pop(0)
        if option == "-u":  # stdout and stderr unbuffered
            for name, fd in (("stdout", 1), ("stderr", 2)):
                stream = getattr(sys, name)
                raw = io.FileIO(fd, "w", closefd=False)
                setattr(sys, name, io.TextIOWrapper(raw, stream.encoding, stream.errors, write_through=True))
        elif option not in ("-B", "-E", "-s"):
            os.execv(PYTHON, [PYTHON, option, *args])
    main = types.ModuleType("__main__")
    try:
        if args[0] == "-c":
            sys.argv, sys.path[0] = ["-c", *args[2:]], ""
            sys.modules["__main__"] = main
            exec(compile(args[1], "<string>", "exec"), main.__dict__)
        elif args[0] == "-m":
            sys.argv, sys.path[0] = ["-m", *args[2:]], os.getcwd()
            runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        else:
            sys.argv, sys.path[0] = args, os.path.dirname(os.path.abspath(args[0]))
            runpy.run_path(args[0], run_name="__main__")
        status = 0
    except SystemExit as exit:  # as the interpreter treats it: a message goes to stderr, with status 1
        status = exit.code if isinstance(exit.code, int) else exit.code is not None
        if not isinstance(exit.code, int | None):
            print(exit.code, file=sys.stderr)
    except KeyboardInterrupt:  # the interpreter prints it and ends by the signal, as the shell expects
        sys.excepthook(*sys.exc_info())
        status = -signal.SIGINT
    except BaseException:
        sys.excepthook(*sys.exc_info())
        status = 1
    # The end of a script, less the second or so that tearing down every module of torch takes: atexit handlers
    # (multiprocessing waits for its processes there), flushed streams, the exit status.
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    if status < 0:
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    os._exit(status)


def serve_interpreters(listener):
    """The interpreters' server, forked from this one before any run: each connection from tests/forked_python.py
    gets a process of its own (`stand_by`) that forks the `python ARGS` asked for and says how it ended."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):  # not the requests' pipes: those are the server's
        os.dup2(devnull, fd)
    os.close(devnull)
    die_with_parent()
    signal.signal(signal.SIGTERM, lambda *_: (reap(), os._exit(0)))
    listener.settimeout(1.0)
    while True:
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            reap()
            continue
        if os.fork() == 0:
            listener.close()
            stand_by(connection)  # never returns
        connection.close()
        reap()


def reap():
    """Wait for the children that have ended (so that their CPU time counts in this process's children's)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def die_with_parent():
    """SIGKILL to this process when its parent ends (Linux's PR_SET_PDEATHSIG): nothing forked here outlives the
    server."""
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)


def stand_by(connection):
    """For one client: fork `python ARGS` with its files, directory, environment and limits, tell it the pid, and
    then how that process ended; if the client ends first (killed), so does the process."""
    die_with_parent()
    message, fds, _, _ = socket.recv_fds(connection, 1 << 20, 253)
    request = json.loads(message)
    pid = os.fork()
    if pid == 0:
        connection.close()
        die_with_parent()
        os.setsid()  # not in the server's process group: its signals come from the client
        # Its files at the numbers the client has them, open across exec as they were there
        above = max([*fds, *request["fds"], 2]) + 1
        moved = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, above) for fd in fds]
        for fd in fds:
            os.close(fd)
        for fd in (0, 1, 2):
            if fd not in request["fds"]:
                os.close(fd)
        for target, fd in zip(request["fds"], moved, strict=True):
            os.dup2(fd, target)
            os.close(fd)
        sys.stdin = open(0, closefd=False) if 0 in request["fds"] else None
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for name, limits in request["limits"].items():
            resource.setrlimit(getattr(resource, name), tuple(limits))
        answer_as(request["pid"], request["ppid"])
        run_as_python(request["argv"])
    for fd in fds:
        os.close(fd)
    connection.send(json.dumps({"pid": pid}).encode())
    process = os.pidfd_open(pid)
    while process not in select.select([connection, process], [], [])[0]:
        if not connection.recv(1):  # the client is gone
            os.kill(pid, signal.SIGKILL)
            break
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    try:
        connection.send(json.dumps({"status": status}).encode())
    except OSError:  # the client is gone
        pass
    os._exit(0)


def answer_as(pid, ppid):
    """os.getpid() and os.getppid() answer with the client's pid and parent, as in the process `python ARGS` started
    there: what its parent knows of it is that pid (submitit names a job's files by it, and the job finds them by
    os.getpid()), and signals sent to that pid reach this process through the client. A process forked from this one
    has its own again."""
    real = os.getpid, os.getppid

    def own_again():
        os.getpid, os.getppid = real

    os.getpid, os.getppid = (lambda: pid), (lambda: ppid)
    os.register_at_fork(after_in_child=own_again)


def start_interpreters():
    """The interpreters' server and the `python` that asks it: the runs' sys.executable from here on -> its pid."""
    folder = Path(tempfile.mkdtemp(prefix="forked_python-"))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(str(folder / "socket"))
    listener.listen(64)
    executable = folder / "python"
    code = (Path(__file__).parent / "forked_python.py").read_text()
    executable.write_text(f"#!{PYTHON} -SI\n{code}")  # -S -I: no site, no PYTHON* variables, the standard library
    executable.chmod(0o755)
    os.environ["FORKED_PYTHON_SOCKET"] = str(folder / "socket")
    sys.executable = str(executable)  # subprocess's python (torchrun, Lightning's ddp, submitit)
    multiprocessing.set_executable(str(executable))  # multiprocessing's (ddp_spawn)
    pid = os.fork()
    if pid == 0:
        serve_interpreters(listener)  # never returns
    listener.close()
    return pid, folder


def main():
    interpreters, folder = start_interpreters()  # before the package: they fork interpreters that have not seen it
    import backprop_by_example.run.training  # noqa: F401  (the scripts' own modules, for the runs forked here)

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
    os.kill(interpreters, signal.SIGTERM)  # it ends the processes it forked, the running ones killed
    os.waitpid(interpreters, 0)
    shutil.rmtree(folder)
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
