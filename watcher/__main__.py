"""`python -m watcher`: the same entry point as the `watcher` console script."""

from .cli import main

main()
