"""The run directory: what a run leaves behind (config, checkpoints, curves, step log,
TensorBoard events, pictures), written atomically and read back by everything else."""
