"""The ``/ui`` dashboard: a page, its static assets (shipped in this package) and a login relay.

No build step: the assets under ``static/`` are the files the browser runs (ES modules, CSS).
"""

from cl_server.ui.routes import install_dashboard

__all__ = ["install_dashboard"]
