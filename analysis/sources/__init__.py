"""Reading CloudTrail: one module per kind of source, chosen from a ``--source`` spec."""

from __future__ import annotations

from pathlib import Path

from analysis.sources.base import Source, SourceError, Window
from analysis.sources.files import FileSource, sample_source


def source_from_spec(spec: str, window: Window) -> Source:
    """``sample``, a path, or (see the AWS source modules) ``lookup:``, ``s3://``, ``athena:``, ``lake:``."""
    if spec == "sample":
        return sample_source()
    if spec.startswith(("lookup:", "s3://", "athena:", "lake:")):
        from analysis.sources.aws import aws_source

        return aws_source(spec, window)
    return FileSource(Path(spec))


__all__ = ["Source", "SourceError", "Window", "source_from_spec"]
