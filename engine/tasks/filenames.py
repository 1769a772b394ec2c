"""An attachment's file name: the label kept and shown, and whether a desktop would run the file.

The name is only a label: the bytes are kept by hash and served as a download (`attachment`,
`nosniff`), so it is cleaned as little as makes it safe. A path separator becomes '_' (the name is
one file's, never a path: `<script>alert(1)</script>.txt` had been cut to `script>.txt`, the text
after the last '/'), a control character becomes '_' (`engine.storable_text`), and trailing dots,
spaces and invisible characters are dropped: Windows drops them when it saves the file, so
`evil.bat.` and `evil.bat ` were accepted as names of no runnable kind and saved as `evil.bat`.
The suffix judged is that of the cleaned name, which is also the name stored.
"""

from __future__ import annotations

import unicodedata

from engine import storable_text

#: File name endings a desktop runs (or mounts, or follows) when the file is opened: refused whatever
#: the content is. Windows programs, scripts and their hosts, shortcuts and shell links (`.url`,
#: `.lnk`, `.scf`), installers and packages, disk images whose contents open without the download
#: mark (`.iso`, `.vhd`), and the macOS and Linux launchers.
RUNNABLE_SUFFIXES = frozenset({
    ".exe", ".dll", ".com", ".bat", ".cmd", ".ps1", ".psm1", ".psd1", ".vbs", ".vbe", ".js", ".jse", ".ws", ".wsf",
    ".wsh", ".wsc", ".sct", ".scr", ".msi", ".msp", ".mst", ".msc", ".msix", ".msixbundle", ".appx", ".appxbundle",
    ".application", ".appref-ms", ".jar", ".sh", ".app", ".lnk", ".url", ".scf", ".hta", ".cpl", ".pif", ".reg",
    ".inf", ".chm", ".hlp", ".gadget", ".settingcontent-ms", ".library-ms", ".search-ms", ".diagcab", ".xll",
    ".py", ".pyw", ".iso", ".img", ".vhd", ".vhdx", ".command", ".tool", ".desktop",
})

_SEPARATORS = str.maketrans({"/": "_", "\\": "_", "\t": "_", "\n": "_", "\r": "_"})
MAX_LENGTH = 255


def clean(filename: str | None) -> str:
    """The name an attachment is kept under: one file's name, no controls, nothing invisible at its end."""
    name = storable_text.without_controls((filename or "").translate(_SEPARATORS))[:MAX_LENGTH]
    while name and _dropped_at_end(name[-1]):
        name = name[:-1]
    return name.strip() or "evidence"


def _dropped_at_end(char: str) -> bool:
    """A character Windows drops from the end of a file name (dot, space), or one nobody sees there."""
    return char == "." or char.isspace() or unicodedata.category(char) in ("Cf", "Zs")


def suffix(name: str) -> str:
    """The ending after the last dot, lower-cased, including a name that is all suffix (`.bat`, which
    `pathlib` reads as a hidden file with no suffix, but a desktop runs)."""
    _, dot, tail = name.rpartition(".")
    return f".{tail.lower()}" if dot else ""


def runnable(name: str) -> bool:
    """Whether a desktop would run (or mount, or follow) a file of this cleaned name on a click."""
    return suffix(name) in RUNNABLE_SUFFIXES
