"""Reproduction of the study: every table and figure from this project's own runs."""
