"""The Typer command-line interface; each module is one command group."""
