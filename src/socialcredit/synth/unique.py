"""A compact "seen before?" filter for generated ID numbers and credit codes.

Random birth dates and sequence numbers collide now and then (about one pair per
100,000 persons), and a population must not contain the same ID twice. An exact
set of ten million IDs would cost around a gigabyte; this Bloom filter costs
ten bits per ID. A false positive only means a perfectly good ID is drawn
again, so the population stays unique and the output stays deterministic
(the hash does not depend on Python's per-process string hashing).
"""

from __future__ import annotations

_MASK64 = (1 << 64) - 1
_K1 = 0x9E3779B97F4A7C15
_K2 = 0xC2B2AE3D27D4EB4F
_HASHES = 7
_BITS_PER_ITEM = 10


class SeenFilter:
    def __init__(self, capacity: int) -> None:
        self._bits = max(64, capacity * _BITS_PER_ITEM)
        self._table = bytearray((self._bits + 7) // 8)

    def add(self, code: str) -> bool:
        """Remember ``code``; False when it (probably) was seen before."""
        # The first 17 characters fix an ID (the 18th is their checksum); base 36
        # reads digits and the USCC letters alike.
        x = int(code[:17], 36)
        h1 = ((x * _K1) & _MASK64) ^ (x >> 29)
        h2 = (((x ^ _K2) * _K2) & _MASK64) | 1
        positions = [(h1 + i * h2) % self._bits for i in range(_HASHES)]
        table = self._table
        if all(table[p >> 3] & (1 << (p & 7)) for p in positions):
            return False
        for p in positions:
            table[p >> 3] |= 1 << (p & 7)
        return True
