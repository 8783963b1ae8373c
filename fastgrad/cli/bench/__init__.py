"""`python -m fastgrad bench`: workloads run on each backend in its own process."""
