"""durable_rules in the calling process, for a process that is itself supervised: the stream process.

Why: the durable_rules backend (`engine.rules.backends.durable`) matches in a worker process, so a
crash of the C core (trap 13) kills only the worker. The live stream already matches in a process of
its own (`engine.stream_process`), whose parent replaces it when it dies and replays the batch it
was matching. A worker under that process cost every event a second hop (its facts pickled to the
worker and read back there, the matches returned), and made three busy processes on two cores. So
the stream process matches here, in its own interpreter, with the same host and the same guards
(`durable_host`: one host, registration once, every action wrapped, salted retries, sessions
emptied); a crash here is a crash of the stream process, and its parent's replacement matches on
the supervised worker.

Only a process whose death is survived by its parent may use this backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.rules.backends import Match, durable_host
from engine.rules.backends.durable import action_aliases, original_matches

if TYPE_CHECKING:
    from engine.rules.compiler.model import CompiledRuleset


class InlineDurableBackend:
    """The durable_rules backend without a worker; `planted`: a failure planted by a test (see
    `durable.host_plant`)."""

    name = "durable"

    def __init__(self, planted: str | None = None) -> None:
        durable_host.plant(planted)

    def evaluate(self, ruleset: CompiledRuleset, rule_ids: frozenset[str], sid: str,
                 facts: list[dict[str, Any]], triggers: list[dict[str, Any]]) -> list[Match]:
        durable_host.register(ruleset.durable_name, ruleset.durable_definition, action_aliases(ruleset))
        return original_matches(ruleset, durable_host.evaluate(ruleset.durable_name, rule_ids, sid, facts, triggers))
