"""Cases: cases, places, parties (PII kept as HMAC plus a masked form), the relation graph and
sealed evidence lists.
"""
