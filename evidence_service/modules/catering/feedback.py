"""The public's feedback from a restaurant's QR page: stored pending, rate-limited, moderated.

Anyone may write (no sign-in), so:

- the text is 1–500 characters after trimming, with no control characters (line breaks are
  kept, written ``\\n``); a rating is optional, a whole number 1–5;
- a sender is known only by the HMAC-SHA256 of its client address keyed with the module's PII
  secret (:func:`sender_digest`): enough to count its posts, never the address itself;
- at most :attr:`FeedbackLimits.per_sender` posts per sender and
  :attr:`FeedbackLimits.per_restaurant` per restaurant in any :attr:`FeedbackLimits.window`
  (the restaurant's row is locked while counting, so two posts cannot both take the last
  place); a refusal stores nothing;
- nothing shows until a worker of the restaurant's department publishes it (or rejects it);
  a decision is final.

Refusals raise :class:`FeedbackRefused` with a stable ``reason``: ``bad-text``,
``bad-rating``, ``sender-limit``, ``restaurant-limit``, ``no-restaurant``, ``no-feedback``,
``wrong-department``, ``already-moderated``, ``bad-decision``.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from ulid import ULID

from evidence_service.modules.catering import models as m
from evidence_service.modules.kit.db import write_transaction

MAX_TEXT = 500
DECISIONS = {"publish": "published", "reject": "rejected"}


class FeedbackRefused(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class FeedbackLimits:
    per_sender: int = 3
    per_restaurant: int = 30
    window: timedelta = timedelta(hours=1)


def sender_digest(secret: bytes, address: str) -> str:
    """The sender's key for rate limits: HMAC-SHA256(secret, address), hex."""
    return hmac.new(secret, address.encode(), hashlib.sha256).hexdigest()


def clean_text(text: str) -> str:
    """The text as stored: ``\\r\\n`` and ``\\r`` become ``\\n``, trimmed; refused when empty,
    longer than 500 characters or holding any other control character."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise FeedbackRefused("bad-text", "the feedback is empty")
    if len(text) > MAX_TEXT:
        raise FeedbackRefused("bad-text", f"the feedback is longer than {MAX_TEXT} characters")
    for ch in text:
        if ch != "\n" and unicodedata.category(ch) == "Cc":
            raise FeedbackRefused(
                "bad-text", f"the feedback holds a control character U+{ord(ch):04X}"
            )
    return text


def check_rating(rating: object) -> int | None:
    if rating is None:
        return None
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise FeedbackRefused("bad-rating", f"a rating is a whole number 1–5, not {rating!r}")
    return rating


def submit(
    engine: Engine,
    *,
    restaurant_id: str,
    text: str,
    rating: int | None,
    address: str,
    secret: bytes,
    now: datetime,
    limits: FeedbackLimits | None = None,
) -> str:
    """Store a pending feedback; returns its id."""
    lim = limits or FeedbackLimits()
    body = clean_text(text)
    stars = check_rating(rating)
    sender = sender_digest(secret, address)
    since = now - lim.window
    f = m.feedback.c
    with write_transaction(engine) as conn:
        query = select(m.restaurant.c.id).where(m.restaurant.c.id == restaurant_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        if conn.execute(query).first() is None:
            raise FeedbackRefused("no-restaurant", f"no restaurant {restaurant_id}")
        by_sender = conn.execute(
            select(func.count()).where(f.sender == sender, f.created_at > since)
        ).scalar_one()
        if by_sender >= lim.per_sender:
            raise FeedbackRefused(
                "sender-limit", f"at most {lim.per_sender} feedback per hour from one sender"
            )
        by_restaurant = conn.execute(
            select(func.count()).where(f.restaurant_id == restaurant_id, f.created_at > since)
        ).scalar_one()
        if by_restaurant >= lim.per_restaurant:
            raise FeedbackRefused(
                "restaurant-limit",
                f"at most {lim.per_restaurant} feedback per hour for one restaurant",
            )
        feedback_id = str(ULID())
        conn.execute(
            insert(m.feedback).values(
                id=feedback_id,
                restaurant_id=restaurant_id,
                text=body,
                rating=stars,
                state="pending",
                sender=sender,
                created_at=now,
            )
        )
    return feedback_id


def moderate(
    engine: Engine,
    feedback_id: str,
    *,
    decision: str,
    officer_id: str,
    department_id: str,
    now: datetime,
) -> dict[str, Any]:
    """Publish or reject a pending feedback, as a worker of the restaurant's department."""
    if decision not in DECISIONS:
        raise FeedbackRefused("bad-decision", f"decision is publish or reject, not {decision!r}")
    with write_transaction(engine) as conn:
        query = (
            select(m.feedback, m.restaurant.c.department_id)
            .join(m.restaurant, m.restaurant.c.id == m.feedback.c.restaurant_id)
            .where(m.feedback.c.id == feedback_id)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(of=m.feedback)
        row = conn.execute(query).first()
        if row is None:
            raise FeedbackRefused("no-feedback", f"no feedback {feedback_id}")
        if row.department_id != department_id:
            raise FeedbackRefused(
                "wrong-department", "only the restaurant's department moderates its feedback"
            )
        if row.state != "pending":
            raise FeedbackRefused("already-moderated", f"the feedback is already {row.state}")
        conn.execute(
            update(m.feedback)
            .where(m.feedback.c.id == feedback_id)
            .values(state=DECISIONS[decision], moderated_by=officer_id, moderated_at=now)
        )
        done = conn.execute(select(m.feedback).where(m.feedback.c.id == feedback_id)).one()
    return feedback_json(done)


def feedback_json(row: Any) -> dict[str, Any]:
    """A feedback for workers: the sender digest stays inside."""
    return {
        "id": row.id,
        "restaurant_id": row.restaurant_id,
        "text": row.text,
        "rating": row.rating,
        "state": row.state,
        "created_at": row.created_at.isoformat(),
        "moderated_by": row.moderated_by,
        "moderated_at": row.moderated_at.isoformat() if row.moderated_at else None,
    }


def list_feedback(
    engine: Engine,
    *,
    restaurant_id: str | None = None,
    state: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Feedback newest first, optionally of one restaurant and one state."""
    query = select(m.feedback).order_by(m.feedback.c.created_at.desc(), m.feedback.c.id.desc())
    if restaurant_id:
        query = query.where(m.feedback.c.restaurant_id == restaurant_id)
    if state:
        query = query.where(m.feedback.c.state == state)
    with engine.connect() as conn:
        return [feedback_json(row) for row in conn.execute(query.limit(limit))]
