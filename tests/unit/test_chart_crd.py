"""The Helm chart ships the CRD in its crds/; it must be the repository's CRD, byte for byte."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NAME = "transferrequests.transfer.dev.yaml"


def test_chart_crd_is_identical_to_the_source_of_truth() -> None:
    source = (REPO / "crds" / NAME).read_bytes()
    chart_copy = (REPO / "charts" / "transfer-operator" / "crds" / NAME).read_bytes()
    assert chart_copy == source, (
        "charts/transfer-operator/crds/ is out of date with crds/: run `make chart-crd`"
    )


def test_chart_ships_only_that_crd() -> None:
    crds = sorted(p.name for p in (REPO / "charts" / "transfer-operator" / "crds").iterdir())
    assert crds == [NAME]
