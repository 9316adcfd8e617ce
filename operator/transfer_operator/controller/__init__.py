"""kopf glue. Importing `transfer_operator.controller.handlers` registers the handlers."""
