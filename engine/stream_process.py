"""The stream process: the live stream's matching in a forked process on the other core.

Why: an import of access events spends its time in two kinds of work that do not depend on each
other batch by batch: reading, validating, hashing and storing records (which must happen here,
in the import's transaction), and turning stored events into violations (facts, waiting on
durable_rules, rendering messages). In one process they share one core; here the second runs
beside the first. Why a fork: the process inherits the `StreamMatcher` as it was made (compiled
rulesets, reference facts, zones) without sending it.

The exchange is one batch deep, which keeps the pipe from ever deadlocking: the parent sends batch
k only after reading the answer to batch k-1, so this process is reading whenever the parent
writes, and the parent reads before it writes again. What travels is small: each event as
(type, id, version, stored JSON text), and back only violations.

This process matches on durable_rules in its own interpreter (`durable_inline`): a worker under it
made a third busy process on two cores and cost each event a second hop. It is supervised as a
worker is: if it dies (a crash of durable_rules' C core kills it), the parent forks a replacement
that drives its own durable_rules worker through the supervised backend (a crashed worker restarted
and the bundle retried, as in the parent) and sends it the unanswered batch again.
"""

from __future__ import annotations

import multiprocessing
import pickle
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

from engine import heap
from engine.errors import EngineFailure, ErrorDetail
from engine.records import json_codec
from engine.rules.backends import durable
from engine.rules.derive import RecordView
from engine.rules.derive_process import error_reply, raise_error_reply
from engine.rules.schemas import Violation

if TYPE_CHECKING:
    from engine.stream import StreamMatcher

#: One event on its way to the stream process: type, id, version and its stored JSON text.
Event = tuple[str, str, int, str]
_FINISH = b""


class StreamProcess:
    """The parent's handle on a stream process.

    `inline`: the process matches in its own interpreter (`durable_inline`), without a worker. If it
    dies, the parent forks a replacement that matches on the supervised worker (restarting it and
    retrying a bundle as `durable` does) and sends it the batch the dead process had not answered;
    the crash is counted as a worker crash is. A replacement that dies fails the import.
    """

    def __init__(self, matcher: StreamMatcher, inline: bool) -> None:
        self.matcher = matcher
        self.inline = inline
        self.process, self.conn = _fork(matcher, inline)
        self._unanswered: bytes | None = None  # the last message sent, until its answer is read

    @classmethod
    def start(cls, matcher: StreamMatcher) -> StreamProcess:
        """Fork a process that matches with `matcher` (a prepared `engine.stream.StreamMatcher`)."""
        return cls(matcher, inline=isinstance(matcher.backend, durable.DurableBackend))

    def exchange(self, events: list[Event]) -> list[list[Violation]]:
        """Send one batch; returns the violations of the batches the process has finished since."""
        done = self._answer() if self._unanswered is not None else []
        self._send(pickle.dumps(events, pickle.HIGHEST_PROTOCOL))
        return done

    def finish(self) -> list[list[Violation]]:
        """The violations of every batch still in the process; it then ends."""
        done = self._answer() if self._unanswered is not None else []
        self._send(_FINISH)
        return done + self._answer()

    def stop(self) -> None:
        """Close the pipe (the process ends when it reads that) and wait for it briefly."""
        self.conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()

    def _send(self, message: bytes) -> None:
        try:
            self.conn.send_bytes(message)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self._replace()  # it died after its last answer: the replacement takes this message
            self._send(message)
            return
        self._unanswered = message

    def _answer(self) -> list[list[Violation]]:
        try:
            reply = self.conn.recv_bytes()
        except (EOFError, OSError):
            unanswered, self._unanswered = self._unanswered, None
            self._replace()
            assert unanswered is not None
            self._send(unanswered)
            return self._answer()
        self._unanswered = None
        status, payload, extra = pickle.loads(reply)
        if status == "ok":
            durable.CRASHES["count"] += extra
            return list(payload)
        raise_error_reply(payload, extra, "matching failed in the stream process")

    def _replace(self) -> None:
        """The process died without an answer: fork its supervised replacement, once."""
        if not self.inline:
            raise self._lost()
        self.process.join(timeout=1)
        self.conn.close()
        durable.CRASHES["count"] += 1
        self.inline = False
        self.process, self.conn = _fork(self.matcher, inline=False)

    def _lost(self) -> EngineFailure:
        self.process.join(timeout=1)
        return EngineFailure(
            f"the stream process stopped without an answer (exit code {self.process.exitcode}); "
            "nothing of this import is kept",
            [ErrorDetail(reason="live evaluation of the imported events")],
        )


def _fork(matcher: StreamMatcher, inline: bool) -> tuple[BaseProcess, Connection]:
    mp = multiprocessing.get_context("fork")
    parent_end, child_end = mp.Pipe(duplex=True)
    planted = durable.host_plant() if inline else None  # taken here: a replacement is not planted again
    process = mp.Process(target=_child_main, args=(child_end, matcher, inline, planted), name="vigil-stream",
                         daemon=True)
    with heap.frozen():  # the inherited heap stays out of the child's collections (and so is not copied)
        process.start()
    child_end.close()
    return process, parent_end


def _child_main(conn: Connection, matcher: StreamMatcher, inline: bool, planted: str | None) -> None:
    durable.forget_worker()
    crashes = durable.CRASHES["count"]
    try:
        if inline:
            from engine.rules.backends.durable_inline import InlineDurableBackend

            matcher.match_here(InlineDurableBackend(planted))
        else:
            warm_up = getattr(matcher.backend, "warm_up", None)
            if warm_up is not None:
                warm_up()  # a backend's worker boots while the first batch's facts are built
        while True:
            try:
                message = conn.recv_bytes()
            except EOFError:  # the parent closed the pipe: the import failed or was abandoned
                return
            if message == _FINISH:
                done = matcher.drain()
            else:
                views = [RecordView(t, i, v, json_codec.loads(text)) for t, i, v, text in pickle.loads(message)]
                done = matcher.match(views)
            now = durable.CRASHES["count"]
            conn.send_bytes(pickle.dumps(("ok", done, now - crashes), pickle.HIGHEST_PROTOCOL))
            crashes = now
            if message == _FINISH:
                return
    except BaseException as exc:
        try:
            conn.send_bytes(error_reply(exc))
        except OSError:
            pass
    finally:
        durable.shutdown()
        conn.close()
