"""Workloads written as micrograd's users write them, shared by the CLI, the bench and the
tests: `moons`, the training step of micrograd's demo notebook."""
