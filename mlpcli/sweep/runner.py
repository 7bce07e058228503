"""`mlpcli sweep` as a library function: check everything, run the trials, write the sweep.

    spec → trials → (read the CSV once) → sweep directory → executor → one run per trial
         → trials.csv, leaderboard.csv, sweep.png, summary.json → refit (optional)

Nothing is written until the spec, every configuration and the data have been checked.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from mlpcli import runs
from mlpcli.config import Config
from mlpcli.errors import ConfigError, RunError
from mlpcli.sweep import executors
from mlpcli.sweep.spec import SweepSpec, Trial, expand, validate, value_text
from mlpcli.sweep.store import DONE, SweepDir, best_config, trial_row
from mlpcli.sweep.trial import TrialSpec, data_key, load_shared


@dataclass
class SweepOutcome:
    sweep: SweepDir
    summary: dict
    refit: Path | None = None
    warnings: list = field(default_factory=list)


@dataclass
class Plan:
    """A checked sweep, ready to run: its trials and the data they share."""

    spec: SweepSpec
    trials: list[Trial]
    shared: dict  # data_key -> TrialData
    task: str
    dataset: dict
    warnings: list


def plan(spec: SweepSpec) -> Plan:
    """Check the spec and every configuration, read the data once: nothing is written."""
    spec.checked()
    if not spec.fixed.get("data"):
        raise ConfigError("give a CSV file or bundled dataset name, e.g. 'mlpcli sweep xor'")
    trials = expand(spec)
    configs = validate(spec, trials)
    shared, inits = {}, {}
    for cfg in configs:
        key = data_key(cfg.to_dict())
        if key not in shared:
            shared[key] = load_shared(cfg, spec.folds)
        if cfg.init and cfg.init not in inits:
            inits[cfg.init] = runs.load_npz(cfg.init, what="--init")
    first = next(iter(shared.values()))
    for data in shared.values():
        data.init = inits
    task = first.pre["task"]
    return Plan(spec, trials, shared, task, first.dataset, list(first.warnings))


def run(plan_: Plan, *, runs_dir, name: str | None, argv: list[str], workers: int,
        dask: str | None, plots: bool, stop: threading.Event, observer=None,
        resume: Path | None = None) -> SweepOutcome:
    """Run the plan's trials (those not yet done, with `resume`) and write the sweep.

    `observer` (optional) is told observer.begin(sweep path, trials already done),
    observer.trial_started(spec) as each trial is handed to a worker and
    observer.trial_done(trial, trials.csv row) as each one ends.
    """
    t0 = time.time()
    if resume is None:
        stem = Path(plan_.dataset["path"]).stem
        sweep = SweepDir(runs.create_run_dir(runs_dir, name or f"sweep-{stem}"))
    else:
        sweep = SweepDir(resume)
    with runs.RunLock(sweep.path):  # held while this process sweeps: another resume is refused
        return _run_locked(plan_, sweep, resume, t0, argv=argv, workers=workers, dask=dask,
                           plots=plots, stop=stop, observer=observer)


def _run_locked(plan_: Plan, sweep: SweepDir, resume, t0, *, argv, workers, dask, plots, stop,
                observer) -> SweepOutcome:
    spec = plan_.spec
    on_start = observer.trial_started if observer is not None else None
    if resume is not None:
        recorded = sweep.info().get("dataset", {}).get("sha256")
        if recorded and recorded != plan_.dataset["sha256"]:
            raise ConfigError(f"{plan_.dataset['path']} has changed since sweep {sweep.id} "
                              f"started (sha256 differs); resume needs the same data")
    sweep.start(spec, plan_.trials, plan_.task, plan_.dataset, argv, resumed=resume is not None)
    done = set()
    if resume is not None:
        existing = sweep.trials()
        if not existing.empty:
            done = set(existing.loc[existing["status"].isin(DONE), "trial"])
    params = spec.params
    specs = []
    for trial in plan_.trials:
        if trial.id in done:
            continue
        options = trial.options(spec.fixed)
        state = sweep.resume_state(trial) if resume is not None else None
        specs.append(TrialSpec(trial, options, data_key(Config.from_dict(options).to_dict()),
                               state))
    by_id = {t.id: t for t in plan_.trials}
    if observer is not None:
        observer.begin(sweep.path, len(done))
    workers = max(1, min(workers, len(specs) or 1))
    try:
        if dask:
            client = executors.dask_client(dask, workers)
            results = executors.run_on_dask(specs, plan_.shared, stop, client, sweep.id,
                                            on_start)
        elif workers == 1:
            client, results = None, executors.run_in_process(specs, plan_.shared, stop,
                                                             on_start)
        else:
            client, results = None, executors.run_in_processes(specs, plan_.shared, stop,
                                                               workers, on_start)
        try:
            for trial_spec, result in results:
                trial = by_id[trial_spec.trial.id]
                data = plan_.shared[trial_spec.data_key]
                sweep.write_trial(result, trial, data.dataset, argv, plots)
                row = trial_row(result, trial, params)
                sweep.append_trial(row)
                if observer is not None:
                    observer.trial_done(trial, row)
        finally:
            if client is not None:
                _close(client)
    except BaseException:
        sweep.finish("failed" if not stop.is_set() else "interrupted",
                     [t.id for t in plan_.trials], time.time() - t0)
        raise
    complete = len(sweep.trials()) == len(plan_.trials) and not stop.is_set()
    status = "finished" if complete else "interrupted"
    summary = sweep.finish(status, [t.id for t in plan_.trials], time.time() - t0)
    return SweepOutcome(sweep, summary, warnings=plan_.warnings)


def _close(client) -> None:
    cluster = client.cluster if hasattr(client, "cluster") else None
    client.close()
    if cluster is not None:
        cluster.close()


def refit(outcome: SweepOutcome, plan_: Plan, *, runs_dir, argv, callbacks=()) -> Path | None:
    """Train the best configuration on all rows (validation split 0) as an ordinary run."""
    from mlpcli import experiment

    sweep = outcome.sweep
    best = best_config(sweep.leaderboard(), plan_.spec.params)
    if best is None:
        return None
    wanted = best["params"]
    trial = next(t for t in plan_.trials
                 if all(value_text(t.params[p]) == str(v) for p, v in wanted.items()))
    options = {**trial.options(plan_.spec.fixed), "seed": plan_.spec.seed, "val_frac": 0.0,
               "runs_dir": str(runs_dir), "name": f"{runs.run_name(sweep.path)}-refit"}
    result = experiment.train(Config.from_dict(options, source="refit"), argv=argv,
                              callbacks=callbacks)
    summary = sweep.summary()
    summary["refit"] = str(result.path)
    runs.write_json(sweep.path / "summary.json", summary)
    outcome.summary, outcome.refit = summary, result.path
    return result.path


def load_resumable(path: Path) -> SweepSpec:
    """The spec of a sweep to resume; RunError if it is still running."""
    sweep = SweepDir(path)
    if sweep.status() == "running":
        summary = sweep.summary()
        raise RunError(f"sweep {sweep.id} is still running (process {summary.get('pid')} on "
                       f"{summary.get('host')}); stop it (kill -INT {summary.get('pid')}) "
                       f"before resuming")
    return sweep.spec()
