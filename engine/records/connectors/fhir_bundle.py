"""A FHIR Bundle document read entry by entry, so memory stays flat at any size.

Why: a Bundle is one JSON document, and reading it whole (the 100,000 AuditEvents of a year's export,
244 MB) had held the text, the parsed document and every entry at once: 2.17 GB, where the same
events as NDJSON stayed near 100 MB. ijson (yajl) reads the `entry` array one item at a time.

Why two passes: an AuditEvent may name another entry of its Bundle by that entry's `fullUrl`
(`urn:uuid:...`), and the entry named may come after it. The first pass (`outline`) reads the whole
document once, keeping for each entry with a `fullUrl` only what a reference to it needs (its
resourceType, id and first identifier: `fhir_auditevent.Resolver`), and checks everything the whole-
document reader refused for (bad JSON, text that is not UTF-8, a key given twice in one object); the
second (`entries`) builds one entry at a time for the mapping.

Whatever the streamed reading cannot read exactly as the standard library would (bad JSON, a byte-
order mark, NaN, an integer past 64 bits, a lone surrogate `\\ud800`, a key given twice) makes
`outline` answer None, and the caller reads the document whole as before: such a file is refused or
unusual, and the whole-document reader's words for it (line, column, which key) are the ones people
already know. So is a document that is no Bundle (a single AuditEvent is one resource).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import ijson

#: yajl reads a lone surrogate escape as '?' where the standard library keeps it: such text is read whole.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
#: Bytes kept from one chunk to the next, so that an escape split between two reads is still seen.
_OVERLAP = 5

Opener = Callable[[], IO[bytes]]


@dataclass
class Outline:
    """What the first pass found: the top-level resourceType, how `entry` is given (`array`,
    `other` or None when absent), and the Bundle's entries by `fullUrl`, each kept as the few
    fields a reference to it is resolved with."""

    resource_type: Any = None
    entry: str | None = None
    referenced: dict[str, dict[str, Any]] = field(default_factory=dict)


class _Counted:
    """A binary stream that tells `on_read` how many bytes each read gave, and watches them for a
    lone-surrogate escape (`surrogate`)."""

    def __init__(self, stream: IO[bytes], on_read: Callable[[int], None]) -> None:
        self._stream = stream
        self._on_read = on_read
        self._tail = b""
        self.surrogate = False

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if data:
            self._on_read(len(data))
            if not self.surrogate:
                self.surrogate = _SURROGATE_ESCAPE.search(self._tail + data) is not None
                self._tail = data[-_OVERLAP:]
        return data


class _Entry:
    """The fields of one entry a reference resolves with, gathered from its parse events."""

    def __init__(self) -> None:
        self.full_url: str | None = None
        self.has_resource = False
        self.resource_type: str | None = None
        self.id: str | None = None
        self.identifier: str | None = None

    def stub(self) -> dict[str, Any]:
        """The entry's resource as `Resolver` reads it: resourceType, id, the first identifier (kept
        small: one is kept per entry with a fullUrl, a hundred thousand in a year's export)."""
        stub: dict[str, Any] = {"resourceType": sys.intern(self.resource_type) if self.resource_type else None,
                                "id": self.id}
        if self.identifier is not None:
            stub["identifier"] = [{"value": self.identifier}]
        return stub


#: Where an entry's fields are, as ijson names the place of a value (`_Entry` attribute to set).
_WATCHED = {
    "entry.item.fullUrl": "full_url",
    "entry.item.resource.resourceType": "resource_type",
    "entry.item.resource.id": "id",
    "entry.item.resource.identifier.value": "identifier",
    "entry.item.resource.identifier.item.value": "identifier",
}


def outline(open_stream: Opener, on_read: Callable[[int], None]) -> Outline | None:
    """Read the document once, as `ijson` events; None when it is not a Bundle this module reads
    exactly as the whole-document reader would (module docstring)."""
    found = Outline()
    keys: list[set[str]] = []  # the keys of each object open, to find one given twice
    entry: _Entry | None = None
    with open_stream() as raw:
        stream = _Counted(raw, on_read)
        try:
            for prefix, event, value in ijson.parse(stream, use_float=True):
                if event == "map_key":
                    if value in keys[-1]:
                        return None
                    keys[-1].add(value)
                    continue
                if prefix == "entry" and found.entry is None:  # the first event of the entry member
                    found.entry = "array" if event == "start_array" else "other"
                if event == "start_map":
                    keys.append(set())
                    if prefix == "entry.item":
                        entry = _Entry()
                    elif prefix == "entry.item.resource" and entry is not None:
                        entry.has_resource = True
                elif event == "end_map":
                    keys.pop()
                    if prefix == "entry.item" and entry is not None:
                        if entry.full_url is not None and entry.has_resource:
                            found.referenced[entry.full_url] = entry.stub()
                        entry = None
                elif prefix == "resourceType":
                    found.resource_type = value
                elif entry is not None and event == "string" and prefix in _WATCHED:
                    _note(entry, _WATCHED[prefix], value)
        except (ijson.JSONError, ValueError, OverflowError):
            return None
        if stream.surrogate:
            return None
    return found


def _note(entry: _Entry, name: str, value: str) -> None:
    if name == "identifier":  # the first identifier with a value (`_first_identifier`)
        if entry.identifier is None and value:
            entry.identifier = value
    else:
        setattr(entry, name, value)


def entries(open_stream: Opener, on_read: Callable[[int], None]) -> Iterator[Any]:
    """Each item of the document's `entry` array, in order, built one at a time (the second pass)."""
    with open_stream() as raw:
        yield from ijson.items(_Counted(raw, on_read), "entry.item", use_float=True)
