"""fastgrad's benchmark suite: every workload on every backend, each in a process of its own
(`runner`, `worker`), the workloads (`workloads`, `torch_workloads`), what is measured
(`spec`, `measure`) and the tables and targets (`report`). `python -m fastgrad bench` runs
it; `python bench/run.py` records it in bench/RESULTS.md."""
