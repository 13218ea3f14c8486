"""`tensorboard ARGS`, as its console script runs it, for the fork server to start (TensorBoard imported there)."""

import sys

from tensorboard.main import run_main

sys.exit(run_main())
