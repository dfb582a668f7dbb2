"""watcher: follows one story across feeds and languages, and queues what is new for review."""

__version__ = "0.1.0"
