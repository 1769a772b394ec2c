"""The stream process: the live stream's matching in a forked process on the other core.

Why: an import of access events spends its time in two kinds of work that do not depend on each
other batch by batch: reading, validating, hashing and storing records (which must happen here,
in the import's transaction), and turning stored events into violations (facts, waiting on
durable_rules, rendering messages). In one process they share one core; here the second runs
beside the first. Why a fork: the process inherits the `StreamMatcher` as it was made (compiled
rulesets, reference facts, zones) without sending it.

The parent keeps up to `DEPTH` batches in flight, so this process always has the next batch waiting
when it sends an answer, and keeps matching while the parent pauses (writing a thousand findings
takes it 40-60 ms, a batch and a half of this process's work; with one batch in flight this process
sat idle through each such write, and for the parent's round trip between every two batches: 11%
of a 50k-event import, measured). The parent writes batches from a sender thread, so it never blocks
on a full pipe while this process is blocked sending it an answer (which would deadlock both); it
reads answers itself. What travels is small: each event as (type, id, version, stored JSON text),
and back only violations.

This process matches on durable_rules in its own interpreter (`durable_inline`): a worker under it
made a third busy process on two cores and cost each event a second hop. It is supervised as a
worker is: if it dies (a crash of durable_rules' C core kills it), the parent forks a replacement
that drives its own durable_rules worker through the supervised backend (a crashed worker restarted
and the bundle retried, as in the parent) and sends it the unanswered batch again.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import threading
from collections import deque
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING

from engine import forked, heap, json_codec
from engine.errors import EngineFailure, ErrorDetail
from engine.rules.backends import durable
from engine.rules.derive import RecordView
from engine.rules.derive_process import error_reply, raise_error_reply
from engine.rules.schemas import Violation

if TYPE_CHECKING:
    from engine.stream import StreamMatcher

#: One event on its way to the stream process: type, id, version and its stored JSON text.
Event = tuple[str, str, int, str]
_FINISH = b""
#: Batches sent to the stream process and not yet answered, at most.
DEPTH = 2


class StreamProcess:
    """The parent's handle on a stream process.

    `inline`: the process matches in its own interpreter (`durable_inline`), without a worker. If it
    dies, the parent forks a replacement that matches on the supervised worker (restarting it and
    retrying a bundle as `durable` does) and sends it every batch the dead process had not
    answered, in order; the crash is counted as a worker crash is. A replacement that dies fails
    the import.
    """

    def __init__(self, matcher: StreamMatcher, inline: bool) -> None:
        self.matcher = matcher
        self.inline = inline
        self.process, self.conn = _fork(matcher, inline)
        self.sender = _Sender(self.conn)
        self._unanswered: deque[bytes] = deque()  # messages sent, oldest first, until answered

    @classmethod
    def start(cls, matcher: StreamMatcher) -> StreamProcess:
        """Fork a process that matches with `matcher` (a prepared `engine.stream.StreamMatcher`)."""
        return cls(matcher, inline=isinstance(matcher.backend, durable.DurableBackend))

    def exchange(self, events: list[Event]) -> list[list[Violation]]:
        """Send one batch; returns the violations of the batches the process has finished since
        (waiting for the oldest when `DEPTH` are in flight)."""
        message = pickle.dumps(events, pickle.HIGHEST_PROTOCOL)
        replies = [self._reply() for _ in range(len(self._unanswered) - DEPTH + 1)]
        while self._unanswered and self.conn.poll():
            replies.append(self._reply())
        self._send(message)  # before reading the replies: the process starts on it at once
        return self._read_all(replies)

    def finish(self) -> list[list[Violation]]:
        """The violations of every batch still in the process; it then ends."""
        self._send(_FINISH)
        replies = [self._reply() for _ in range(len(self._unanswered))]
        return self._read_all(replies)

    def stop(self) -> None:
        """Close the pipe (the process ends when it reads that) and wait for it briefly.

        An import abandoned with batches in flight kills the process first: it may be blocked
        writing an answer no one will read while the sender is blocked writing it a batch."""
        if self._unanswered:
            self.process.kill()
        self.sender.stop()
        self.conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()

    def _send(self, message: bytes) -> None:
        self._unanswered.append(message)
        self.sender.put(message)  # a process that died is found when its answer is read

    def _reply(self) -> bytes:
        """The answer to the oldest message in flight; a process that died is replaced and sent
        everything it had not answered."""
        try:
            reply = self.conn.recv_bytes()
        except (EOFError, OSError):
            self._replace()
            for message in self._unanswered:
                self.sender.put(message)
            return self._reply()
        self._unanswered.popleft()
        return reply

    def _read_all(self, replies: list[bytes]) -> list[list[Violation]]:
        return [batch for reply in replies for batch in self._read(reply)]

    def _read(self, reply: bytes) -> list[list[Violation]]:
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
        self.sender.stop()
        self.conn.close()
        durable.CRASHES["count"] += 1
        self.inline = False
        self.process, self.conn = _fork(self.matcher, inline=False)
        self.sender = _Sender(self.conn)

    def _lost(self) -> EngineFailure:
        self.process.join(timeout=1)
        return EngineFailure(
            f"the stream process stopped without an answer (exit code {self.process.exitcode}); "
            "nothing of this import is kept",
            [ErrorDetail(reason="live evaluation of the imported events")],
        )


class _Sender:
    """Writes the parent's messages to the pipe on a thread of its own, in order.

    A batch is larger than a pipe holds, so writing it blocks until the process reads it; while the
    process is itself blocked writing an answer the parent has not read yet, a write from the
    parent's own thread would never end. A write that fails (the process died) ends the thread; the
    parent learns of the death when it reads the answer.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="vigil-stream-sender", daemon=True)
        self.thread.start()

    def put(self, message: bytes) -> None:
        self.queue.put(message)

    def stop(self) -> None:
        """Let the messages queued so far go out (or fail), then end the thread."""
        self.queue.put(None)
        self.thread.join(timeout=5)

    def _run(self) -> None:
        while (message := self.queue.get()) is not None:
            try:
                self.conn.send_bytes(message)
            except (OSError, ValueError):  # the process died, or the pipe was closed
                return


def _fork(matcher: StreamMatcher, inline: bool) -> tuple[BaseProcess, Connection]:
    mp = multiprocessing.get_context("fork")
    parent_end, child_end = mp.Pipe(duplex=True)
    planted = durable.host_plant() if inline else None  # taken here: a replacement is not planted again
    process = mp.Process(target=_child_main, args=(child_end, matcher, inline, planted, os.getpid(), parent_end),
                         name="vigil-stream", daemon=True)
    with heap.frozen():  # the inherited heap stays out of the child's collections (and so is not copied)
        process.start()
    child_end.close()
    return process, parent_end


def _child_main(conn: Connection, matcher: StreamMatcher, inline: bool, planted: str | None, parent_pid: int,
                parent_end: Connection) -> None:
    forked.guard(parent_pid, parent_end)
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
                views = [RecordView(t, i, v, json_codec.loads_stored(text)) for t, i, v, text in pickle.loads(message)]
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
