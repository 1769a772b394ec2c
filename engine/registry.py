"""A small typed registry used by every extensible family (rule functions, derivations, actions,
importers, packet formats). Registration is explicit (a decorator in the family module); lookups of
unknown names fail with the close matches, and a frozen registry refuses late additions."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from engine.errors import VigilError

T = TypeVar("T")


class UnknownNameError(VigilError):
    code = "registry.unknown_name"
    http_status = 422
    exit_code = 2


class Registry(Generic[T]):
    """Name -> entry, sorted iteration, close-match suggestions."""

    def __init__(self, family: str) -> None:
        self.family = family
        self._entries: dict[str, T] = {}
        self._frozen = False

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(entry: T) -> T:
            self.add(name, entry)
            return entry

        return decorator

    def add(self, name: str, entry: T) -> None:
        if self._frozen:
            raise RuntimeError(f"{self.family} registry is frozen; cannot add {name!r}")
        if name in self._entries:
            raise RuntimeError(f"{self.family} {name!r} is registered twice")
        self._entries[name] = entry

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._entries), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise UnknownNameError(f"unknown {self.family} {name!r}{hint}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[tuple[str, T]]:
        return iter(sorted(self._entries.items()))

    def names(self) -> list[str]:
        return sorted(self._entries)

    def freeze(self) -> None:
        self._frozen = True
