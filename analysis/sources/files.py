"""Local files and folders: trail files, arrays, JSON Lines, lookup-events output, EventBridge envelopes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from analysis.records import Malformed, RecordOrProblem, iter_paths, read_files
from analysis.sources.base import SourceError


@dataclass
class FileSource:
    """A file or a folder read recursively; files that cannot be read are reported, not fatal."""

    path: Path
    name: str = ""
    service: str | None = None  # the audited service: lets the fast path skip other services' denials

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.name = self.name or str(self.path)
        if not self.path.exists():
            raise SourceError(f"{self.path}: no such file or folder")

    def read(self) -> Iterator[RecordOrProblem]:
        """Files in a stable order; threads read and decompress the next ones while one is parsed."""
        yield from read_files(iter_paths(self.path), service=self.service)


def bundled_sample_path() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "sample"


def sample_source(service: str | None = None) -> FileSource:
    path = bundled_sample_path()
    if not path.exists():
        raise SourceError(f"the bundled sample data is missing ({path}): reinstall the package")
    return FileSource(path, name="sample", service=service)


__all__ = ["FileSource", "Malformed", "bundled_sample_path", "sample_source"]
