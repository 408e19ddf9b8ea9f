"""Where bytes live: the ``Directory`` protocol, a filesystem and an in-memory implementation,
and the checksummed container format every index file uses."""

from heron.storage.directory import Directory, OutputFile
from heron.storage.fs import FsDirectory
from heron.storage.memory import MemoryDirectory

__all__ = ["Directory", "FsDirectory", "MemoryDirectory", "OutputFile"]
