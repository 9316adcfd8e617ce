"""transfer-operator: move files and objects between clouds from a Kubernetes custom resource."""

__version__ = "0.1.0"
