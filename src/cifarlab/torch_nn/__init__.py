"""PyTorch models only: no training code, no CLI."""
