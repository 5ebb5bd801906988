"""Write run directories with the code of an earlier commit (on PYTHONPATH): each run finished,
and a copy of it taken right after its first checkpoint (step 4 of 8).

    PYTHONPATH=OLD_CHECKOUT/src python tests/old_versions/make_runs.py OUT_DIR DATA_DIR

tests/test_old_run_directories.py runs it against 67f94e1. It reaches into that version's loop
(`loop._checkpoint`) to take the copies, so it is tied to that version, not to this one.
"""

import shutil
import sys
from pathlib import Path

from cifarlab.cli.main import main
from cifarlab.train import loop

RUNS = {
    "numpy-mlp": ["numpy-mlp", "--hidden", "16", "--steps", "8", "--eval-every", "4", "--batch-size", "10",
                  "--dropout", "0.1", "--batch-norm", "--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.01"],
    "mlp": ["mlp", "--hidden", "16", "--batch-norm", "function", "--dropout", "0.1", "--steps", "8", "--eval-every", "4",
            "--batch-size", "10", "--augment", "--schedule", "cosine", "--train-eval-size", "20"],
    "fastnet": ["fastnet", "--widths", "8,16,16", "--steps", "8", "--batch-size", "10", "--micro-batch-size", "5",
                "--optimizer", "muon", "--lookahead-epochs", "0", "--whiten-bias-epochs", "1", "--tta-fraction", "0.5",
                "--brightness", "0.1", "--contrast", "0.1", "--small-crop", "28", "--small-crop-epochs", "0.5",
                "--eval-every", "4", "--label-smoothing", "0.1", "--precision", "fp32", "--warmup-steps", "2",
                "--train-eval-size", "20", "--device", "cpu"],
}


def make_runs(out: Path, data: Path) -> None:
    original = loop._checkpoint
    for name, args in RUNS.items():
        run = out / name

        def copying_checkpoint(learner, run_dir, history, state, keep_best, _run=run):
            original(learner, run_dir, history, state, keep_best)
            if state["step"] == 4:
                shutil.copytree(run_dir, _run.with_name(_run.name + "-interrupted"))

        loop._checkpoint = copying_checkpoint
        code = main(["train", *args, "--data", str(data), "--out", str(run), "--quiet"])
        if code not in (0, None):
            sys.exit(f"{name}: cifarlab train exited {code}")


if __name__ == "__main__":
    make_runs(Path(sys.argv[1]), Path(sys.argv[2]))
