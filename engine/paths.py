"""Where a deployment keeps the files that are not in its database: one place, whatever the
current directory.

    var_dir()     VIGIL_VAR_DIR, else the installation's var/ (beside its policies/ and rulesets/)
                  evidence/ (task attachments), packets/ (built packets), keys/ (the signing key)

Each has its own variable too (VIGIL_EVIDENCE_DIR, VIGIL_PACKET_DIR, VIGIL_KEY_DIR). Why: these had
defaulted to ./var under the current directory while policies and rulesets came from the
installation, so an attachment made from another folder was stored there, and every packet build
and download run from anywhere else then failed on "no evidence with sha256 ...". A relative
variable is taken from the current directory, as any path a user types.
"""

from __future__ import annotations

import os
from pathlib import Path

INSTALL = Path(__file__).resolve().parents[1]


def var_dir() -> Path:
    return Path(os.environ.get("VIGIL_VAR_DIR") or INSTALL / "var")


def under_var(variable: str, name: str) -> Path:
    """The folder `variable` names, else var_dir()/name."""
    return Path(os.environ.get(variable) or var_dir() / name)
