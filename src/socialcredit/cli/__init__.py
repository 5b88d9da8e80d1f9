"""The ``socialcredit`` command line."""
