"""The TransferRequest API as Python: spec parsing, the status model, the phase machine.

Pure: no kopf, no Kubernetes client, no clock or randomness of its own (callers pass
`now` and a random draw), so every transition is a function that tests can enumerate.
"""
