"""cl_server: auth service, compute service, workers, plugins and embedded broker."""

__version__ = "0.1.0"
