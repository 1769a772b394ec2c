"""Environment variables in tests."""

from __future__ import annotations

import pytest


def forget(mp: pytest.MonkeyPatch, *names: str) -> None:
    """Unset `names` for the test and restore each as it was when the test ends, set or not.

    `monkeypatch.delenv` records nothing for a name that is not set, so a value the code under test
    then sets (`vigil demo` and `vigil serve` set DATABASE_URL for their server) outlived the test
    and reached every later test of the process."""
    for name in names:
        mp.setenv(name, "")
        mp.delenv(name)
