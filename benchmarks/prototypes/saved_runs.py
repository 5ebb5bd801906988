"""Saved runs and their prepared test set, for the prototypes that evaluate them again."""
from pathlib import Path

import torch

from cifarlab.train.saved_run import load_prepared, reload_learner


def saved_runs(run_dirs, threads=2):
    """Yield (run_dir, learner in eval mode on the CPU, prepared data) for each run; the data
    is prepared once, from the first run's source."""
    torch.set_num_threads(threads)
    prepared = None
    for run in run_dirs:
        model, cfg, record, learner, _ = reload_learner(Path(run), "cpu", threads)
        if prepared is None:
            prepared, _ = load_prepared(model, cfg, record["data_source"], False)
        learner.model.eval()
        yield run, learner, prepared
