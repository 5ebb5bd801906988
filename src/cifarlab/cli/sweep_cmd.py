"""`cifarlab sweep EXPERIMENT.toml` runs a worker; `cifarlab sweep results STUDY` prints the table."""

from __future__ import annotations

from pathlib import Path

from cifarlab.cli.data_cmd import DATA_HELP

STORAGE_HELP = ("Optuna storage: any SQLAlchemy URL, e.g. postgresql+psycopg2://user@host/db so that workers "
                "on several machines share one study (default: $CIFARLAB_STORAGE, else the sqlite file "
                "SWEEP_DIR/STUDY.db). Keep passwords off the command line: ~/.pgpass, PGPASSWORD or "
                "CIFARLAB_STORAGE; a password in the URL is shown as *** wherever cifarlab prints it")


def register(commands) -> None:
    parser = commands.add_parser("sweep", help="hyperparameter sweeps (grid or TPE) on Optuna",
                                 description="Run a sweep worker on an experiment file, or print a study's table. "
                                             "`cifarlab sweep FILE.toml` is short for `cifarlab sweep run FILE.toml`.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    run = actions.add_parser("run", help="work on an experiment until it is done (start several to share it)")
    run.add_argument("experiment", type=Path, help="experiment file (see experiments/)")
    run.add_argument("--data", metavar="PATH", help=DATA_HELP)
    run.add_argument("--heartbeat", type=int, default=30,
                     help="seconds between a trial's heartbeats; a trial with no heartbeat for twice this long "
                          "is marked failed and queued again (default: 30)")
    run.add_argument("--seed", type=int, default=0, help="seed of the sampler (default: 0)")
    results = actions.add_parser("results", help="print a study's trials, best first; write .md and .csv")
    results.add_argument("study", help="study name (the experiment's name)")
    for sub in (run, results):
        sub.add_argument("--storage", metavar="URL", help=STORAGE_HELP)
        # runner.DB_PATIENCE, not imported here: that would load Optuna for every command
        sub.add_argument("--db-patience", type=float, default=600.0, metavar="SECONDS",
                         help="how long to wait for an unreachable database (a server restarting, a network "
                              "blip), retrying with a log line each time, before stopping with an error "
                              "(default: 600)")
        sub.add_argument("--sweep-dir", type=Path, default=Path("runs/sweeps"),
                         help="where trial run directories, the default database and tables go (default: runs/sweeps)")
    run.set_defaults(handler=run_sweep)
    results.set_defaults(handler=run_results)


def shorthand(argv: list[str]) -> list[str]:
    """`sweep FILE.toml ...` -> `sweep run FILE.toml ...`."""
    if len(argv) >= 2 and argv[0] == "sweep" and argv[1] not in ("run", "results", "-h", "--help"):
        return ["sweep", "run", *argv[1:]]
    return argv


def check_patience(seconds: float) -> None:
    from cifarlab.errors import CifarlabError

    if not seconds >= 0:
        raise CifarlabError(f"--db-patience is a number of seconds >= 0, got {seconds}")


def run_sweep(args) -> int:
    from cifarlab.data.store import resolve_source
    from cifarlab.sweep.experiment import load_experiment
    from cifarlab.sweep.results import write_results
    from cifarlab.sweep.runner import run_worker
    from cifarlab.sweep.storage_url import masked, storage_url

    check_patience(args.db_patience)
    experiment = load_experiment(args.experiment)
    resolve_source(args.data)  # a bad data path fails here once, not in every trial
    storage = storage_url(args.storage, args.sweep_dir, experiment.name)
    print(f"sweep {experiment.name}: {experiment.model}, {experiment.sampler} "
          f"({len(experiment.points) if experiment.sampler == 'grid' else experiment.trials} trials), "
          f"objective {experiment.objective}, storage {masked(storage)}")
    study = run_worker(experiment, storage, args.sweep_dir, args.data, args.heartbeat, args.seed,
                       db_patience=args.db_patience)
    markdown, md_path, csv_path = write_results(study, args.sweep_dir)
    print(markdown + f"written: {md_path}, {csv_path}")
    return 0


def run_results(args) -> int:
    import optuna

    from cifarlab.errors import CifarlabError
    from cifarlab.sweep.patient_storage import Patience
    from cifarlab.sweep.results import write_results
    from cifarlab.sweep.runner import open_storage
    from cifarlab.sweep.storage_url import masked, storage_url

    check_patience(args.db_patience)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = storage_url(args.storage, args.sweep_dir, args.study)
    try:
        study = optuna.load_study(study_name=args.study,
                                  storage=open_storage(url, heartbeat=None, patience=Patience(args.db_patience)))
    except KeyError:
        raise CifarlabError(f"no study {args.study!r} in {masked(url)}: pass --storage or --sweep-dir") from None
    markdown, md_path, csv_path = write_results(study, args.sweep_dir)
    print(markdown + f"written: {md_path}, {csv_path}")
    return 0
