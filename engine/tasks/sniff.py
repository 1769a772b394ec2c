"""Media type from content: magic bytes, never the file name or the uploader's claim.

Only the first bytes are read (`HEAD_BYTES`); text is recognised as UTF-8 without NULs, as UTF-16
with its byte-order mark (Notepad's "Unicode"), or as Windows-1252 with no control characters
(Excel's CSV on Windows): both had been refused as "binary of no known kind". Executables are
identified so the evidence store can refuse them. A signature of two or three letters (`BM`, `MZ`,
`ID3`) is confirmed by the structure that follows it: a text beginning "BMI readings" had been
kept as a bitmap, and one beginning "MZ" would have been refused as an executable.
"""

from __future__ import annotations

import json
import zipfile
from io import BytesIO

HEAD_BYTES = 8192
OCTET = "application/octet-stream"
EXECUTABLE_TYPES = frozenset({
    "application/x-msdownload", "application/x-executable", "application/x-mach-binary",
    "application/x-sharedlib", "application/java-vm",
})

#: Every media type `sniff` names for content the evidence store keeps (not an executable, not
#: `OCTET`; text without its charset parameter): what an attachment's download may be, as the
#: OpenAPI document declares it. tests/unit/tasks/test_sniff_and_recurrence.py holds it to `sniff`.
DOCUMENT_TYPES = (
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/tiff", "image/bmp", "image/webp", "image/heic",
    "application/x-ole-storage", "application/rtf", "application/gzip", "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "audio/mpeg", "video/mp4", "text/plain", "text/html", "application/xml", "application/json",
)

_SIGNATURES: list[tuple[bytes, int, str]] = [
    (b"%PDF-", 0, "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"II*\x00", 0, "image/tiff"),
    (b"MM\x00*", 0, "image/tiff"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "application/x-ole-storage"),  # legacy .doc/.xls/.msg
    (b"{\\rtf", 0, "application/rtf"),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"\x7fELF", 0, "application/x-executable"),
    (b"\xcf\xfa\xed\xfe", 0, "application/x-mach-binary"),
    (b"\xfe\xed\xfa\xcf", 0, "application/x-mach-binary"),
    (b"\xca\xfe\xba\xbe", 0, "application/java-vm"),
]
#: The sizes a BMP's DIB header has (BITMAPCOREHEADER to BITMAPV5HEADER).
_DIB_SIZES = frozenset({12, 40, 52, 56, 64, 108, 124})
#: Control characters a text file does not hold (all below space but tab, line feed, form feed and
#: carriage return; and DEL).
_CONTROL = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D} | {0x7F}
_OOXML = {"word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
          "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
          "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation"}


def sniff(head: bytes, whole: bytes | None = None) -> str:
    """The media type of content beginning with `head` (`whole`, if given, lets ZIPs be looked into)."""
    for magic, offset, media_type in _SIGNATURES:
        if head[offset:offset + len(magic)] == magic:
            return media_type
    short = _short_signature(head)
    if short is not None:
        return short
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "image/heic"
        return "video/mp4"
    if head[:4] == b"PK\x03\x04":
        return _zip_kind(whole) if whole is not None else "application/zip"
    return _text_kind(head)


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(BytesIO(data)) as zf:
            names = zf.namelist()
    except zipfile.BadZipFile:
        return "application/zip"
    if "[Content_Types].xml" in names:
        for prefix, media_type in _OOXML.items():
            if any(n.startswith(prefix) for n in names):
                return media_type
    return "application/zip"


def _short_signature(head: bytes) -> str | None:
    """A bitmap, an executable or an MP3 whose two or three letters the rest of the header bears out."""
    if head[:2] == b"BM" and len(head) >= 18 and head[6:10] == b"\x00\x00\x00\x00" \
            and int.from_bytes(head[14:18], "little") in _DIB_SIZES:
        return "image/bmp"
    if head[:2] == b"MZ" and (_text_kind(head) == OCTET or any(b in _CONTROL for b in head)):
        # a DOS header is full of zeros and control bytes: only a plain text is let through
        return "application/x-msdownload"
    if head[:3] == b"ID3" and len(head) >= 10 and head[3] in (2, 3, 4) and head[4] == 0 \
            and all(b < 0x80 for b in head[6:10]):
        return "audio/mpeg"
    return None


def _text_kind(head: bytes) -> str:
    if not head:
        return "text/plain"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return _utf16_kind(head)
    if b"\x00" in head:
        return OCTET
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) == HEAD_BYTES and exc.start >= len(head) - 4:  # a character cut by the sample's end
            text = head[: exc.start].decode("utf-8")
        else:
            return _legacy_kind(head)
    stripped = text.lstrip("\ufeff \t\r\n").lower()
    if stripped.startswith("<?xml"):
        return "application/xml"
    if stripped.startswith(("<!doctype html", "<html")):
        return "text/html"
    if stripped.startswith(("{", "[")) and len(head) < HEAD_BYTES:
        try:
            json.loads(text)
            return "application/json"
        except ValueError:
            pass
    return "text/plain"


def _utf16_kind(head: bytes) -> str:
    """UTF-16 text after its byte-order mark, with no control characters; else binary."""
    codec = "utf-16-le" if head[:2] == b"\xff\xfe" else "utf-16-be"
    body = head[2:len(head) - (len(head) % 2)]
    text = body.decode(codec, errors="replace")
    if "\ufffd" in text[:-1] or any(ord(c) in _CONTROL for c in text):
        return OCTET
    return "text/plain; charset=utf-16"


def _legacy_kind(head: bytes) -> str:
    """Windows-1252 text (no byte it leaves undefined, no control character), or binary."""
    try:
        text = head.decode("cp1252")
    except UnicodeDecodeError:
        return OCTET
    if any(ord(c) in _CONTROL for c in text):
        return OCTET
    return "text/plain; charset=windows-1252"
