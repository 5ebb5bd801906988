"""`cifarlab train MODEL`: options generated from the model's config dataclass and the runtime.

The flags given explicitly go to `training/resolve.py`, which layers them over the defaults, a
preset and a config file; `training/registry.py` hands the config to the model and its learner.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from cifarlab.cli.data_cmd import DATA_HELP
from cifarlab.cli.options import add_config_options, field_names, given_on_command_line
from cifarlab.errors import CifarlabError


def register(commands) -> None:
    from cifarlab.training.registry import model_registry
    from cifarlab.training.runtime import Runtime

    parser = commands.add_parser("train", help="train a model and write a run directory",
                                 description="Train a model; every run writes config.json, learning curves "
                                             "(.npy, JSON, CSV), steps.csv, TensorBoard events, metrics.json, "
                                             "weights and curves.png.")
    models = parser.add_subparsers(dest="model", metavar="MODEL", required=True)
    for name, entry in model_registry().items():
        sub = models.add_parser(name, help=entry.summary, description=entry.summary, allow_abbrev=False)
        sub.add_argument("--data", metavar="PATH", help=DATA_HELP)
        sub.add_argument("--out", metavar="RUN_DIR", type=Path,
                         help="run directory to write (default: runs/<model>-<date>-<time>)")
        sub.add_argument("--resume", metavar="RUN_DIR", type=Path,
                         help="continue the interrupted run in RUN_DIR with its saved config (runtime options "
                              "such as --device and --threads may be given again; a larger --steps extends a "
                              "finished run whose learning rate is constant)")
        sub.add_argument("--auto-resume", action="store_true",
                         help="with --out RUN_DIR: continue the run there if it has this recipe (a job script "
                              "re-run after a pre-emption), start it if RUN_DIR holds none, refuse if it holds "
                              "another recipe")
        sub.add_argument("--config", metavar="FILE", type=Path,
                         help="take options from a TOML file (keys as the options below, e.g. lr = 0.003) or "
                              "from a run's config.json; options given here win over the file")
        sub.add_argument("--print-config", action="store_true",
                         help="print the resolved options as a TOML config file and exit")
        if entry.presets:
            # not argparse's choices: a retired preset's name gets its own answer (training/resolve.py)
            sub.add_argument("--preset", metavar="{" + ",".join(sorted(entry.presets)) + "}",
                             help="start from a named set of options (a config file and explicit options win): "
                                  + "; ".join(f"{name}: {entry.preset_purposes.get(name, 'its own options')}"
                                              for name in entry.presets)
                                  + ". --preset NAME --print-config prints its options")
        sub.add_argument("--quiet", action="store_true", help="no progress bar or progress lines")
        sub.add_argument("--no-pictures", action="store_true",
                         help="end without the test set's confusion matrix and most confident mistakes "
                              "(confusion_matrix.png, misclassified.png, per_class.csv and their TensorBoard "
                              "images): about a second of drawing less (torch models reuse the final evaluation's "
                              "predictions; the NumPy engine predicts the test set once more)")
        add_config_options(sub, entry.config_cls, "recipe (saved with the run)")
        if entry.takes_runtime:
            add_config_options(sub, Runtime, "runtime", entry.runtime_defaults)
        sub.set_defaults(handler=run_train)


def _new_run(entry, args):
    """(config, runtime) from the defaults, the preset, the config file and the flags given."""
    from cifarlab.training.resolve import option_types, resolve

    given = {name: getattr(args, name) for name in option_types(args.model) if given_on_command_line(name, args.argv)}
    return resolve(args.model, given, preset=getattr(args, "preset", None), config_file=args.config)


def _extended(cfg, args):
    """The saved config with a larger --steps, where continuing a finished run is well defined:
    every step's learning rate must not depend on the total (a constant schedule), and no
    recipe hook may (fastnet's lookahead and bias freeze do)."""
    if args.steps <= cfg.steps:
        raise CifarlabError(f"--steps {args.steps} with --resume must exceed the run's {cfg.steps} steps")
    why = cfg.depends_on_total_steps()
    if why:
        raise CifarlabError(f"cannot extend {args.resume} to {args.steps} steps: {why}, so a longer run would "
                            "not continue this one; start a new run with --out")
    return dataclasses.replace(cfg, steps=args.steps, epochs=0.0)


def _resumed_run(entry, args):
    """(config, runtime, record) of the run to resume: the saved recipe, a runtime chosen here."""
    from cifarlab.inference.reload import load_run, saved_runtime
    from cifarlab.training.runtime import RUNTIME_FIELDS, for_reloading

    model, cfg, record = load_run(args.resume)
    if model != args.model:
        raise CifarlabError(f"{args.resume} is a {model} run, not {args.model}")
    changed = [name for name in field_names(entry.config_cls) if given_on_command_line(name, args.argv)]
    if changed == ["steps"]:
        cfg = _extended(cfg, args)
    elif changed or getattr(args, "preset", None) or args.config:
        what = "--" + changed[0].replace("_", "-") if changed else ("--preset" if args.config is None else "--config")
        raise CifarlabError(f"{what} cannot change a run being resumed: its recipe is saved in "
                            f"{args.resume}/config.json (start a new run with --out to change it)")
    saved = saved_runtime(record)
    if saved is None:
        return cfg, None, record
    runtime = for_reloading(saved, device=args.device, threads=args.threads, distributed=args.distributed)
    given = {name: getattr(args, name) for name in RUNTIME_FIELDS if given_on_command_line(name, args.argv)}
    return cfg, dataclasses.replace(runtime, **given), record


def _auto_resumed_run(entry, args):
    """--auto-resume: (config, runtime, resume, data) for --out, continuing the run there if
    it has the recipe the options give."""
    from cifarlab.inference.reload import load_run
    from cifarlab.rundir.files import holds_checkpoint
    from cifarlab.training.configs import recipe_difference

    if args.resume or not args.out:
        raise CifarlabError("--auto-resume continues the run in --out RUN_DIR: give --out, not --resume")
    cfg, runtime = _new_run(entry, args)
    if not holds_checkpoint(args.out):
        return cfg, runtime, False, args.data
    model, saved, record = load_run(args.out)
    difference = recipe_difference(saved, cfg) if model == args.model else f"a {model} run, not {args.model}"
    if difference:
        raise CifarlabError(f"--auto-resume: {args.out} holds a run with another recipe ({difference}): give the "
                            "options it was started with, or another --out")
    return saved, runtime, True, args.data or record["data_source"]


def run_train(args) -> int:
    from cifarlab.cli.config_file import to_toml
    from cifarlab.rundir.files import default_run_dir
    from cifarlab.training.registry import get_model
    from cifarlab.training.run import format_table, train_run

    entry = get_model(args.model)
    if args.auto_resume:
        (cfg, runtime, resume, data), run_dir = _auto_resumed_run(entry, args), args.out
    elif args.resume:
        cfg, runtime, record = _resumed_run(entry, args)
        run_dir, data, resume = args.resume, args.data or record["data_source"], True
    else:
        (cfg, runtime), run_dir, data = _new_run(entry, args), args.out or default_run_dir(args.model), args.data
        resume = False
    if args.print_config:
        print(to_toml(args.model, dataclasses.asdict(cfg), dataclasses.asdict(runtime) if runtime else None), end="")
        return 0
    metrics = train_run(args.model, cfg, run_dir, data, runtime, resume=resume,
                        progress=not args.quiet, announce=True, pictures=not args.no_pictures)
    if os.environ.get("RANK", "0") != "0":  # under torchrun, rank 0 reports for all
        return 0
    print(format_table(metrics, f"{args.model}: final metrics at step {metrics['step']} "
                                f"({metrics['train_seconds']:.1f} s)"))
    pictures = "" if args.no_pictures else ", where it goes wrong: confusion_matrix.png, misclassified.png"
    print(f"learning curves: {run_dir / 'curves.png'}{pictures} (all in TensorBoard: tensorboard --logdir {run_dir})")
    return 0
