"""plan -> copy -> verify, with progress: pure asyncio, no Kubernetes."""

from transfer_operator.engine.options import Overwrite, TransferOptions
from transfer_operator.engine.progress import Progress
from transfer_operator.engine.transfer import TransferResult, run_transfer

__all__ = ["Overwrite", "Progress", "TransferOptions", "TransferResult", "run_transfer"]
