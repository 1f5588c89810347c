"""Helpers shared by the ML plugins. Submodules import numpy/PIL/onnxruntime, except ``params``."""
