"""`python ARGS` for the processes that the tests' scripts start (ddp_spawn's workers, torchrun's, submitit's jobs,
the script `ddp` starts again): the interpreter is not started afresh, it is forked from the fork server's, which has
imported the libraries (tests/forkserver.py). The scripts run with this file as `sys.executable`, made executable
there (`#!<python> -SI`: no module but the standard library's imported here, a few milliseconds).

It sends the server its arguments, pid, working directory, environment, limits and every file descriptor it has
inherited, and stands for the forked process: each signal it gets goes on to that process, and it ends as that
process ends, with its status or by its signal. Where the server cannot be reached, it becomes `python ARGS`
itself."""

import json
import os
import resource
import signal
import socket
import sys

LIMITS = ("RLIMIT_FSIZE", "RLIMIT_NOFILE")  # the limits a test sets (ulimit -f), as a forked process would inherit


def inherited():
    """The file descriptors this process was started with (those that stay open across exec)."""
    fds = []
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.get_inheritable(int(name)):
                fds.append(int(name))
        except OSError:  # the one that listed the directory, closed since
            pass
    return fds


def main():
    try:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        server.connect(os.environ["FORKED_PYTHON_SOCKET"])
    except (KeyError, OSError):
        os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
    fds = inherited()
    request = {
        "argv": sys.argv[1:], "pid": os.getpid(), "ppid": os.getppid(), "cwd": os.getcwd(), "env": dict(os.environ),
        "fds": fds,
        "limits": {name: resource.getrlimit(getattr(resource, name)) for name in LIMITS},
    }  # fmt: skip
    socket.send_fds(server, [json.dumps(request).encode()], fds)
    for fd in fds:  # the forked process holds them now: a pipe's end must not stay open here too
        if fd > 2:
            os.close(fd)
    pid = json.loads(server.recv(1 << 16))["pid"]

    def forward(signum, frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:  # it has just ended
            pass

    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"):
        signal.signal(getattr(signal, name), forward)
    answer = server.recv(1 << 16)
    status = json.loads(answer)["status"] if answer else 1  # the server gone: as a crash
    if status < 0:  # ended by a signal: so does this one
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    os._exit(status)


main()
