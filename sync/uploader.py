"""The kiosk's background uploader: drains the outbox to the central server.

One upload at a time, oldest first, in batches capped by count and bytes. A 413
halves the batch and retries at once; any other failure ends the attempt, and the
background thread waits with capped, jittered exponential backoff that never undercuts
the server's Retry-After. Items the server rejects are set aside by the store and
never block the rest. Nothing is held in memory: after a restart the outbox is
simply read again.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from hailong.config.settings import SyncSettings
from hailong.i18n import _
from hailong.sync import client
from hailong.sync.backoff import Backoff
from hailong.sync.boot import current_boot_id
from hailong.sync.http_session import HttpSession
from hailong.sync.store import KioskStore, PendingItem
from hailong.sync.wire import Batch

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
_STAMP_SLACK_BYTES = 16


@dataclass(frozen=True)
class PushReport:
    """What one push (or a run of pushes) did. `error` is None when it succeeded."""

    sent: int = 0
    set_aside: int = 0
    batches: int = 0
    remaining: int = 0
    error: str | None = None
    status: int | None = None
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def then(self, later: PushReport) -> PushReport:
        """This report followed by `later`: counts add up, the end state is later's."""
        return PushReport(
            sent=self.sent + later.sent,
            set_aside=self.set_aside + later.set_aside,
            batches=self.batches + later.batches,
            remaining=later.remaining,
            error=later.error,
            status=later.status,
            retry_after_s=later.retry_after_s,
        )


class Uploader:
    def __init__(
        self,
        store: KioskStore,
        settings: SyncSettings,
        credentials: Callable[[], str | None],
        *,
        clock: Callable[[], float] = time.monotonic,
        on_progress: Callable[[PushReport], None] | None = None,
        backoff: Backoff | None = None,
        random_source: Callable[[], float] = random.random,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        boot_id: UUID | None = None,
    ) -> None:
        """`clock` must be CLOCK_MONOTONIC (as the ratings' monotonic_ms) for the
        server's time correction; `on_progress` hears every background push."""
        self._store = store
        self._settings = settings
        self._credentials = credentials
        self._clock = clock
        self._on_progress = on_progress
        self._backoff = backoff or Backoff(base_s=1.0, cap_s=settings.backoff_max_s)
        self._random = random_source
        self._wall_clock = wall_clock
        self._boot_id = boot_id or current_boot_id()
        # Shrunk by 413 answers and kept small for the life of the uploader: the
        # server's limit does not change between batches.
        self._max_items = settings.batch_max_items
        self._max_bytes = settings.batch_max_bytes
        self._http = HttpSession()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one upload -------------------------------------------------------------------

    def _read_batch(self, after_seq: int = 0) -> list[PendingItem]:
        # The clock stamps' text varies by a few characters (microseconds, digits).
        envelope = len(client.batch_body(self._stamp())) + _STAMP_SLACK_BYTES
        budget = max(1, self._max_bytes - envelope)
        return self._store.pending_wire(self._max_items, budget, after_seq=after_seq)

    def _stamp(self) -> Batch:
        """An empty batch stamped with the kiosk's clocks now."""
        return Batch(
            sent_wall_time=self._wall_clock(),
            sent_monotonic_ms=int(self._clock() * 1000),
            boot_id=self._boot_id,
            items=[],
        )

    def push_once(self) -> PushReport:
        """Upload the oldest batch; on 413 halve it and try again at once."""
        return self._push(None, None)[0]

    def _push(
        self, ready: Future[list[PendingItem]] | None, reader: Executor | None
    ) -> tuple[PushReport, Future[list[PendingItem]] | None]:
        """Upload the oldest batch (`ready`, when already read). With `reader`, the
        batch after it is read while this one is on its way; it is returned for the
        next call only when the server answered for every rating of this one."""
        token = self._credentials()
        if not token:
            missing = PushReport(
                remaining=self._store.backlog(), error=str(client.NotEnrolledError())
            )
            return missing, None
        # Empty ahead of the queue's end is possible: a rating released from hold
        # meanwhile sits before the batch that was read ahead.
        items = (ready.result() if ready is not None else []) or self._read_batch()
        while items:
            # Stamped just before it leaves: the server corrects times with it.
            body = client.spliced_body(self._stamp(), [waiting.json for waiting in items])
            upcoming = reader.submit(self._read_batch, items[-1].kiosk_seq) if reader else None
            try:
                result = client.upload_body(
                    self._settings.server_url, token, body, self._settings.timeout_s, self._http
                )
            except client.SyncHTTPError as exc:
                if upcoming is not None:
                    upcoming.cancel()
                if exc.too_large and len(items) > 1:
                    self._shrink(len(items), len(body))
                    items = self._read_batch()
                    continue
                self._store.note_attempt(str(exc))
                return PushReport(
                    remaining=self._store.backlog(),
                    error=str(exc),
                    status=exc.status,
                    retry_after_s=exc.retry_after_s,
                ), None
            sent_seqs = {waiting.id: waiting.kiosk_seq for waiting in items}
            applied = self._store.apply_results(result.results, sent_seqs, note_success=True)
            report = PushReport(
                sent=applied.sent,
                set_aside=applied.set_aside,
                batches=1,
                remaining=self._store.backlog(),
            )
            if applied.answered < len(sent_seqs) and upcoming is not None:
                upcoming.cancel()
                upcoming = None
            return report, upcoming
        # Nothing to send: the backlog, if any, is held while citizens answer.
        return PushReport(remaining=self._store.backlog()), None

    def _shrink(self, items: int, body_bytes: int) -> None:
        self._max_items = max(1, items // 2)
        self._max_bytes = max(1, body_bytes // 2)
        log.info(
            "the server found a batch of %d ratings too large; trying %d", items, self._max_items
        )

    def push_all(self, progress: Progress | None = None) -> PushReport:
        """Upload until nothing more can go (the backlog is empty, or what is left is
        held while citizens answer the follow-up questions), an upload fails or the
        server stops answering for the items it is sent. `progress(done, total)`
        after each batch.
        Still one upload at a time; the next batch is read from the outbox while the
        server works on the one before."""
        report = PushReport(remaining=self._store.backlog())
        if progress:
            progress(0, report.remaining)
        ready: Future[list[PendingItem]] | None = None
        with ThreadPoolExecutor(1, thread_name_prefix="hailong-outbox-reader") as reader:
            while report.remaining and report.ok:
                step, ready = self._push(ready, reader)
                report = report.then(step)
                if progress:
                    done = report.sent + report.set_aside
                    progress(done, done + report.remaining)
                if step.ok and not step.batches:
                    break
                if step.ok and step.sent + step.set_aside == 0:
                    return report.then(
                        PushReport(
                            remaining=step.remaining,
                            error=_("the server answered without a verdict for the ratings sent"),
                        )
                    )
            if ready is not None:
                ready.cancel()
        return report

    # -- in the background ------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the uploader is already running")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="hailong-uploader", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A new rating is waiting: upload soon (unless backing off after failures)."""
        self._wake.set()

    def stop(self, timeout_s: float | None = None) -> bool:
        """Stop the thread; waits at most `timeout_s` (default: one request's timeout
        and a second) for an upload in flight. True when it has stopped."""
        thread = self._thread
        if thread is None:
            self._http.close()
            return True
        self._stopping.set()
        self._wake.set()
        thread.join(self._settings.timeout_s + 1.0 if timeout_s is None else timeout_s)
        if thread.is_alive():
            return False
        self._thread = None
        self._http.close()
        return True

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                report = self.push_all()
            except Exception as exc:
                # The store failing (disk full, damaged file) must not kill the thread
                # for good: the next attempt may find the disk freed.
                log.exception("upload attempt crashed")
                report = PushReport(error=f"{exc.__class__.__name__}: {exc}")
            if self._on_progress is not None:
                try:
                    self._on_progress(report)
                except Exception:
                    log.exception("the upload progress listener failed")
            if report.ok:
                if failures:
                    log.info("uploads resumed after %d failed attempts", failures)
                failures = 0
                self._wake.wait(self._settings.interval_s)
                continue
            failures += 1
            delay = self._backoff.delay(failures, self._random, report.retry_after_s)
            if failures == 1:
                log.warning("upload failed, will retry with backoff: %s", report.error)
            else:
                log.debug("upload failed again (%d): %s", failures, report.error)
            # Only stop() cuts a backoff short: new ratings must not hammer a server
            # that asked us to wait.
            self._stopping.wait(delay)
