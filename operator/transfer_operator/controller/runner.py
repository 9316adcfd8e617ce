"""The work behind one TransferRequest: apply phase transitions, run attempts, report progress.

Every transition is computed by the pure `api.machine.transition` from a fresh read and
written with that read's resourceVersion, so two writers (the daemon finishing a copy and
a user's suspend) can never interleave: the loser re-reads and the machine decides again.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

import kopf

from transfer_operator.api.machine import (
    Accepted,
    AttemptFailed,
    Event,
    Rejected,
    Started,
    Succeeded,
    Transition,
    transition,
)
from transfer_operator.api.spec import (
    Endpoint,
    RetryPolicy,
    SpecInvalid,
    TransferSpec,
    parse_spec,
)
from transfer_operator.api.status import ACTIVE, Phase, ProgressStatus, Status, parse_time
from transfer_operator.controller.kube import Conflict, KubeClient, Ref
from transfer_operator.engine import Progress, run_transfer
from transfer_operator.engine.progress import format_bytes
from transfer_operator.errors import TransferError
from transfer_operator.observability import metrics
from transfer_operator.observability.logging import get_logger
from transfer_operator.storage import StoreConfig, parse_url

_TERMINAL_RESULT = {
    Phase.SUCCEEDED: "succeeded",
    Phase.FAILED: "failed",
    Phase.DEAD_LETTERED: "dead_lettered",
}


def ref_of(body: Any) -> Ref:
    meta = body["metadata"]
    return Ref(namespace=meta["namespace"], name=meta["name"], uid=meta["uid"])


@dataclass
class Runner:
    client: KubeClient
    slots: asyncio.Semaphore
    progress_interval: float = 5.0
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    draw: Callable[[], float] = field(default=random.random)

    # ---- transitions ----------------------------------------------------------------------

    async def apply(
        self,
        ref: Ref,
        event: Event,
        policy: RetryPolicy | None = None,
        obj: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Apply `event` to the request as last read (`obj`, else read now).

        Written with that read's resourceVersion: on a conflict, re-read and let the machine
        decide again. Returns the object as it now stands.
        """
        while True:
            obj = obj or await self.client.get(ref)
            current = Status.from_dict(obj.get("status"))
            result = transition(
                current, event, policy=policy or _policy_of(obj),
                generation=obj["metadata"]["generation"], now=self.clock(),
            )  # fmt: skip
            if result.status == current:
                return obj
            try:
                # Shielded: once the new status is written, its Event and metrics must follow
                # even if kopf cancels this daemon because of the very change just written.
                return await asyncio.shield(self._commit(ref, obj, current, result))
            except Conflict:
                obj = None

    async def _commit(
        self, ref: Ref, obj: dict[str, Any], current: Status, result: Transition
    ) -> dict[str, Any]:
        patched = await self.client.patch_status(
            ref, result.status.to_dict(), obj["metadata"]["resourceVersion"]
        )
        if result.notice:
            kopf.event(
                cast(kopf.Body, obj), type=result.notice.type, reason=result.notice.reason,
                message=result.notice.message,
            )  # fmt: skip
        self._observe(ref, current, result.status)
        return patched

    @staticmethod
    def _observe(ref: Ref, old: Status, new: Status) -> None:
        log = get_logger(namespace=ref.namespace, name=ref.name, uid=ref.uid, attempt=new.attempts)
        log.info(
            "phase changed" if old.phase != new.phase else "status changed",
            phase=new.phase, previous=old.phase,
            reason=new.last_error.reason if new.last_error else None,
        )  # fmt: skip
        if new.phase is old.phase:
            return
        if new.phase in _TERMINAL_RESULT:
            metrics.TRANSFERS.labels(_TERMINAL_RESULT[new.phase]).inc()
        elif new.phase is Phase.RETRYING and new.last_error:
            metrics.RETRIES.labels(new.last_error.reason).inc()

    # ---- the daemon's loop ---------------------------------------------------------------

    async def run(self, ref: Ref, live: Mapping[str, Any]) -> None:
        """Drive one request until it leaves the active phases.

        Returns when there is nothing left for a daemon to do; kopf cancels it when the
        request is deleted or suspended, or the operator stops (then the engine aborts its
        uploads, and a restarted operator picks the Running request up again). `live` is
        kopf's live view of the object, used only to notice a re-drive while waiting to retry.
        """
        obj = await self.client.get(ref)
        while True:
            status = Status.from_dict(obj.get("status"))
            try:
                spec = parse_spec(obj.get("spec") or {})
            except SpecInvalid as exc:
                await self.apply(ref, Rejected(exc.message), obj=obj)
                return
            if status.phase is None and self.slots.locked():
                # Queued behind others: say so. With a free slot, go straight to Running
                # and save a status write per request.
                obj = await self.apply(ref, Accepted(), spec.retry, obj)
                continue
            if status.phase is not None and status.phase not in ACTIVE:
                return
            if status.phase is Phase.RETRYING and await self._wait_for_retry(status, live):
                obj = await self.client.get(ref)
                continue
            async with self.slots:
                if status.phase is not Phase.RUNNING:
                    # A fresh read: waiting for a slot may have taken a while.
                    obj = await self.apply(ref, Started(), spec.retry)
                    status = Status.from_dict(obj.get("status"))
                    if status.phase is not Phase.RUNNING:
                        continue
                outcome = await self._attempt(ref, spec, status)
            obj = await self.apply(ref, outcome, spec.retry)

    async def _wait_for_retry(self, status: Status, live: Mapping[str, Any]) -> bool:
        """Sleep until `nextRetryTime`; True when woken early because the status moved on."""
        due = parse_time(status.next_retry_time) or self.clock()
        while (wait := (due - self.clock()).total_seconds()) > 0:
            await asyncio.sleep(min(wait, 1.0))
            if (live.get("status") or {}).get("nextRetryTime") != status.next_retry_time:
                return True
        return False

    async def _attempt(self, ref: Ref, spec: TransferSpec, status: Status) -> Event:
        log = get_logger(
            namespace=ref.namespace, name=ref.name, uid=ref.uid, attempt=status.attempts
        )
        log.info("attempt started", source=spec.source.url, destination=spec.destination.url)
        progress = Progress()
        options = replace(spec.options, writer_id=ref.uid)
        schemes = (parse_url(spec.source.url).scheme, parse_url(spec.destination.url).scheme)
        finished = asyncio.Event()
        reporter = asyncio.create_task(self._report(ref, progress, schemes, finished))
        started = time.monotonic()
        metrics.ATTEMPTS.inc()
        metrics.IN_FLIGHT.inc()
        outcome: Event
        try:
            result = await run_transfer(
                spec.source.url, spec.destination.url, options, progress,
                source_config=await self._store_config(ref, spec.source),
                destination_config=await self._store_config(ref, spec.destination),
            )  # fmt: skip
        except TransferError as exc:
            log.warning(
                "attempt failed", reason=exc.reason, error=exc.message, retryable=exc.retryable
            )
            outcome = AttemptFailed(exc.reason, exc.message, exc.retryable, self.draw())
        except Exception as exc:  # a bug or an unclassified library error: retry, loudly
            log.exception("attempt failed unexpectedly")
            outcome = AttemptFailed("InternalError", type(exc).__name__, True, self.draw())
        else:
            elapsed = time.monotonic() - started
            server_side = (
                f" ({progress.objects_server_side} server-side)"
                if progress.objects_server_side
                else ""
            )
            summary = (
                f"copied {progress.objects_copied}{server_side} of {progress.objects_total} "
                f"objects ({format_bytes(progress.bytes_total)}), "
                f"{progress.objects_skipped} already present, in {elapsed:.1f}s"
            )
            outcome = Succeeded(
                _progress_status(progress, progress.bytes_total / max(elapsed, 1e-3), done=True),
                result.sha256, summary,
            )  # fmt: skip
            metrics.OBJECTS.labels("copied").inc(progress.objects_copied)
            metrics.OBJECTS.labels("skipped").inc(progress.objects_skipped)
            log.info("attempt succeeded", summary=summary, sha256=result.sha256)
        finally:
            metrics.IN_FLIGHT.dec()
            # Let an in-flight progress patch land before the outcome is written, so a stale
            # progress snapshot can never overwrite the final one.
            finished.set()
            await reporter
        duration = time.monotonic() - started
        metrics.DURATION.labels(
            "succeeded" if isinstance(outcome, Succeeded) else "failed"
        ).observe(duration)
        return outcome

    async def _store_config(self, ref: Ref, endpoint: Endpoint) -> StoreConfig:
        """Endpoint settings plus the referenced Secret's data, read fresh for each attempt
        so a rotated Secret takes effect on the next retry."""
        credentials = None
        if endpoint.credentials_secret:
            credentials = await self.client.get_secret_data(
                ref.namespace, endpoint.credentials_secret
            )
        return StoreConfig(endpoint.endpoint, endpoint.region, credentials)

    async def _report(
        self, ref: Ref, progress: Progress, schemes: tuple[str, str], finished: asyncio.Event
    ) -> None:
        """Patch `status.progress` every interval, only when something visible changed."""
        counter = metrics.BYTES.labels(*schemes)
        last_bytes, last_time = 0, time.monotonic()
        last_shown: ProgressStatus | None = None
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(finished.wait(), self.progress_interval)
                if finished.is_set():
                    return
                now, snap = time.monotonic(), progress.snapshot()
                delta = snap.bytes_done - last_bytes
                counter.inc(max(0, delta))
                shown = _progress_status(snap, max(0, delta) / max(now - last_time, 1e-3))
                last_bytes, last_time = snap.bytes_done, now
                if shown != last_shown:
                    try:
                        await self.client.patch_status(ref, {"progress": shown.to_dict()})
                        last_shown = shown
                    except Exception as exc:  # progress is best effort; the copy goes on
                        get_logger(namespace=ref.namespace, name=ref.name, uid=ref.uid).warning(
                            "progress update failed", error=type(exc).__name__
                        )
        finally:
            counter.inc(max(0, progress.bytes_done - last_bytes))


def _progress_status(p: Progress, rate: float, done: bool = False) -> ProgressStatus:
    return ProgressStatus(
        bytes_done=p.bytes_done, bytes_total=p.bytes_total, objects_done=p.objects_done,
        objects_total=p.objects_total, percent=100 if done else p.percent,
        bytes_per_second=int(rate),
    )  # fmt: skip


def _policy_of(obj: dict[str, Any]) -> RetryPolicy:
    try:
        return parse_spec(obj.get("spec") or {}).retry
    except SpecInvalid:
        return RetryPolicy()
