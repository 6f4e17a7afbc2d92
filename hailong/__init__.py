"""Hài Lòng: citizen satisfaction with each officer at the one-stop counter."""

__version__ = "0.1.0"
