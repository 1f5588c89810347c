"""Shared media helpers for plugins: ffmpeg location and runs, probing, safe image opening.

Plugins import these inside ``spec.load()`` or their runners, never from ``spec.py`` (they pull in
Pillow and PyAV).
"""
