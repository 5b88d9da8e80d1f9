"""One conformance suite for every scoring executor (see ``conftest.EXECUTORS``)."""
