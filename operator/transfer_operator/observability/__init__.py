"""JSON logs, Prometheus metrics: how operators of the operator see what it does."""
