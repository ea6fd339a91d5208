"""Loading alert suppressions (``analysis.alerting.suppressions``) from S3, SSM Parameter Store or a file.

``ALERT_SUPPRESSIONS`` (the stack parameter ``AlertSuppressions``) names the document: ``s3://bucket/key`` (read with
s3:GetObject), ``s3://bucket/key?owner=ACCOUNT`` (the same, with ``ExpectedBucketOwner``: S3 refuses the read when
another account owns the bucket; template.yaml always sets it, to the stack's own account unless the parameter names
one), ``ssm:/name`` (ssm:GetParameter, decrypted: a SecureString works), else a local file (the CLI's
``--suppressions FILE``). An ``s3://`` or ``ssm:`` value must be of the form ``analysis.alerting.suppressions``'s
``S3_SPEC``/``SSM_SPEC`` allow (the settings and the template accept the same).

Whatever goes wrong (no such object or parameter, access denied, a missing file, a document
over :data:`MAX_BYTES`) gives no suppressions and one problem naming the document and the error in words: the alerts
go on (fail open), and the run's summary says why nothing was suppressed.

The alert function keeps a :class:`SuppressionCache` from its cold start: read again when older than its TTL (5
minutes by default, so an edit reaches every warm function within minutes, at one request per function per TTL), and
when a read fails the last good suppressions go on applying (the problem is reported with them). Throttling and 5xx
answers are retried by botocore (``analysis.aws_clients``: adaptive mode, several attempts).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis.alerting.suppressions import S3_SPEC, SSM_SPEC, Suppressions, parse_suppressions
from analysis.aws_errors import describe_error
from analysis.redact import printable

MAX_BYTES = 1024 * 1024  # a suppression document larger than this is refused (it is a short list)
TTL_SECONDS = 300.0


def load_suppressions(spec: str, s3: Any = None, ssm: Any = None, *, now: datetime | None = None) -> Suppressions:
    """The suppressions ``spec`` names (``s3://bucket/key``, ``ssm:/name`` or a file path); any failure to read it:
    no suppressions and one problem saying which and why. ``s3``/``ssm``: clients (None: made when needed)."""
    return _load(spec, s3, ssm, now)[0]


def _load(spec: str, s3: Any, ssm: Any, now: datetime | None) -> tuple[Suppressions, bool]:
    """(the suppressions, whether the document could be read at all)."""
    try:
        text = _read(spec, s3, ssm)
    except Exception as error:  # any failure is reported, never raised: alerting goes on without suppressions
        problem = f"{printable(spec, keep='')}: cannot be read ({_words(error)}); no suppression applies"
        return Suppressions((), (problem,), spec), False
    return parse_suppressions(text, spec, now or datetime.now(UTC)), True


class _TooBig(ValueError):
    pass


def s3_location(spec: str) -> tuple[str, str, str | None]:
    """(bucket, key, expected owner or None) of an ``s3://bucket/key[?owner=ACCOUNT]`` spec; ValueError if not one."""
    if not re.fullmatch(S3_SPEC, spec):
        raise ValueError("not an S3 object URI (s3://bucket/key or s3://bucket/key?owner=ACCOUNT; no * ? $ in the key)")
    location, _, owner = spec.removeprefix("s3://").partition("?owner=")
    bucket, _, key = location.partition("/")
    return bucket, key, owner or None


def _read(spec: str, s3: Any, ssm: Any) -> str:
    if spec.startswith("s3://"):
        bucket, key, owner = s3_location(spec)
        s3 = s3 or _client("s3")
        pinned = {"ExpectedBucketOwner": owner} if owner else {}
        answer = s3.get_object(Bucket=bucket, Key=key, **pinned)
        body = answer["Body"]
        try:
            if int(answer.get("ContentLength") or 0) > MAX_BYTES:
                raise _TooBig(answer["ContentLength"])
            data = body.read(MAX_BYTES + 1)
        finally:
            body.close()
        if len(data) > MAX_BYTES:
            raise _TooBig(len(data))
        return _text(data)
    if spec.startswith("ssm:"):
        if not re.fullmatch(SSM_SPEC, spec):
            raise ValueError("not an SSM parameter name (ssm:/name: a-zA-Z0-9_.- in at most 15 levels)")
        ssm = ssm or _client("ssm")
        answer = ssm.get_parameter(Name=spec.removeprefix("ssm:"), WithDecryption=True)
        return str(answer["Parameter"]["Value"])  # at most 8 KB (advanced tier): no cap needed
    path = Path(spec).expanduser()
    with path.open("rb") as file:
        data = file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _TooBig(len(data))
    return _text(data)


def _text(data: bytes) -> str:
    return data.decode("utf-8-sig")  # a byte order mark (Windows editors) is no error


def _words(error: BaseException) -> str:
    if isinstance(error, _TooBig):
        return f"larger than {MAX_BYTES:,} bytes, the most a suppression document may be"
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, IsADirectoryError):
        return "a directory, not a file"
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8 text"
    return describe_error(error)


def _client(name: str) -> Any:
    from analysis.aws_clients import client

    return client(None, name)


@dataclass
class SuppressionCache:
    """The suppressions of one spec, read again when older than ``ttl_seconds`` (on ``clock``); a failed read keeps
    the last good suppressions, with its problem added."""

    spec: str
    s3: Any = None
    ssm: Any = None
    ttl_seconds: float = TTL_SECONDS
    clock: Callable[[], float] = time.monotonic
    _loaded: Suppressions | None = field(default=None, init=False, repr=False)
    _good: Suppressions | None = field(default=None, init=False, repr=False)
    _at: float = field(default=0.0, init=False, repr=False)

    @classmethod
    def for_spec(
        cls,
        spec: str,
        s3: Any = None,
        ssm: Any = None,
        ttl_seconds: float = TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> SuppressionCache:
        return cls(spec, s3, ssm, ttl_seconds, clock)

    def current(self) -> Suppressions:
        """The suppressions now: as last read while younger than the TTL, else read again."""
        if self._loaded is not None and self.clock() - self._at < self.ttl_seconds:
            return self._loaded
        self._at = self.clock()
        if self.spec.startswith("s3://") and self.s3 is None:
            self.s3 = _client("s3")  # made once, when first needed, and kept (connections are reused)
        if self.spec.startswith("ssm:") and self.ssm is None:
            self.ssm = _client("ssm")
        fresh, read = _load(self.spec, self.s3, self.ssm, None)
        if read:
            self._good = self._loaded = fresh  # what the document says now, even if it is broken (fail open)
        elif self._good is None:
            self._loaded = fresh  # never read: no suppressions, and why
        else:  # the document could not be read this time: the last read goes on applying, with why it was not renewed
            kept = self._good
            problems = (*fresh.problems, f"the {len(kept.items)} suppression(s) read before still apply")
            self._loaded = Suppressions(kept.items, (*problems, *kept.problems), kept.origin)
        return self._loaded
