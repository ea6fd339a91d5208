"""Local files and folders: trail files, arrays, JSON Lines, lookup-events output, EventBridge envelopes.

Files are found here and read from disk; what their bytes hold is :mod:`analysis.records`' business.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from analysis import scanpool
from analysis.progress import NO_PROGRESS, Progress
from analysis.records import Loaded, Malformed, RecordOrProblem, load_bytes, parse_loaded, parse_stream
from analysis.sources.base import SourceError

READABLE_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz")
WHOLE_FILE_LIMIT = 64 * 1024 * 1024  # bytes on disk; larger files are streamed


@dataclass
class FileSource:
    """A file or a folder read recursively; files that cannot be read are reported, not fatal."""

    path: Path
    name: str = ""
    service: str | None = None  # the audited service: lets the fast path skip other services' denials
    max_bytes: int | None = None  # each file's content at most (after gunzip); None: records.max_content_bytes()
    progress: Progress = NO_PROGRESS  # told the files and bytes read as each file's records have been read

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.name = self.name or str(self.path)
        if not self.path.exists():
            raise SourceError(f"{self.path}: no such file or folder")

    def read(self) -> Iterator[RecordOrProblem]:
        """Files in a stable order; threads read and decompress the next ones while one is parsed. A folder
        that cannot be listed is malformed (named, counted): its files are not read, the others are. Files
        whose loading :func:`start_reading` started are taken as they are."""
        early = _early_reads.pop((self.path, self.service, self.max_bytes), None)
        if early is not None:
            yield from (_unlisted(error, self.path) for error in early.unlisted)
            yield from _read_loaded(early.loaded, early.sizes, self.progress)
            return
        stop_early_reads()  # one this source cannot take only costs CPU, and keeps the next workers from fork
        unlisted: list[OSError] = []
        paths = list(iter_paths(self.path, onerror=unlisted.append))
        yield from (_unlisted(error, self.path) for error in unlisted)
        yield from read_files(paths, service=self.service, limit=self.max_bytes, progress=self.progress)

    def nothing_read(self) -> str:
        """Why the source held no record (the pipeline warns: an empty report must not look like success)."""
        if self.path.is_dir():
            return f"no trail file in the folder (none named {', '.join('*' + s for s in READABLE_SUFFIXES)})"
        return "no record in the file"


@dataclass(frozen=True)
class LargeFile:
    """A local file too large to hold in memory: streamed when its records are read (picklable)."""

    path: Path
    limit: int | None = None


def load_file(path: Path, service: str | None = None, limit: int | None = None) -> Loaded | LargeFile:
    """Read one local file whole and load it (:func:`analysis.records.load_bytes`), unless it is too large.

    Only a regular file is opened: a FIFO, socket or device (named ``*.json`` or given as the source) is
    reported and skipped, since opening or reading it may block forever or never end. Whatever fails here
    (this runs in a reader thread or process) makes this file malformed: the source's other files are read.
    """
    try:
        return _load_file(path, service, limit)
    except Exception as error:  # MemoryError, a bug: what _load_file does not expect
        return Loaded(str(path), problem=Malformed(str(path), f"cannot read file ({type(error).__name__}: {error})"))


def _load_file(path: Path, service: str | None, limit: int | None) -> Loaded | LargeFile:
    origin = str(path)
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            return Loaded(
                origin, problem=Malformed(origin, f"not a regular file ({_kind(status.st_mode)}): not opened")
            )
        if status.st_size > WHOLE_FILE_LIMIT:
            return LargeFile(path, limit)
        data = path.read_bytes()
    except OSError as error:
        return Loaded(origin, problem=Malformed(origin, f"cannot read file ({error})"))
    return load_bytes(data, origin, service, limit)


_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a folder"),
)


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a file")


def read_file(path: Path) -> Iterator[RecordOrProblem]:
    """One file's records. Trail files take the fast path; JSON Lines stream line by line."""
    yield from _records(load_file(path))


def read_files(
    paths: Iterable[Path],
    workers: int | None = None,
    service: str | None = None,
    limit: int | None = None,
    progress: Progress = NO_PROGRESS,
) -> Iterator[RecordOrProblem]:
    """Every file's records, in order, the next files loaded by workers meanwhile.

    Workers are threads, or processes when the files are many and large (:func:`scanpool.use_processes`):
    scanning holds the GIL, so only processes put a second core to work on it. ``progress`` is told the files
    and their bytes on disk done so far, each time a file's records have all been read.
    """
    paths = list(paths)
    sizes = [_size(p) for p in paths]
    processes = scanpool.use_processes(sum(sizes), len(paths))
    load = partial(load_file, service=service, limit=limit)
    loaded_files = scanpool.ordered_map(load, paths, scanpool.read_workers(workers), processes=processes)
    yield from _read_loaded(loaded_files, sizes, progress)


def _read_loaded(
    loaded_files: Iterator[Loaded | LargeFile], sizes: list[int], progress: Progress
) -> Iterator[RecordOrProblem]:
    bytes_done, bytes_total = 0, sum(sizes)
    for done, (loaded, size) in enumerate(zip(loaded_files, sizes, strict=True), start=1):
        yield from _records(loaded)
        bytes_done += size
        progress.files(done, len(sizes), bytes_done, bytes_total)


@dataclass
class _EarlyRead:
    unlisted: list[OSError]
    sizes: list[int]
    loaded: Generator[Loaded | LargeFile, None, None]


_early_reads: dict[tuple[Path, str | None, int | None], _EarlyRead] = {}
EARLY_BYTES = 32 * 1024 * 1024  # on disk: what an early read loads before the source reads it, at most (first tasks)


def start_reading(path: Path, service: str | None = None, limit: int | None = None) -> None:
    """Start loading a folder's files in worker processes now, for ``FileSource(path, service=service,
    max_bytes=limit)`` to take when it reads: a command calls this before its heavy imports and checks (some
    0.3 s), which then run while the workers load. The first files, up to ``EARLY_BYTES`` on disk, are handed
    to the workers at once.

    Nothing starts unless the folder is worth worker processes (:func:`scanpool.use_processes`) and processes
    can start (``fork``: only while this process runs one thread). What no source takes is stopped by
    :func:`stop_early_reads`."""
    path = Path(path)
    unlisted: list[OSError] = []
    paths = list(iter_paths(path, onerror=unlisted.append)) if path.is_dir() else []
    sizes = [_size(p) for p in paths]
    if not scanpool.use_processes(sum(sizes), len(paths)) or threading.active_count() > 1:
        return
    load = partial(load_file, service=service, limit=limit)
    first = _tasks_within(sizes, EARLY_BYTES)
    loaded = scanpool.started_map(load, paths, scanpool.read_workers(), first, processes=True)
    _early_reads[path, service, limit] = _EarlyRead(unlisted, sizes, loaded)


def stop_early_reads() -> None:
    """Stop the workers of every early read no source took (the command failed first, or read other sources)."""
    while _early_reads:
        _, early = _early_reads.popitem()
        early.loaded.close()


def _tasks_within(sizes: list[int], budget: int) -> int:
    """How many tasks (``scanpool.PROCESS_BATCH`` files each) the first files within ``budget`` bytes make, at
    least the usual read-ahead's."""
    total, files = 0, 0
    for size in sizes:
        total += size
        if total > budget:
            break
        files += 1
    return max(2 * scanpool.read_workers(), -(-files // scanpool.PROCESS_BATCH))


def _records(loaded: Loaded | LargeFile) -> Iterator[RecordOrProblem]:
    if isinstance(loaded, LargeFile):
        yield from _stream_file(loaded.path, loaded.limit)
    else:
        yield from parse_loaded(loaded)


def _stream_file(path: Path, limit: int | None = None) -> Iterator[RecordOrProblem]:
    origin = str(path)
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed below, once the generator is done with it
    except OSError as error:
        yield Malformed(origin, f"cannot read file ({error})")
        return
    with stream:
        yield from parse_stream(stream, origin, limit)


def _unlisted(error: OSError, root: Path) -> Malformed:
    folder = os.fsdecode(error.filename) if error.filename is not None else str(root)
    reason = error.strerror or type(error).__name__
    return Malformed(folder, f"cannot list the folder ({reason}): its files are not read")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def iter_paths(root: Path, onerror: Callable[[OSError], None] | None = None) -> Iterator[Path]:
    """A file as given, or every readable file under a folder, recursively, in a stable order.

    Anything but a folder is yielded as given: :func:`load_file` reports it if it is no regular file. A
    folder that cannot be listed (the root too) is passed to ``onerror`` (``os.walk``'s), its files skipped.
    """
    if not root.is_dir():
        yield root
        return
    for directory, folders, files in os.walk(root, onerror=onerror):
        folders.sort()
        for name in sorted(files):
            if name.endswith(READABLE_SUFFIXES):
                yield Path(directory) / name


def bundled_sample_path() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "sample"


def sample_source(service: str | None = None) -> FileSource:
    path = bundled_sample_path()
    if not path.exists():
        raise SourceError(f"the bundled sample data is missing ({path}): reinstall the package")
    return FileSource(path, name="sample", service=service)


__all__ = [
    "FileSource",
    "LargeFile",
    "bundled_sample_path",
    "iter_paths",
    "load_file",
    "read_file",
    "read_files",
    "sample_source",
]
