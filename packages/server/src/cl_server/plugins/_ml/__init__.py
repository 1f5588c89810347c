"""Helpers shared by the ML plugins. Submodules import numpy/PIL/onnxruntime; ``params`` does not."""
