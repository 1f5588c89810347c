"""The ``exif`` plugin: camera metadata of an image as JSON (PROTOCOL §4.2)."""
