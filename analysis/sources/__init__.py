"""Reading CloudTrail: one module per kind of source, chosen from a ``--source`` spec."""

from __future__ import annotations

from pathlib import Path

from analysis.identifiers import AWS_PREFIXES
from analysis.model import Window
from analysis.sources.base import ReadOptions, Source, SourceError
from analysis.sources.files import FileSource, sample_source


def source_from_spec(spec: str, window: Window, options: ReadOptions | None = None) -> Source:
    """``sample``, a path, or (see the AWS source modules) ``lookup:``, ``s3://``, ``athena:``, ``lake:``."""
    options = options or ReadOptions()
    _not_empty(spec)
    if spec.startswith(AWS_PREFIXES):
        from analysis.sources.aws import aws_source

        return aws_source(spec, window, options)
    return sources_from_spec(spec, window, options)[0]


def sources_from_spec(spec: str, window: Window, options: ReadOptions | None = None) -> list[Source]:
    """Like :func:`source_from_spec`, but ``lookup:`` over several accounts gives one source per account."""
    options = options or ReadOptions()
    _not_empty(spec)
    if spec == "sample":
        return [sample_source(options.service)]
    if spec.startswith(AWS_PREFIXES):
        from analysis.sources.aws import aws_sources

        return aws_sources(spec, window, options)
    return [FileSource(Path(spec), service=options.service)]


def _not_empty(spec: str) -> None:
    """An empty spec names no source (as a path it would be the current folder)."""
    if not spec.strip():
        raise SourceError("empty --source: name a path, 'sample', or an s3://, lookup:, athena: or lake: source")


__all__ = ["ReadOptions", "Source", "SourceError", "source_from_spec", "sources_from_spec"]
