"""An on/off flag's help line shows no value label.

Typer 0.29 labels every option with its Python type, so `vigil demo --help` printed `--no-serve
<bool>` and `--json <bool>`: a reader took the flag for one that wants a value and wrote `--json
true`, which Click then read as a stray argument. A flag takes none, so its label is dropped; every
other option keeps Typer's (`<str>`, `<int range>`, a choice's values). `install()` sets it once,
on the class, where the application is made (as `engine.cli.once` does)."""

from __future__ import annotations

from typing import Any

from typer.core import TyperOption

__all__ = ["install"]

_display_type_rich = TyperOption.display_type_rich


def _flag_has_no_label(self: TyperOption, ctx: Any) -> str | None:
    if self.is_bool_flag and self.metavar is None:
        return None
    return _display_type_rich(self, ctx)


def install() -> None:
    """Drop the `<bool>` label from every flag's help line (idempotent)."""
    TyperOption.display_type_rich = _flag_has_no_label  # type: ignore[method-assign]
