"""Training: configs, presets, the learners (NumPy and torch), the loop, and `train_run`, which
turns a config into a finished run directory."""
