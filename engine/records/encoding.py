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
            head = handle.read(4)
    except OSError:
        return None  # the reader says why it cannot be read
    for mark, name in _WIDE_MARKS:
        if head.startswith(mark):
            return ErrorDetail(reason=f"the file is {name} text: save it as UTF-8 (in Excel: CSV UTF-8; in an editor: "
                                      "encoding UTF-8) and import it again", file=str(path))
    return None
