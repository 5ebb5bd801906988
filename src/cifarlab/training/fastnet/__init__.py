"""The fast ConvNet recipe: its options and presets (config.py) and its training steps (recipe.py)."""
