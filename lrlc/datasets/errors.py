"""The two errors of the data module: data that is missing, and data that is broken."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DatasetNotFoundError", "CorruptDataError"]


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is not under the data root and was not downloaded.

    The message names the root searched, the layout expected and the exact fix.
    """


class CorruptDataError(ValueError):
    """A dataset file is present but cannot be what it should be; ``path`` names it.

    Nothing is written to the cache when this is raised.
    """

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        super().__init__(
            f"{self.path}: {problem}. Replace this file with a good copy (or delete it and load "
            "again with download=True where the dataset can be downloaded)."
        )
