"""``python -m rlaif`` (and ``accelerate launch -m rlaif``) runs the command-line interface."""

import sys


def main() -> None:
    """Console-script entry point: Ctrl+C while the commands are still loading exits 130 quietly
    (the commands themselves handle it once they run)."""
    try:
        from rlaif.cli.app import main as cli_main
    except KeyboardInterrupt:
        sys.exit(130)
    cli_main()


if __name__ == "__main__":
    main()
