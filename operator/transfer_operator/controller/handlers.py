"""kopf handlers: the only module that registers anything with kopf. Thin by design.

- A daemon per active request runs the transfer (`Runner.run`); its `when=` filter stops
  it (and kopf cancels it) as soon as the request is deleted, suspended or finished.
- An event handler turns users' edits (suspend, resume, re-drive) into phase transitions
  and keeps the per-phase gauge; it runs while a daemon is busy, so edits act at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Any

import kopf

from transfer_operator.api.control import control_events, dead_letter_label
from transfer_operator.api.status import ACTIVE, Status
from transfer_operator.controller.kube import GROUP, PLURAL, VERSION, Gone, KubeClient
from transfer_operator.controller.runner import Runner, ref_of
from transfer_operator.observability import metrics

PREFIX = "transfer.dev"


class _QuietObserve(logging.Filter):
    """kopf logs each `observe` call at INFO: one line per watch event per object, no news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "Handler 'observe' succeeded."


@kopf.on.startup()
async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    logging.getLogger("kopf.objects").addFilter(_QuietObserve())
    settings.persistence.finalizer = f"{PREFIX}/finalizer"
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=PREFIX, key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING  # kopf's own log lines never become Events
    settings.networking.request_timeout = 60
    settings.networking.connect_timeout = 10
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    memo.runner = Runner(
        client=KubeClient.from_env(),
        slots=asyncio.Semaphore(memo.max_concurrent_transfers),
        progress_interval=memo.progress_interval,
    )
    memo.phases = {}
    memo.phase_counts = Counter()


def _is_active(spec: kopf.Spec, status: kopf.Status, **_: Any) -> bool:
    return not spec.get("suspend") and (
        status.get("phase") is None or status.get("phase") in {p.value for p in ACTIVE}
    )


@kopf.daemon(GROUP, VERSION, PLURAL, id="transfer", when=_is_active, cancellation_timeout=30)
async def transfer(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    runner: Runner = memo.runner
    with contextlib.suppress(Gone):  # deleted meanwhile: kopf is about to stop us anyway
        await runner.run(ref_of(body), body)
    # Returning would mark the daemon done for this process's lifetime; instead wait for the
    # filter to stop matching (our own terminal status patch), so a re-drive respawns it.
    await asyncio.Event().wait()


@kopf.on.event(GROUP, VERSION, PLURAL)
async def observe(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    uid = body["metadata"]["uid"]
    deleted = event["type"] == "DELETED"
    _count_phase(memo, uid, None if deleted else body.get("status", {}).get("phase"))
    if deleted or body["metadata"].get("deletionTimestamp"):
        return
    meta = body["metadata"]
    status = Status.from_dict(body.get("status"))
    runner: Runner = memo.runner
    with contextlib.suppress(Gone):
        if patch := dead_letter_label(meta.get("labels", {}), status):
            await runner.client.patch_labels(ref_of(body), patch)
        for control in control_events(body.get("spec", {}), meta.get("annotations", {}), status):
            await runner.apply(ref_of(body), control)


def _count_phase(memo: kopf.Memo, uid: str, phase: str | None) -> None:
    """Keep `transfer_operator_requests{phase}` equal to what the watch stream says now."""
    counts: Counter[str] = memo.phase_counts
    old = memo.phases.pop(uid, None)
    if old is not None:
        counts[old] -= 1
        metrics.REQUESTS.labels(old).set(counts[old])
    if phase is not None:
        memo.phases[uid] = phase
        counts[phase] += 1
        metrics.REQUESTS.labels(phase).set(counts[phase])
