"""Local accounts and their sign-in sessions: the ``users`` and ``user_sessions`` tables and their reads and writes.

The store keeps what it is given: the password hash comes hashed (``services.accounts`` hashes with Argon2), and a
session is kept only as the SHA-256 of its random token. The ``UserAccount`` record callers get carries no hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from tram_core.store.base import StoreBase
from tram_core.store.records import NotFoundError, StoreError
from tram_core.store.schema import Base, utcnow


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(500))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_sign_in: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class UserSessionRow(Base):
    __tablename__ = "user_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


@dataclass(frozen=True)
class UserAccount:
    """An account as callers see it: never its password hash."""

    id: int
    name: str
    role: str
    disabled: bool
    created_at: datetime
    last_sign_in: datetime | None
    failed_attempts: int
    locked_until: datetime | None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _account(row: UserRow) -> UserAccount:
    return UserAccount(row.id, row.name, row.role, bool(row.disabled), row.created_at, row.last_sign_in,
                       int(row.failed_attempts or 0), row.locked_until)


class UsersMixin(StoreBase):
    def _user_row(self, s, name: str) -> UserRow:
        row = s.scalars(select(UserRow).where(UserRow.name == name)).first()
        if row is None:
            raise NotFoundError(f"No user named '{name}'")
        return row

    def add_user(self, name: str, role: str, password_hash: str) -> UserAccount:
        with self.session() as s:
            if s.scalars(select(UserRow).where(UserRow.name == name)).first() is not None:
                raise StoreError(f"A user named '{name}' exists already")
            row = UserRow(name=name, role=role, password_hash=password_hash, disabled=False, created_at=utcnow(),
                          failed_attempts=0)
            s.add(row)
            s.flush()
            return _account(row)

    def get_user(self, name: str) -> UserAccount | None:
        with self.session() as s:
            row = s.scalars(select(UserRow).where(UserRow.name == name)).first()
            return None if row is None else _account(row)

    def list_users(self) -> list[UserAccount]:
        with self.session() as s:
            return [_account(r) for r in s.scalars(select(UserRow).order_by(UserRow.name))]

    def count_users(self) -> int:
        return len(self.list_users())

    def user_password_hash(self, name: str) -> str | None:
        """The stored hash, for verification only (``services.accounts``); None when there is no such user."""
        with self.session() as s:
            row = s.scalars(select(UserRow).where(UserRow.name == name)).first()
            return None if row is None else row.password_hash

    def update_user(self, name: str, **changes) -> tuple[UserAccount, UserAccount]:
        """Change an account's ``role``, ``password_hash``, ``disabled``, ``last_sign_in``, ``failed_attempts`` or
        ``locked_until``; (before, after). Disabling or a new password ends the user's sessions."""
        allowed = {"role", "password_hash", "disabled", "last_sign_in", "failed_attempts", "locked_until"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"cannot change {sorted(unknown)}")
        with self.session() as s:
            row = self._user_row(s, name)
            before = _account(row)
            for key, value in changes.items():
                setattr(row, key, value)
            if changes.get("disabled") or "password_hash" in changes:
                s.execute(delete(UserSessionRow).where(UserSessionRow.user_id == row.id))
            s.flush()
            return before, _account(row)

    def count_failed_sign_in(self, name: str, lock_for, now: datetime) -> int:
        """Add one failed sign-in atomically (parallel guesses cannot lose a count) and set the lock it earns.

        ``lock_for(failures)`` is the lock's length (a timedelta) or None; returns the new number of failures.
        """
        with self.session() as s:
            failures = s.execute(
                update(UserRow).where(UserRow.name == name)
                .values(failed_attempts=UserRow.failed_attempts + 1).returning(UserRow.failed_attempts)
            ).scalar_one()
            lock = lock_for(failures)
            if lock:
                s.execute(update(UserRow).where(UserRow.name == name).values(locked_until=now + lock))
            return failures

    def add_user_session(self, name: str, token: str, expires_at: datetime) -> None:
        with self.session() as s:
            row = self._user_row(s, name)
            s.add(UserSessionRow(token_hash=token_digest(token), user_id=row.id, created_at=utcnow(),
                                 expires_at=expires_at))

    def session_account(self, token: str, now: datetime) -> UserAccount | None:
        """The account of an unexpired session ``token`` (expired sessions are removed); None when none."""
        with self.session() as s:
            found = s.scalars(select(UserSessionRow).where(UserSessionRow.token_hash == token_digest(token))).first()
            if found is None:
                return None
            if found.expires_at <= now:
                s.delete(found)
                return None
            row = s.get(UserRow, found.user_id)
            return None if row is None else _account(row)

    def end_user_session(self, token: str) -> None:
        with self.session() as s:
            s.execute(delete(UserSessionRow).where(UserSessionRow.token_hash == token_digest(token)))
