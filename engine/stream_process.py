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
(type, id, version, stored JSON text), and back only violations. This process drives its own
durable_rules worker through the same supervised backend (a crashed worker is restarted and the
bundle retried, as in the parent), and says how many workers crashed.
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
    """The parent's handle on a stream process."""

    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self._outstanding = False

    @classmethod
    def start(cls, matcher: StreamMatcher) -> StreamProcess:
        """Fork a process that matches with `matcher` (a prepared `engine.stream.StreamMatcher`)."""
        mp = multiprocessing.get_context("fork")
        parent_end, child_end = mp.Pipe(duplex=True)
        process = mp.Process(target=_child_main, args=(child_end, matcher), name="vigil-stream", daemon=True)
        with heap.frozen():  # the inherited heap stays out of the child's collections (and so is not copied)
            process.start()
        child_end.close()
        return cls(process, parent_end)

    def exchange(self, events: list[Event]) -> list[list[Violation]]:
        """Send one batch; returns the violations of the batches the process has finished since."""
        done = self._answer() if self._outstanding else []
        self._send(pickle.dumps(events, pickle.HIGHEST_PROTOCOL))
        return done

    def finish(self) -> list[list[Violation]]:
        """The violations of every batch still in the process; it then ends."""
        done = self._answer() if self._outstanding else []
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
            raise self._lost() from None
        self._outstanding = True

    def _answer(self) -> list[list[Violation]]:
        self._outstanding = False
        try:
            status, payload, extra = pickle.loads(self.conn.recv_bytes())
        except (EOFError, OSError):
            raise self._lost() from None
        if status == "ok":
            durable.CRASHES["count"] += extra
            return list(payload)
        raise_error_reply(payload, extra, "matching failed in the stream process")

    def _lost(self) -> EngineFailure:
        self.process.join(timeout=1)
        return EngineFailure(
            f"the stream process stopped without an answer (exit code {self.process.exitcode}); "
            "nothing of this import is kept",
            [ErrorDetail(reason="live evaluation of the imported events")],
        )


def _child_main(conn: Connection, matcher: StreamMatcher) -> None:
    durable.forget_worker()
    crashes = durable.CRASHES["count"]
    try:
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
