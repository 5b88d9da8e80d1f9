"""Casework: deadlines counted in working days, objections, annulments, repair, expiry."""
