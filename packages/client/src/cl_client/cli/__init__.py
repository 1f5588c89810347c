"""Command-line tools: ``cl-client`` (:mod:`cl_client.cli.main`) and ``cl-admin``."""
