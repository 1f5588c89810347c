"""Exception root of the server distribution."""


class ClServerError(Exception):
    """Base class of every error raised on purpose by cl_server."""


class PluginError(ClServerError):
    """A plugin could not process its input; the message is shown to users as ``error_message``."""


class PluginUnavailableError(ClServerError):
    """A plugin cannot run on this worker (for example its model is missing); says how to fix it."""


class JobCancelledError(ClServerError):
    """The job was deleted or the worker is stopping while the plugin ran."""
