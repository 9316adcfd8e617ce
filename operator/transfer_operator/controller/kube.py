"""The operator's own small Kubernetes client for TransferRequests.

kopf applies a daemon's `patch` only when the daemon exits, so live progress and phase
changes are written here. pykube-ng is the light client kopf itself logs in with
(the official client was ~60% of a no-op operator's memory in kopf's measurements); its
calls are synchronous, so each runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from typing import Any

import pykube
import requests

from transfer_operator.errors import AccessDenied, NotFound

GROUP = "transfer.dev"
VERSION = "v1alpha1"
PLURAL = "transferrequests"
API_VERSION = f"{GROUP}/{VERSION}"


class Conflict(Exception):
    """The object changed since it was read: re-read and decide again."""


class Gone(Exception):
    """The object no longer exists."""


@dataclass(frozen=True, slots=True)
class Ref:
    namespace: str
    name: str
    uid: str


class KubeClient:
    def __init__(self, api: pykube.HTTPClient) -> None:
        self._api = api

    @classmethod
    def from_env(cls) -> KubeClient:
        """In-cluster service account, else $KUBECONFIG / ~/.kube/config."""
        return cls(pykube.HTTPClient(pykube.KubeConfig.from_env(), timeout=30))

    async def get(self, ref: Ref) -> dict[str, Any]:
        return await self._call("GET", ref)

    async def get_secret_data(self, namespace: str, name: str) -> dict[str, str]:
        """A Secret's decoded data. Values are never logged or put in messages."""

        def call() -> requests.Response:
            response: requests.Response = self._api.get(
                version="v1", namespace=namespace, url=f"secrets/{name}"
            )
            return response

        response = await asyncio.to_thread(call)
        where = f"Secret {namespace}/{name}"
        if response.status_code == 404:
            raise NotFound(f"{where} does not exist", reason="CredentialsSecretNotFound")
        if response.status_code == 403:
            raise AccessDenied(f"the operator may not read {where}; check its RBAC")
        response.raise_for_status()
        data = response.json().get("data") or {}
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    async def patch_status(
        self, ref: Ref, status: dict[str, Any], resource_version: str | None = None
    ) -> dict[str, Any]:
        """Merge-patch `.status`; with `resource_version`, only if nothing changed since."""
        body: dict[str, Any] = {"status": status}
        if resource_version:
            body["metadata"] = {"resourceVersion": resource_version}
        return await self._call("PATCH", ref, body, subresource="status")

    async def patch_labels(self, ref: Ref, labels: dict[str, str | None]) -> dict[str, Any]:
        return await self._call("PATCH", ref, {"metadata": {"labels": labels}})

    async def _call(
        self, method: str, ref: Ref, body: dict[str, Any] | None = None, subresource: str = ""
    ) -> dict[str, Any]:
        url = f"{PLURAL}/{ref.name}" + (f"/{subresource}" if subresource else "")

        def call() -> requests.Response:
            response: requests.Response = self._api.request(
                method,
                version=API_VERSION,
                namespace=ref.namespace,
                url=url,
                data=json.dumps(body) if body is not None else None,
                headers={"Content-Type": "application/merge-patch+json"} if body else None,
            )
            return response

        response = await asyncio.to_thread(call)
        if response.status_code == 409:
            raise Conflict(ref.name)
        if response.status_code == 404:
            raise Gone(ref.name)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        if result.get("metadata", {}).get("uid") not in (None, ref.uid):
            raise Gone(ref.name)  # deleted and re-created under the same name
        return result
