"""`python -m pipelines ...` is the `regulens` command (pipelines.cli cannot be run with -m: its
sub-command modules import it back, and a module run as __main__ would be loaded twice)."""

from pipelines.cli import main

main()
