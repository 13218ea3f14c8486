"""`torchrun ARGS`, as its console script runs it, for the fork server to start (torch already imported there)."""

import sys

from torch.distributed.run import main

sys.exit(main())
