"""A text file's encoding, where it is not the UTF-8 every reader of an import expects."""

from __future__ import annotations

import codecs
from pathlib import Path

from engine.errors import ErrorDetail

#: Byte-order marks of the encodings other than UTF-8 a spreadsheet or Windows tool saves text in
#: (UTF-32 first: its little-endian mark begins with UTF-16's).
_WIDE_MARKS = ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"), (codecs.BOM_UTF16_LE, "UTF-16"),
               (codecs.BOM_UTF16_BE, "UTF-16"))


def wide_encoding(path: Path) -> ErrorDetail | None:
    """A file saved as UTF-16 or UTF-32 ("Unicode text" in Excel and Notepad), said as such; None for
    any other. Read as UTF-8 it had drawn a different wrong reason in each format: a roster header
    "with no employee_id column" though it had one, "not an LEIE file", "truncated data", while a
    .json file was read."""
    try:
        with path.open("rb") as handle:
            head = handle.read(64)
    except OSError:
        return None  # the reader says why it cannot be read
    name = next((name for mark, name in _WIDE_MARKS if head.startswith(mark)), None)
    unmarked = name is None and _unmarked_utf16(head)
    if name is None and not unmarked:
        return None
    said = "UTF-16 text, with no byte-order mark" if unmarked else f"{name} text"
    return ErrorDetail(reason=f"the file is {said}: save it as UTF-8 (in Excel: CSV UTF-8; in an editor: "
                              "encoding UTF-8) and import it again", file=str(path))


def _unmarked_utf16(head: bytes) -> bool:
    """UTF-16 written without its byte-order mark, told by its NUL bytes: ASCII text so saved has a
    NUL in every other byte (`i\x00d\x00` or `\x00i\x00d`), which UTF-8 text never holds. Read as
    UTF-8, a CSV header had come out as " i d , f i r s t _ n a m e " and every column was missing."""
    pairs = len(head) // 2
    return pairs >= 4 and any(all(head[2 * i + nul_at] == 0 and head[2 * i + 1 - nul_at] != 0 for i in range(pairs))
                              for nul_at in (1, 0))  # little-endian: the NUL second; big-endian: first
