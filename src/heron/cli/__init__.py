"""The ``heron`` command line (click): ``index``, ``search``, ``eval``, ``inspect``, ``bench``."""
