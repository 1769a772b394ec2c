"""YAML whole numbers too long for Python to read, refused as YAML errors at their place.

Python turns at most 4,300 digits into an int (its int-string limit, `sys.get_int_max_str_digits`:
the conversion's cost grows with the square of the digits). PyYAML's constructor calls `int()`, and
the ValueError it raised passed every handler, which catch `yaml.YAMLError`: a ruleset draft of
`a: 111...1` had answered the API with a 500 and `vigil rules validate` with a traceback. Made a
`ConstructorError` here, it is told as any other YAML mistake is, with its line and column.

Every loader of YAML a person writes has `construct_int`: the ruleset loaders (`engine.rules.loader`)
add it themselves, and the other readers of such text (a roster map, a parameter's value, a
filing's details) load with `safe_load` here instead of `yaml.safe_load`.
"""

from __future__ import annotations

import sys
from typing import Any

import yaml

__all__ = ["SafeLoader", "construct_int", "safe_load"]

INT_TAG = "tag:yaml.org,2002:int"


def construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    """A YAML integer, or a marked error for one longer than Python reads."""
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
    except ValueError:
        digits = sum(c.isdigit() for c in str(node.value))
        raise yaml.constructor.ConstructorError(
            None, None, f"a number of {digits:,} digits: too long to read (at most {sys.get_int_max_str_digits():,} "
            "digits), and far past any value taken here", node.start_mark) from None


class SafeLoader(yaml.SafeLoader):
    """`yaml.safe_load`'s loader, with `construct_int`."""


SafeLoader.add_constructor(INT_TAG, construct_int)  # type: ignore[arg-type]


def safe_load(text: str) -> Any:
    """`yaml.safe_load`, raising a `yaml.YAMLError` (never a ValueError) for a number too long to read."""
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a SafeLoader subclass
