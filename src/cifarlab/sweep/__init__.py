"""Hyperparameter sweeps on Optuna: experiment files, workers, result tables."""
