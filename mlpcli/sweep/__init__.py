"""Sweeps: many training runs of one dataset — grids, random search, seeds, k-fold CV — run in
this process, in local worker processes or on a Dask cluster, and summarised in a leaderboard.

    spec.py (options → trials) · folds.py · trial.py (one pure trial) · executors.py
    leaderboard.py · store.py (the sweep directory) · plot.py · runner.py (the command's steps)
Sweeps in `runs list`, `runs show` and RUN arguments: mlpcli/runs/sweeps.py.
"""
