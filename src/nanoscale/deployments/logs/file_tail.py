"""Reading a growing text file: its last lines, then whatever is appended after them.

Used for a release's own output (stdout/stderr appended to a file by the runtime). Reads are
bounded, so a huge or binary log never loads whole; undecodable bytes become U+FFFD.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path

BLOCK = 8192
MAX_TAIL_BYTES = 1 << 20  # the last lines come from at most this much of the file's end
MAX_READ_BYTES = 64 * 1024  # one follow step reads at most this much


def tail_lines(path: Path, lines: int) -> tuple[str, int]:
    """The last `lines` lines of `path` and the file's size (where following resumes).
    A missing file reads as empty."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            start = size
            data = b""
            # lines + 1 newlines: the text after the (lines+1)-th newline from the end is whole
            while start > 0 and data.count(b"\n") <= lines and size - start < MAX_TAIL_BYTES:
                step = min(BLOCK, start)
                start -= step
                handle.seek(start)
                data = handle.read(step) + data
    except FileNotFoundError:
        return "", 0
    kept = data.split(b"\n")
    if data.endswith(b"\n"):
        kept = kept[:-1]
    tail = b"\n".join(kept[-lines:]) + (b"\n" if data.endswith(b"\n") and kept else b"")
    if start > 0 and len(kept) <= lines:
        tail = tail.split(b"\n", 1)[-1]  # the first line was cut by MAX_TAIL_BYTES
    return tail.decode("utf-8", errors="replace"), size


class FileFollower:
    """Text appended to one file since `offset`. A file that shrank (truncated or replaced)
    is read again from its start."""

    def __init__(self, path: Path, offset: int) -> None:
        self.path = path
        self.offset = offset
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def read_new(self) -> str:
        try:
            with self.path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size < self.offset:
                    self.offset = 0
                    self._decoder.reset()
                if size == self.offset:
                    return ""
                handle.seek(self.offset)
                data = handle.read(MAX_READ_BYTES)
        except FileNotFoundError:
            return ""
        self.offset += len(data)
        return self._decoder.decode(data)
