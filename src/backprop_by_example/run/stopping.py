"""Ctrl-C and SIGTERM (kill, timeout, Slurm, Docker) ask a run to stop; it stops between two updates.

The default Ctrl-C raises KeyboardInterrupt wherever Python happens to be: between W's and V's update, or inside a
weakref callback, where Python drops the exception and the run trains on. These handlers only take note
(`StopRequest`); `StopOnSignal` looks at the note after each update, has last.ckpt saved and ends the run
(`Stopped`). A second Ctrl-C stops at once, without saving: last.ckpt stays as it was. The exit status is 128 + the
signal's number, as for a process that the signal killed: 130 for Ctrl-C, 143 for SIGTERM.
"""

import os
import signal
import sys
import threading
from contextlib import contextmanager

import torch
from lightning.pytorch.callbacks import Callback

from backprop_by_example.run.checkpoint import module_progress, saved_mid_epoch

NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


def end_process_group():
    """Under DDP, the process group ended by every process in step (a barrier first) rather than as each exits: left
    to the exit, ddp_spawn's CPU (gloo) processes aborted now and then ("terminate called without an active
    exception"; seen with torch 2.14 and Lightning 2.6, also for a bare LightningModule)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


class Stopped(SystemExit):
    """The run stopped on a signal, with exit status 128 + the signal's number (or 0, see `StopRequest.stop`)."""

    def __init__(self, signum):
        super().__init__(None if signum is None else 128 + signum)
        self.signum = signum


class StopRequest:
    """While installed, SIGINT and SIGTERM are noted in `signum` (the first received) instead of raising.

    `launcher` is Lightning's process launcher, if this process started others: a signal is passed on to them (a
    terminal sends Ctrl-C to every process of the job itself, `kill` only to the one it names), and a second Ctrl-C
    takes them down too.
    """

    def __init__(self):
        self.signum = None
        self.launcher, self.announce, self.worker, self.previous = None, False, False, {}

    def __getstate__(self):  # handlers belong to one process: a spawned worker gets a fresh, uninstalled request
        return {}

    def __setstate__(self, state):
        self.__init__()

    @property
    def installed(self):
        return bool(self.previous)

    def install(self, launcher=None, announce=True, worker=False):
        """Take over SIGINT and SIGTERM (only the main thread may); `announce`: say so on stderr when one comes;
        `worker`: this process is a worker that ddp_spawn started (see `stop`)."""
        if threading.current_thread() is not threading.main_thread():
            return
        self.launcher, self.announce, self.worker = launcher, announce, worker
        for signum in NAMES:
            previous = signal.signal(signum, self.handle)
            self.previous.setdefault(signum, previous)

    def reinstall_sigterm(self):
        """Take SIGTERM back from Lightning, whose handler would end the run with exit status 0."""
        if self.installed and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.handle)

    def uninstall(self):
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, previous in self.previous.items():
            signal.signal(signum, previous)
        self.previous = {}

    def handle(self, signum, frame):
        if signum == signal.SIGINT and self.signum == signal.SIGINT:
            self._say("Ctrl-C again: stopping now, without saving; the last checkpoint stays as it was.")
            if self.launcher is not None:
                self.launcher.kill(signal.SIGKILL)
            os._exit(128 + signum)
        if self.launcher is not None:
            # Passed on as SIGTERM even for Ctrl-C: the terminal may have sent them a Ctrl-C of their own, and two
            # would stop them without saving; a SIGTERM asks, however often it comes.
            self.launcher.kill(signal.SIGTERM)
        if self.signum is None:
            self.signum = signum
            again = " (Ctrl-C again stops at once, without saving)" if signum == signal.SIGINT else ""
            self._say(f"{NAMES[signum]}: stopping after this update, with a checkpoint{again}.")

    def _say(self, line):
        if self.announce:
            os.write(2, f"\n{line}\n".encode())  # a handler may interrupt a print: no buffered stream here

    def requested(self, trainer):
        """Whether any process of the run has been asked to stop; all of them answer alike (one collective)."""
        asked = self.signum is not None
        if trainer.world_size > 1:
            return trainer.strategy.reduce_boolean_decision(asked, all=False)
        return asked

    def stop(self, trainer):
        """End the run: the first process with 128 + the signal's number, the others with 0.

        Lightning watches `ddp`'s further processes and kills all of them as soon as one exits non-zero, which
        could cut the first one short while it is writing its logs. Every process stops at the same update (they
        agreed in `requested`), so they end the process group together: in a worker of ddp_spawn, Lightning's own
        handling of an exception (and its teardown) does not run.
        """
        end_process_group()
        signum = self.signum or signal.SIGTERM  # another process was asked
        stopped = Stopped(signum if trainer.is_global_zero else None)
        if self.worker:
            # Its checkpoint and logs are written (TensorBoard's flushed at the save): it leaves at once. Left to the
            # interpreter's teardown, it aborted about once in 10 stops, with no Python frame left ("terminate called
            # without an active exception"): in the destruction of C++ objects that Lightning's teardown, skipped on
            # an exception here, would have released (DistributedDataParallel's wrapper holds the process group).
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(stopped.code or 0)
        raise stopped


class StopOnSignal(Callback):
    """Ends the run between two updates once a signal has asked (its `request`, a StopRequest), with last.ckpt
    saved by the run's checkpoint.LastCheckpoint first. The last of the callbacks before that one (training.build):
    the logs of the update are written when it saves."""

    def __init__(self):
        self.request = StopRequest()

    def setup(self, trainer, module, stage):
        if not self.request.installed:  # a worker that ddp_spawn started (the process that started it says so)
            self.request.install(announce=False, worker=True)

    def on_train_start(self, trainer, module):
        self.request.reinstall_sigterm()  # Lightning has put its own in place since setup
        if self.request.requested(trainer):  # before the first update: nothing to save
            self.request.stop(trainer)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if saved_mid_epoch(trainer, batch_idx) and self.request.requested(trainer):
            self.stop(trainer, mid_epoch=True)

    def on_train_epoch_end(self, trainer, module):
        if not trainer.checkpoint_callback.ended_mid_epoch and self.request.requested(trainer):
            self.stop(trainer)

    def teardown(self, trainer, module, stage):
        self.request.uninstall()

    def stop(self, trainer, mid_epoch=False):
        checkpoint = trainer.checkpoint_callback
        checkpoint.save(trainer, mid_epoch, stopping=True)
        # LightningModule.print: on the first process only, above the progress bar if there is one
        trainer.lightning_module.print(f"Stopped after {module_progress(trainer)}; saved {checkpoint.path}", flush=True)
        self.request.stop(trainer)


class EndProcessGroup(Callback):
    """Under DDP, ends the process group in step at the end of fit (stopping.end_process_group)."""

    def teardown(self, trainer, module, stage):
        end_process_group()


@contextmanager
def signals_noted(trainer):
    """Ctrl-C and SIGTERM during fit ask it to stop (the StopRequest of its StopOnSignal) instead of raising where
    they land."""
    stop = next(callback.request for callback in trainer.callbacks if isinstance(callback, StopOnSignal))
    stop.install(launcher=trainer.strategy.launcher, announce=trainer.is_global_zero)
    try:
        yield
    except torch.multiprocessing.ProcessExitedException as exited:  # ddp_spawn: its first worker stopped
        if exited.exit_code - 128 in (signal.SIGINT, signal.SIGTERM):
            raise Stopped(stop.signum or exited.exit_code - 128) from None  # the signal this process was sent
        raise
    finally:
        stop.uninstall()
