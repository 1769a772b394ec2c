"""The whole `vigil` application, every command registered: what tests, `python -m engine.cli.main`
and anything else that wants every command import. The console script starts from
`engine.cli.entry`, which loads only the command being run.
"""

from __future__ import annotations

from engine.cli.app import app
from engine.cli.entry import COMMAND_MODULES, load

load(list(dict.fromkeys(COMMAND_MODULES.values())))

__all__ = ["app"]

if __name__ == "__main__":  # pragma: no cover
    app()
