"""The package's version: one home, read by pyproject.toml and by every run's config.json."""

__version__ = "0.1.0"
