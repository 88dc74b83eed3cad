"""``python -m rlaif`` (and ``accelerate launch -m rlaif``) runs the command-line interface."""

from rlaif.cli.app import main

if __name__ == "__main__":
    main()
