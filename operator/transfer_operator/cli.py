"""`transfer-operator run` (the operator) and `transfer-operator copy` (the engine alone)."""

from __future__ import annotations

import asyncio
import gc
import sys
import time
from typing import Any

import click

from transfer_operator import __version__
from transfer_operator.engine import Overwrite, Progress, TransferOptions, run_transfer
from transfer_operator.engine.progress import format_bytes
from transfer_operator.errors import TransferError
from transfer_operator.storage import StoreConfig


@click.group()
@click.version_option(__version__, prog_name="transfer-operator")
def main() -> None:
    """Move files and objects between clouds, verified, from Kubernetes or the shell."""


@main.command()
@click.option(
    "--namespace",
    "-n",
    "namespaces",
    multiple=True,
    metavar="GLOB",
    help="Watch only these namespaces (repeatable; globs and !negations as kopf "
    "takes them). Default: all namespaces.",
)
@click.option("--metrics-port", default=9090, show_default=True, help="Port for /metrics.")
@click.option("--health-port", default=8080, show_default=True, help="Port for /healthz.")
@click.option(
    "--log-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
@click.option(
    "--max-concurrent-transfers",
    default=8,
    show_default=True,
    type=click.IntRange(1),
    help="Transfers running at once in this process; the rest wait in Pending.",
)
@click.option(
    "--progress-interval",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.1),
    help="Seconds between status.progress updates of one running transfer.",
)
def run(
    namespaces: tuple[str, ...],
    metrics_port: int,
    health_port: int,
    log_level: str,
    max_concurrent_transfers: int,
    progress_interval: float,
) -> None:
    """Run the operator against the cluster in $KUBECONFIG (or in-cluster)."""
    import kopf

    import transfer_operator.controller.handlers  # noqa: F401  (registers the handlers)
    from transfer_operator.observability import metrics
    from transfer_operator.observability.logging import configure_logging

    configure_logging(log_level)
    metrics.serve(metrics_port)
    kopf.run(
        standalone=True,
        clusterwide=not namespaces,
        namespaces=namespaces,
        liveness_endpoint=f"http://0.0.0.0:{health_port}/healthz",
        memo=kopf.Memo(
            max_concurrent_transfers=max_concurrent_transfers,
            progress_interval=progress_interval,
        ),
    )
    _release_native_clients()


def _release_native_clients() -> None:
    """obstore 0.12 can abort (SIGABRT) at interpreter exit while its Rust objects are still
    alive; collecting them first makes a clean exit a clean exit (docs/object-stores.md)."""
    gc.collect()


def _parse_size(_: Any, __: Any, value: str | None) -> int | None:
    from transfer_operator.api.quantity import parse_quantity

    if value is None:
        return None
    try:
        return parse_quantity(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.argument("source")
@click.argument("destination")
@click.option(
    "--include", multiple=True, metavar="GLOB", help="Copy only matching keys (repeatable)."
)
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip matching keys (repeatable).")
@click.option(
    "--overwrite",
    type=click.Choice([o.value for o in Overwrite]),
    default=Overwrite.IF_DIFFERENT.value,
    show_default=True,
)
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Check the destination's bytes against the streamed sha256 before commit.",
)
@click.option(
    "--delete-source", is_flag=True, help="Move: delete each source after its verified copy."
)
@click.option(
    "--bandwidth-limit",
    callback=_parse_size,
    metavar="QUANTITY",
    help="Bytes per second across all streams, e.g. 50Mi.",
)
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--part-size",
    default="8Mi",
    show_default=True,
    callback=_parse_size,
    metavar="QUANTITY",
    help="Chunk size; memory is about part size x concurrency.",
)
@click.option(
    "--source-endpoint",
    metavar="URL",
    help="Endpoint for SOURCE (S3-compatible "
    "store, GCS emulator, or the origin an https:// URL is fetched from).",
)
@click.option("--destination-endpoint", metavar="URL", help="Endpoint for DESTINATION.")
@click.option("--source-region", metavar="REGION", help="Region for an s3:// SOURCE.")
@click.option("--destination-region", metavar="REGION", help="Region for an s3:// DESTINATION.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
def copy(source: str, destination: str, quiet: bool, **options: Any) -> None:
    """Copy SOURCE to DESTINATION with the operator's engine, no Kubernetes needed.

    \b
    URLs (a trailing / means a prefix, copied recursively):
      file:///abs/path  s3://bucket/key  gs://bucket/object  az://container/blob
      https://host/path (source only)

    \b
    Credentials come from the environment, as each provider's own CLI reads them:
      S3     AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION,
             AWS_ENDPOINT_URL; else web identity (EKS IRSA), ECS or instance metadata.
      GCS    GOOGLE_APPLICATION_CREDENTIALS, else Application Default Credentials;
             STORAGE_EMULATOR_HOST points at an emulator (anonymous).
      Azure  AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with
             AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN; AZURE_STORAGE_ACCOUNT alone
             uses workload or managed identity.
    --source-endpoint / --destination-endpoint override the endpoint of one side.

    Exit status: 0 copied and verified, 1 the copy failed, 2 bad usage.
    """
    if options["delete_source"] and not options["verify"]:
        raise click.UsageError("--delete-source needs --verify")
    transfer_options = TransferOptions(
        include=options["include"],
        exclude=options["exclude"],
        overwrite=Overwrite(options["overwrite"]),
        verify=options["verify"],
        delete_source=options["delete_source"],
        bandwidth_limit=options["bandwidth_limit"],
        concurrency=options["concurrency"],
        part_size=options["part_size"],
    )
    configs = (
        StoreConfig(options["source_endpoint"], options["source_region"]),
        StoreConfig(options["destination_endpoint"], options["destination_region"]),
    )
    progress = Progress()
    try:
        result = asyncio.run(_copy(source, destination, transfer_options, progress, quiet, configs))
    except TransferError as exc:
        click.echo(f"\ntransfer-operator: {exc.reason}: {exc.message}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("\ntransfer-operator: interrupted; nothing partial was left behind", err=True)
        sys.exit(130)
    finally:
        _release_native_clients()
    copied = f"{progress.objects_copied} copied, {progress.objects_skipped} already present"
    click.echo(
        f"{copied}, {format_bytes(progress.bytes_total)} in {progress.objects_total} objects"
    )
    if result.sha256:
        click.echo(f"sha256 {result.sha256}")


async def _copy(
    source: str,
    destination: str,
    options: TransferOptions,
    progress: Progress,
    quiet: bool,
    configs: tuple[StoreConfig, StoreConfig],
) -> Any:
    task = asyncio.create_task(
        run_transfer(
            source, destination, options, progress,
            source_config=configs[0], destination_config=configs[1],
        )
    )  # fmt: skip
    started = time.monotonic()
    interactive = sys.stderr.isatty()
    while not task.done():
        await asyncio.wait({task}, timeout=0.5 if interactive else 5.0)
        if not quiet:
            _show(progress, time.monotonic() - started, interactive)
    if not quiet and interactive:
        click.echo(err=True)
    return task.result()


def _show(progress: Progress, elapsed: float, interactive: bool) -> None:
    width = 30
    filled = width * progress.percent // 100
    rate = progress.bytes_done / max(elapsed, 1e-3)
    line = (
        f"[{'#' * filled}{'.' * (width - filled)}] {progress.percent:3d}% "
        f"{format_bytes(progress.bytes_done)}/{format_bytes(progress.bytes_total)} "
        f"{format_bytes(rate)}/s objects {progress.objects_done}/{progress.objects_total}"
    )
    click.echo(("\r" + line) if interactive else line, err=True, nl=not interactive)
