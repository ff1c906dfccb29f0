"""``python -m tracesnap ...`` is the same as the ``tracesnap`` command."""

from tracesnap._cli import main

if __name__ == "__main__":
    main()
