"""Account numbers for real-name links: mobile numbers, bank cards, online user ids.

Each is derived from the person's index through a bijection, so two persons
can never be given the same account, without remembering the ones handed out.
"""

from __future__ import annotations

# China Mobile number segments (134–139, 150–152, 157–159, 178, 182–184, 187, 188, 198).
MOBILE_PREFIXES = (
    *("134", "135", "136", "137", "138", "139", "150", "151", "152", "157"),
    *("158", "159", "178", "182", "183", "184", "187", "188", "198"),
)


def scramble(index: int, digits: int, salt: int) -> int:
    """A bijection on ``range(10**digits)`` that makes consecutive indexes look random.

    Multiplying by a number coprime to 10 is invertible modulo a power of ten.
    """
    modulus: int = 10**digits
    return (index * 76_543_219 + salt) % modulus  # 76543219 is coprime to 10


def mobile_number(index: int, salt: int) -> str:
    tail = scramble(index, 8, salt)
    prefix = MOBILE_PREFIXES[(index * 31 + salt) % len(MOBILE_PREFIXES)]
    return f"{prefix}{tail:08d}"


def luhn_check_digit(digits: str) -> str:
    total = 0
    # Doubling starts from the rightmost digit of the payload, since the check digit follows it.
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def bank_card(index: int, bin_code: str, salt: int) -> str:
    """A 19-digit UnionPay debit card number: issuer BIN, 12 digits, Luhn check digit."""
    payload = f"{bin_code}{scramble(index, 12, salt):012d}"
    return payload + luhn_check_digit(payload)


def online_user_id(index: int, salt: int) -> str:
    """A 16-digit payment-platform user id (the platform's ids start with 2088)."""
    return f"2088{scramble(index, 12, salt):012d}"
