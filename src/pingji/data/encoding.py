"""The text encoding of a CSV file: UTF-8 (with or without a BOM) is read as it is; a file
saved by Excel or an ERP on Chinese Windows (GBK, GB18030) or as UTF-16 is converted to a
UTF-8 copy first, streamed, so DuckDB always reads UTF-8.

What is accepted, and why it is unambiguous:
- the whole file is valid UTF-8 (most files; a BOM is allowed): nothing to convert;
- a UTF-16 byte-order mark: the mark names the encoding;
- otherwise charset-normalizer judges a sample (at most SAMPLE_BYTES, from the first line
  that is not UTF-8): when GB18030 is among the encodings that read it as coherent text, the
  file is read as GB18030 (a superset of GBK and GB2312, what Excel on Chinese Windows saves
  as "CSV"). Every byte must then decode; a line that does not is an error naming the line.

Refused: a file that is UTF-8 up to some line and not after it (two encodings mixed: some
lines would come out garbled), a UTF-8 BOM followed by other bytes, and any other encoding
(Big5, Latin-1, Shift-JIS …): the message says to save the file as CSV UTF-8.
"""

from __future__ import annotations

import codecs
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pingji.errors import DataError
from pingji.i18n import msg

CHUNK = 1 << 20
SAMPLE_BYTES = 256 * 1024  # charset-normalizer's sample: enough text, bounded time
_GB = {"gb18030", "gbk", "gb2312", "cp936", "hz"}  # read as GB18030, their superset
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)

NOT_TEXT = "the file is not UTF-8 or GBK/GB18030 text: save it as CSV UTF-8"
MIXED = "the file mixes UTF-8 with another encoding from this line on: save it as CSV UTF-8"


@dataclass(frozen=True)
class Utf8File:
    """A CSV file as DuckDB should read it: `path` (the original or a UTF-8 copy), the
    encoding it was converted from (None: it was UTF-8 already) and whether `path` is a
    temporary copy to remove after reading."""

    path: Path
    converted_from: str | None

    @property
    def temporary(self) -> bool:
        """Tell whether `path` is a copy made for reading (to remove afterwards)."""
        return self.converted_from is not None

    def remove(self) -> None:
        """Remove the converted copy, if one was made."""
        if self.temporary:
            self.path.unlink(missing_ok=True)


def _first_non_utf8(path: Path) -> tuple[int, int, bool] | None:
    """Return (byte offset, line, whether non-ASCII UTF-8 text came before it) of the first
    byte that is not UTF-8, or None when the whole file is UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset, lines, non_ascii = 0, 0, False
    with path.open("rb") as f:
        while True:
            chunk = f.read(CHUNK)
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                # the decoder may hold back the incomplete tail of the previous chunk
                held = len(exc.object) - len(chunk)
                good = exc.object[: exc.start].decode("utf-8", "replace")
                non_ascii = non_ascii or not good.removeprefix("\ufeff").isascii()
                return offset - held + exc.start, lines + good.count("\n") + 1, non_ascii
            lines += text.count("\n")
            non_ascii = non_ascii or not text.removeprefix("\ufeff").isascii()
            offset += len(chunk)
            if not chunk:
                return None


def _sample(path: Path, offset: int) -> bytes:
    """Return at most SAMPLE_BYTES from the start of the line holding byte `offset`, cut
    after the last whole line."""
    with path.open("rb") as f:
        start = max(0, offset - 4096)
        f.seek(start)
        before = f.read(offset - start)
        line_start = start + before.rfind(b"\n") + 1
        f.seek(line_start)
        data = f.read(SAMPLE_BYTES)
    end = data.rfind(b"\n")
    return data[: end + 1] if end > 0 and len(data) == SAMPLE_BYTES else data


def _is_gb(sample: bytes) -> bool:
    """Tell whether charset-normalizer finds GB18030 (or GBK, GB2312) coherent for `sample`."""
    from charset_normalizer import from_bytes

    return any(_GB & {m.encoding, *m.could_be_from_charset} for m in from_bytes(sample))


def _convert(path: Path, encoding: str, file: str) -> Path:
    """Write `path` decoded from `encoding` as a temporary UTF-8 file; raise DataError naming
    the first line that does not decode."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    fd, name = tempfile.mkstemp(prefix="pingji-utf8-", suffix=".csv")
    out = Path(name)
    lines = 0
    try:
        with open(fd, "wb") as handle, path.open("rb") as f:
            while True:
                chunk = f.read(CHUNK)
                try:
                    text = decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as exc:
                    good = exc.object[: exc.start].decode(encoding, "replace")
                    raise DataError(file, msg(NOT_TEXT), row=lines + good.count("\n") + 1) from exc
                lines += text.count("\n")
                handle.write(text.encode("utf-8"))
                if not chunk:
                    break
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return out


def csv_encoding(path: Path, file: str) -> str | None:
    """Return the encoding of the CSV file at `path`: None for UTF-8 (a BOM allowed),
    "UTF-16" (with a BOM) or "GB18030" (GBK, GB2312); raise DataError for text in any other
    encoding, or UTF-8 mixed with another. The folder data set converts such a file
    (`utf8_file`); Spark's CSV reader is told the encoding."""
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(_UTF16_BOMS):
        return "UTF-16"
    bad = _first_non_utf8(path)
    if bad is None:
        return None
    offset, line, after_utf8 = bad
    if after_utf8 or head.startswith(codecs.BOM_UTF8):
        raise DataError(file, msg(MIXED), row=line)
    if not _is_gb(_sample(path, offset)):
        raise DataError(file, msg(NOT_TEXT), row=line)
    return "GB18030"


def utf8_file(path: Path, file: str) -> Utf8File:
    """Return the CSV file at `path` as UTF-8 DuckDB can read: itself, or a converted copy
    (GB18030/GBK, UTF-16 with a BOM); raise DataError for text in any other encoding."""
    encoding = csv_encoding(path, file)
    if encoding is None:
        return Utf8File(path, None)
    return Utf8File(_convert(path, encoding.lower(), file), encoding)
