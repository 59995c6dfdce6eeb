"""Errors of the write side and of the on-disk index format."""


class IndexStoreError(Exception):
    """Base class for every index error; its message is meant for the operator."""


class IndexNotFound(IndexStoreError):
    """No committed index in the folder yet."""


class ModelMismatch(IndexStoreError):
    """The index was built with another embedding model or dimension."""


class WriterBusy(IndexStoreError):
    """Another process holds the single-writer lock."""


class DiskFull(IndexStoreError):
    """No space left where the index or the model cache is written; the last commit is intact."""


class CorruptIndex(IndexStoreError):
    """A committed file cannot be read."""


class BadArticle(ValueError):
    """An article (or the file holding it) cannot be read; the reason is the message."""
