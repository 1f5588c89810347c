"""The ``hash`` plugin: a content hash of the uploaded file (PROTOCOL §4.2)."""
