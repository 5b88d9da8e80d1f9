"""The list tests' world (subjects, authorities, dated feeds) serves the measures tests."""

from tests.lists.conftest import World, world

__all__ = ["World", "world"]
