"""The run's plumbing: config schemas and checks, building and fitting, checkpoints, resume, stopping, console."""
