"""What ``import_users`` and ``import_events`` share: opening the input (a path, or ``-`` for
standard input), the rejected-lines file, progress on stderr, the summary and the exit status
(SPEC §11.2: 0 all accepted or duplicates, 1 some lines rejected, 2 the file refused)."""

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from gamification.imports import FileRefused, ImportSummary

PROGRESS_EVERY_SECONDS = 10.0


class RejectedFile:
    """``<input>.rejected.ndjson`` (``import-rejected-<UTC time>.ndjson`` in the working directory
    for standard input), one ``{"line": n, "error": {...}}`` a line. Opened at the first rejected
    line; a stale one from an earlier run of the same input is removed when none is rejected."""

    def __init__(self, source: str) -> None:
        if source == "-":
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            self.path = Path.cwd() / f"import-rejected-{stamp}.ndjson"
        else:
            self.path = Path(f"{source}.rejected.ndjson")
        self._file = None
        self.count = 0

    def __call__(self, line: int, error: dict[str, Any]) -> None:
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8")
        self._file.write(json.dumps({"line": line, "error": error}, ensure_ascii=False) + "\n")
        self.count += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        elif self.path.exists():
            self.path.unlink()


class Progress:
    """A tqdm bar on stderr when it is a terminal; otherwise a line every 10 seconds."""

    def __init__(self, err, *, desc: str, unit: str, total: int | None = None, enabled: bool = True) -> None:
        self.err, self.desc, self.unit = err, desc, unit
        self.enabled = enabled
        self.tty = enabled and hasattr(err, "isatty") and err.isatty()
        self.bar = tqdm(total=total, desc=desc, unit=unit, file=err, disable=not self.tty, mininterval=0.5)
        self.done = 0
        self.started = self.last = time.monotonic()

    def update(self, amount: int) -> None:
        self.done += amount
        self.bar.update(amount)
        now = time.monotonic()
        if self.enabled and not self.tty and now - self.last >= PROGRESS_EVERY_SECONDS:
            self.last = now
            rate = self.done / max(now - self.started, 1e-9)
            self.err.write(f"{self.desc}: {self.done} {self.unit}s ({rate:.0f}/s)\n")
            self.err.flush()

    def close(self) -> None:
        self.bar.close()


class ImportCommand(BaseCommand):
    noun = "line"

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", metavar="FILE", help="The file to import, or - for standard input.")
        parser.add_argument("--no-progress", action="store_true", help="Do not show progress on stderr.")

    def run_import(self, stream: BinaryIO, *, rejected: RejectedFile, err, size: int | None, no_progress: bool):
        raise NotImplementedError

    def handle(self, *args, file: str, no_progress: bool = False, **options) -> None:
        err = getattr(self.stderr, "_out", sys.stderr)
        if file == "-":
            stream = sys.stdin.buffer
        else:
            try:
                stream = open(file, "rb")  # noqa: SIM115 (closed below)
            except OSError as error:
                raise CommandError(f"Cannot read {file}: {error.strerror}.", returncode=2) from None
        rejected = RejectedFile(file)
        size = os.fstat(stream.fileno()).st_size if file != "-" and hasattr(stream, "fileno") else None
        try:
            summary = self.run_import(stream, rejected=rejected, err=err, size=size, no_progress=no_progress)
        except FileRefused as error:
            raise CommandError(f"{file}: refused, nothing imported. {error}", returncode=2) from None
        finally:
            rejected.close()
            if stream is not sys.stdin.buffer:
                stream.close()
        self.report(summary, rejected)

    def report(self, summary: ImportSummary, rejected: RejectedFile) -> None:
        self.stdout.write(
            f"accepted {summary.accepted}, duplicates {summary.duplicates}, rejected {summary.rejected}"
            + (
                f", users rebuilt {summary.users_rebuilt}"
                f" (lines stored in {summary.store_seconds:.1f} s, rebuild {summary.rebuild_seconds:.1f} s)"
                if summary.users_rebuilt
                else ""
            )
        )
        if summary.rejected:
            raise CommandError(
                f"{summary.rejected} {self.noun}{'s' if summary.rejected != 1 else ''} rejected: see {rejected.path}",
                returncode=1,
            )
