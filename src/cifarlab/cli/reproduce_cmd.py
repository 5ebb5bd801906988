"""`cifarlab reproduce`: every table and figure of the study in one report directory."""

from __future__ import annotations

from pathlib import Path

from cifarlab.cli.data_cmd import DATA_HELP

CHECKOUT_EXPERIMENTS = Path(__file__).resolve().parents[3] / "experiments"


def register(commands) -> None:
    parser = commands.add_parser(
        "reproduce", help="run the study's experiments and write a report with its tables and figures",
        description="Run (or reuse finished runs of) the study's experiments and write OUT/REPORT.md with "
                    "Tables 1-3 and the Figure 2 table (the study's figure beside the measured one), and the "
                    "PNGs of Figures 1, 3 and 4. The full protocol takes about 45 minutes on a 2-core CPU, "
                    "the ConvNet's 33 of them; "
                    "--quick runs a smoke version in minutes.")
    parser.add_argument("--data", metavar="PATH", help=DATA_HELP)
    parser.add_argument("--out", type=Path, default=Path("runs/reproduction"),
                        help="report directory (default: runs/reproduction); its runs/ holds every run")
    parser.add_argument("--parts", default="1,2,3,4",
                        help="study parts to run, comma-separated: 1 NumPy MLP, 2 MLP table and best MLP, "
                             "3 batch-norm checks, 4 ConvNet (default: 1,2,3,4)")
    parser.add_argument("--scale", type=float, default=None,
                        help="fraction of the study's steps (and evaluation interval) to run "
                             "(default: 1.0, or 0.05 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke version: 5%% of the steps, 2 evaluations per run, 3 of the 18 MLP "
                             "configurations, train metrics on 2,000 images (about 5 min on a 2-core CPU)")
    parser.add_argument("--seeds", type=int, default=5,
                        help="seeds of Tables 1 and 2, each table showing mean, SD and range (default: 5; the "
                             "NumPy run takes seconds, the best MLP about a minute)")
    parser.add_argument("--convnet-seeds", type=int, default=1,
                        help="seeds of Table 3 (default: 1; each is the whole ConvNet protocol)")
    parser.add_argument("--grid-seeds", type=int, default=1, help="seeds of each Figure 2 configuration (default: 1)")
    parser.add_argument("--fast", action="store_true",
                        help="train the ConvNet under bf16 autocast (--precision bf16): 0.72x the time on a 2-core "
                             "CPU with native bf16, at the same accuracy (benchmarks/RESULTS.md); slower on an "
                             "H200 GPU, where the default float32 is the faster choice")
    parser.add_argument("--experiments", type=Path, default=CHECKOUT_EXPERIMENTS,
                        help="folder holding study-figure2.toml (default: the checkout's experiments/)")
    parser.set_defaults(handler=run_reproduce)


def parse_parts(text: str) -> tuple[int, ...]:
    from cifarlab.errors import CifarlabError
    from cifarlab.report.reproduce import PARTS

    try:
        parts = tuple(sorted({int(p) for p in text.split(",")}))
    except ValueError:
        parts = ()
    if not parts or not set(parts) <= set(PARTS):
        raise CifarlabError(f"--parts takes numbers from {PARTS}, comma-separated; got {text!r}")
    return parts


def run_reproduce(args) -> int:
    from cifarlab.errors import CifarlabError
    from cifarlab.report.reproduce import Budget, reproduce

    parts = parse_parts(args.parts)
    scale = args.scale if args.scale is not None else (0.05 if args.quick else 1.0)
    if not 0 < scale <= 1:
        raise CifarlabError(f"--scale must be in (0, 1], got {scale}")
    if 2 in parts and not (args.experiments / "study-figure2.toml").is_file():
        raise CifarlabError(f"{args.experiments}/study-figure2.toml not found: pass --experiments DIR")
    for name in ("seeds", "convnet_seeds", "grid_seeds"):
        if getattr(args, name) < 1:
            raise CifarlabError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    seeds = {"seeds": args.seeds, "convnet_seeds": args.convnet_seeds, "grid_seeds": args.grid_seeds,
             "fast": args.fast}
    budget = (Budget(scale=scale, grid_points=3, train_eval_size=2000, evaluations=2, **seeds) if args.quick
              else Budget(scale=scale, **seeds))
    report = reproduce(args.out, args.data, parts, budget, args.experiments)
    print(f"report: {report}")
    return 0
