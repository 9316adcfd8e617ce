#!/usr/bin/env python3
"""Cross-cloud copy of one object MinIO (S3) -> Azurite (Azure Blob): transfer-operator's
`copy` command, against a bare obstore stream copy as the baseline.

    .venv/bin/python bench/s3_to_azure.py [--size-mib 1024] [--part-mib 8] [--concurrency 4]

The second row is the product: `transfer-operator copy s3://... az://...` with credentials
from the environment, timed whole (process start, planning, the metadata HEAD, the copy and
the Azure read-back verification) under `/usr/bin/time -v`.

Starts MinIO and Azurite with hack/objectstores (in a temporary state dir, stopped at the
end; or the ones in $TRANSFER_OPERATOR_OBJECTSTORES_DIR, left running), seeds one object of
random bytes in a separate process, then runs the copy in a process of its own under GNU
`/usr/bin/time -v`: `get_async` -> `.stream()` -> sha256 -> `put_async` (multipart, part
size x concurrency in flight). It prints MB/s and the copy process's peak RSS, then reads the
destination back and checks its sha256 independently. Needs obstore in the venv.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import importlib.util
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MiB = 1 << 20


def load_lib() -> Any:
    spec = importlib.util.spec_from_file_location(
        "objectstores_lib", REPO / "hack" / "objectstores_lib.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def stores(cfg: dict[str, Any]) -> tuple[Any, Any]:
    from obstore.store import AzureStore, S3Store

    s3, az = cfg["s3"], cfg["azure"]
    src = S3Store(
        cfg["bucket"],
        endpoint=s3["endpoint"],
        access_key_id=s3["access_key_id"],
        secret_access_key=s3["secret_access_key"],
        region=s3["region"],
        client_options={"allow_http": True},
    )
    dst = AzureStore(
        cfg["container"],
        account_name=az["account_name"],
        account_key=az["account_key"],
        endpoint=az["endpoint"],
        client_options={"allow_http": True},
    )
    return src, dst


async def seed(cfg: dict[str, Any]) -> None:
    import obstore as obs

    src, _ = stores(cfg)
    rnd = random.Random(20261127)
    h = hashlib.sha256()

    async def gen() -> Any:
        for _ in range(cfg["size_mib"] // 8):
            c = rnd.randbytes(8 * MiB)
            h.update(c)
            yield c

    await obs.put_async(src, "bench/object.bin", gen(), chunk_size=8 * MiB, max_concurrency=4)
    print(json.dumps({"sha256": h.hexdigest()}))


async def copy(cfg: dict[str, Any]) -> None:
    import obstore as obs

    src, dst = stores(cfg)
    h = hashlib.sha256()
    n = 0
    t0 = time.perf_counter()
    got = await obs.get_async(src, "bench/object.bin")

    async def tee() -> Any:
        nonlocal n
        async for chunk in got.stream(min_chunk_size=cfg["part_mib"] * MiB):
            h.update(chunk)
            n += len(chunk)
            yield chunk

    await obs.put_async(
        dst,
        "bench/object.bin",
        tee(),
        chunk_size=cfg["part_mib"] * MiB,
        max_concurrency=cfg["concurrency"],
        attributes={"sha256": "pending"},
    )
    secs = time.perf_counter() - t0
    print(json.dumps({"bytes": n, "seconds": secs, "sha256": h.hexdigest()}))


async def readback(cfg: dict[str, Any], key: str = "bench/object.bin") -> str:
    import obstore as obs

    _, dst = stores(cfg)
    h = hashlib.sha256()
    async for chunk in await obs.get_async(dst, key):
        h.update(chunk)
    return h.hexdigest()


def product_copy(cfg: dict[str, Any]) -> tuple[float, float]:
    """`transfer-operator copy` S3 -> Azure: (seconds, peak RSS MiB)."""
    s3, az = cfg["s3"], cfg["azure"]
    env = {
        **load_lib().clean_env(),
        "AWS_ACCESS_KEY_ID": s3["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": s3["secret_access_key"],
        "AWS_REGION": s3["region"],
        "AWS_ENDPOINT_URL": s3["endpoint"],
        "AZURE_STORAGE_CONNECTION_STRING": az["connection_string"],
    }
    cmd = [
        "/usr/bin/time",
        "-v",
        str(REPO / ".venv" / "bin" / "transfer-operator"),
        "copy",
        "-q",
        "--part-size",
        f"{cfg['part_mib']}Mi",
        "--concurrency",
        "1",
        f"s3://{cfg['bucket']}/bench/object.bin",
        f"az://{cfg['container']}/bench/copy.bin",
    ]
    started = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if res.returncode != 0:
        raise SystemExit(f"transfer-operator copy failed:\n{res.stderr[-3000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", res.stderr)
    return seconds, int(m[1]) / 1024 if m else float("nan")


def child(mode: str, cfg: dict[str, Any], timed: bool = False) -> tuple[dict[str, Any], str]:
    cmd = [sys.executable, __file__, f"--_{mode}", json.dumps(cfg)]
    if timed:
        cmd = ["/usr/bin/time", "-v", *cmd]
    res = subprocess.run(cmd, capture_output=True, text=True, env=load_lib().clean_env())
    if res.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1]), res.stderr


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size-mib", type=int, default=1024)
    p.add_argument("--part-mib", type=int, default=8)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--_seed", help=argparse.SUPPRESS)
    p.add_argument("--_copy", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args._seed or args._copy:
        asyncio.run(seed(json.loads(args._seed)) if args._seed else copy(json.loads(args._copy)))
        # obstore 0.12.1 sometimes aborts (SIGABRT) at interpreter exit after async list or
        # streaming put; collecting its objects while the interpreter is alive avoids it.
        gc.collect()
        return 0

    lib = load_lib()
    given = os.environ.get("TRANSFER_OPERATOR_OBJECTSTORES_DIR")
    tmp = None if given else tempfile.TemporaryDirectory(prefix="bench-objectstores-")
    state = Path(given or tmp.name) / "state"  # type: ignore[union-attr]
    started: list[str] = []
    try:
        started = lib.up(state, ("s3", "azure"))
        live = lib.live(state)
        s3 = lib.S3Server(
            *(live["s3"][k] for k in ("endpoint", "region", "access_key_id")),
            live["s3"]["secret_access_key"],
        )
        az_keys = ("endpoint", "emulator_url", "account_name", "account_key", "connection_string")
        az = lib.AzureServer(*(live["azure"][k] for k in az_keys))
        helpers = lib.ObjectStores(s3=s3, gcs=None, azure=az, http=None, env={})
        cfg = {
            "s3": live["s3"],
            "azure": live["azure"],
            "bucket": helpers.create_s3_bucket(),
            "container": helpers.create_azure_container(),
            "size_mib": args.size_mib,
            "part_mib": args.part_mib,
            "concurrency": args.concurrency,
        }
        print(f"seeding {args.size_mib} MiB into MinIO ...", file=sys.stderr)
        seeded, _ = child("seed", cfg)
        print("copying MinIO -> Azurite with obstore (timed) ...", file=sys.stderr)
        out, err = child("copy", cfg, timed=True)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
        rss_mib = int(m[1]) / 1024 if m else float("nan")
        back = asyncio.run(readback(cfg))
        print("copying MinIO -> Azurite with transfer-operator copy (timed) ...", file=sys.stderr)
        product_seconds, product_rss = product_copy(cfg)
        product_back = asyncio.run(readback(cfg, "bench/copy.bin"))
        gc.collect()
        size = args.size_mib * MiB
        ok = out["sha256"] == seeded["sha256"] == back == product_back
        rows = [
            ("obstore stream copy (baseline)", out["seconds"], rss_mib),
            ("transfer-operator copy", product_seconds, product_rss),
        ]
        print(f"{args.size_mib} MiB, {args.part_mib} MiB parts; sha256 verified: {ok}")
        for name, seconds, rss in rows:
            print(
                f"  {name:32s} {seconds:6.1f} s  {size / seconds / 1e6:6.1f} MB/s  "
                f"peak RSS {rss:6.1f} MiB"
            )
        return 0 if ok else 1
    finally:
        lib.down(state, started if given else None)
        if tmp:
            tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
