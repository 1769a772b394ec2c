"""The National Provider Identifier's check digit, for the demo's clinicians and the QPP report's
`--npi`: one rule in one place, so what the demo writes is what the report accepts."""

from __future__ import annotations

#: CMS's NPI standard puts the card-issuer prefix 80840 before the first nine digits.
_PREFIX = "80840"


def check_digit(first_nine: str) -> int:
    """The tenth digit of an NPI whose first nine are `first_nine`: the Luhn formula over 80840 and them."""
    total = 0
    for i, char in enumerate(reversed(_PREFIX + first_nine)):
        digit = int(char) * (2 if i % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return (10 - total % 10) % 10
