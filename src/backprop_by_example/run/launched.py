"""Runs whose processes torchrun or Slurm's srun start: one run dir for all of them, written by the first.

torchrun and srun start every process of a run themselves, and each composes its own config: left to the run dir's
`<day>/<time>-<pid>`, each would make a dir of its own from its own clock and pid. So `hydra.run.dir` names the run
through `run_name` (a resolver, registered by schema.register), which gives every process of one launch the same name,
before Hydra makes the dir:

- under torchrun, the first process's own `<day>/<time>-<pid>`, handed to the others through the key-value store that
  torchrun's agent keeps for the run at MASTER_ADDR:MASTER_PORT (the store `init_process_group` joins later). Not a
  name derived from torchrun's environment: TORCHELASTIC_RUN_ID is whatever `--rdzv-id` says (its default has changed
  between torch's releases), MASTER_PORT comes back from one run to the next, and the agent's pid (every worker's
  parent) differs from node to node.
- under srun, `slurm-<job id>.<step id>`: the same in every task of a job step, on every node, and unique on the
  cluster. No store is there to ask before Lightning sets up the process group, and the tasks' clocks and pids differ.

The other processes write no `.hydra/` (`first_process_only`, for hydra.output_subdir) and log into a file of their own
(`log_name`); Lightning's `ddp` does the same for the processes it starts itself.
"""

import os
import warnings
from dataclasses import dataclass
from datetime import timedelta

import torch.distributed
from lightning.fabric.plugins.environments import SLURMEnvironment, TorchElasticEnvironment


@dataclass(frozen=True)
class Launch:
    """Who started this process (`by`: torchrun, srun, or None: the user, or Lightning), its global rank, the number
    of processes and of nodes."""

    by: str | None = None
    rank: int = 0
    processes: int = 1
    nodes: int = 1

    @property
    def command(self):
        """The words before `scripts/train.py` that start the same processes again (the report's "Continue with:")."""
        per_node = self.processes // self.nodes
        if self.by == "torchrun":
            return ["torchrun", *([f"--nnodes={self.nodes}"] if self.nodes > 1 else []), f"--nproc_per_node={per_node}"]
        if self.by == "srun":
            return ["srun", f"--nodes={self.nodes}", f"--ntasks-per-node={per_node}", "python"]
        return ["python"]


def launched():
    """This process's Launch, read from the environment as Lightning reads it (its own detection, in its order)."""
    if TorchElasticEnvironment.detect():
        env = TorchElasticEnvironment()
        nodes = env.world_size() // int(os.environ["LOCAL_WORLD_SIZE"])
        return Launch("torchrun", env.global_rank(), env.world_size(), nodes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # detect() warns where an srun command exists but did not start this process
        slurm = SLURMEnvironment.detect()
    if slurm:
        env = SLURMEnvironment()
        return Launch("srun", env.global_rank(), env.world_size(), int(os.environ.get("SLURM_NNODES", "1")))
    return Launch()


STORE_KEY = "backprop_by_example/run_name"


def run_name(own):
    """The run's name, `own` (this process's `<day>/<time>-<pid>`) where it runs alone; the same in every process of
    a torchrun or srun launch (see the module's docstring)."""
    launch = launched()
    if launch.processes == 1:
        return own
    if launch.by == "srun":
        step = os.environ.get("SLURM_STEP_ID")
        return f"slurm-{os.environ['SLURM_JOB_ID']}" + (f".{step}" if step is not None else "")
    store = torch.distributed.TCPStore(
        os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), is_master=False, timeout=timedelta(minutes=5)
    )
    key = f"{STORE_KEY}/{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}"  # a restarted attempt: a dir of its own
    if launch.rank == 0:
        store.set(key, own)
        return own
    return store.get(key).decode()  # waits for the first process to set it


def first_process_only(value):
    """`value` in the first process of a launch (or a process alone), None in the others."""
    return value if launched().rank == 0 else None


def log_name(name):
    """`name` in the first process of a launch, `<name>_rank_<global rank>` in the others."""
    rank = launched().rank
    return name if rank == 0 else f"{name}_rank_{rank}"
