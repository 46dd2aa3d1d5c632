"""The access wing's tables (SQLModel): ``<Name>`` is the table, ``<Name>Public`` what the API
returns, ``<Name>Create`` what it accepts. Ids are ULIDs; datetimes are timezone-aware UTC."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from evidence_service.core.db import utc_column as _utc_column


class DepartmentKind(StrEnum):
    inspection = "inspection"
    penalty = "penalty"
    court = "court"
    audit = "audit"


class Role(StrEnum):
    officer = "officer"
    reviewer = "reviewer"
    penalty = "penalty"
    court = "court"
    auditor = "auditor"
    admin = "admin"


class DepartmentBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    kind: DepartmentKind
    code: str = Field(min_length=1, max_length=64, unique=True, index=True)
    require_signed_captures: bool = Field(
        default=True,
        description="Refuse a capture whose statement the service cannot sign (an officer "
        "without a usable custodial certificate): a court should never see an unsigned one.",
    )


class Department(DepartmentBase, table=True):
    id: str = Field(primary_key=True, max_length=26)
    created_at: datetime = _utc_column(nullable=False)


class DepartmentCreate(DepartmentBase):
    pass


class DepartmentPublic(DepartmentBase):
    id: str
    created_at: datetime


class OfficerBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role
    department_id: str = Field(foreign_key="department.id", index=True, max_length=26)
    cert_no: str | None = Field(default=None, max_length=64, description="执法证号")


class Officer(OfficerBase, table=True):
    id: str = Field(primary_key=True, max_length=26)
    active: bool = True
    created_at: datetime = _utc_column(nullable=False)


class OfficerCreate(OfficerBase):
    pass


class OfficerPublic(OfficerBase):
    id: str
    active: bool
    created_at: datetime


class TokenKind(StrEnum):
    """A person's token expires (``EVIDENCE_TOKEN_TTL_DAYS``) and is only ever made by the
    person, from an enrolment code; a device's or a service's is issued by an admin, does not
    expire, and is listed and revocable."""

    person = "person"
    device = "device"
    service = "service"


class ApiToken(SQLModel, table=True):
    """A bearer token; only its SHA-256 is stored."""

    id: str = Field(primary_key=True, max_length=26)
    token_sha256: str = Field(unique=True, index=True, max_length=64)
    officer_id: str = Field(foreign_key="officer.id", index=True, max_length=26)
    kind: str = Field(default="person", max_length=16)  # a TokenKind
    label: str = Field(default="", max_length=200)
    created_at: datetime = _utc_column(nullable=False)
    expires_at: datetime | None = _utc_column(nullable=True)  # person tokens only
    issued_by: str | None = Field(default=None, max_length=26)  # the admin, for device/service
    revoked_at: datetime | None = _utc_column(nullable=True)


class TokenPublic(SQLModel):
    """A token as listed: never its hash."""

    id: str
    officer_id: str
    kind: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    issued_by: str | None
    revoked_at: datetime | None


class EnrolmentCode(SQLModel, table=True):
    """A one-time code an admin hands an officer, exchanged for the officer's own credentials
    (``POST /api/v1/auth/enrol``); only its SHA-256 is stored."""

    id: str = Field(primary_key=True, max_length=26)
    code_sha256: str = Field(unique=True, index=True, max_length=64)
    officer_id: str = Field(foreign_key="officer.id", index=True, max_length=26)
    issued_by: str = Field(max_length=26)
    created_at: datetime = _utc_column(nullable=False)
    expires_at: datetime = _utc_column(nullable=False)
    used_at: datetime | None = _utc_column(nullable=True)


class OfficerPassword(SQLModel, table=True):
    """An officer's web sign-in password, set by the officer with an enrolment code; only its
    argon2id hash is stored (``evidence_service.access.passwords``)."""

    officer_id: str = Field(primary_key=True, foreign_key="officer.id", max_length=26)
    hash: str = Field(max_length=255)
    set_at: datetime = _utc_column(nullable=False)


class DepartmentCA(SQLModel, table=True):
    """A department's certificate authority; its key is encrypted at rest."""

    department_id: str = Field(primary_key=True, foreign_key="department.id", max_length=26)
    certificate: str = Field(sa_column=Column(Text, nullable=False))  # PEM
    private_key: str = Field(sa_column=Column(Text, nullable=False))  # encrypted PKCS#8 PEM
    crl: str = Field(sa_column=Column(Text, nullable=False))  # PEM, reissued on each revocation
    created_at: datetime = _utc_column(nullable=False)


class RetiredDepartmentCA(SQLModel, table=True):
    """A department CA replaced by a rotation. Kept, key and all: the trust bundle still lists
    it, so what its certificates signed verifies at its anchor time, and its CRL is still
    reissued when one of them is revoked."""

    id: str = Field(primary_key=True, max_length=26)
    department_id: str = Field(foreign_key="department.id", index=True, max_length=26)
    certificate: str = Field(sa_column=Column(Text, nullable=False))  # PEM
    private_key: str = Field(sa_column=Column(Text, nullable=False))  # encrypted PKCS#8 PEM
    crl: str = Field(sa_column=Column(Text, nullable=False))  # PEM
    created_at: datetime = _utc_column(nullable=False)
    retired_at: datetime = _utc_column(nullable=False)


class OfficerCertificate(SQLModel, table=True):
    """An officer certificate issued by the department CA. Custodial certificates keep the
    officer's private key here, encrypted, and the service signs captures with it."""

    serial: str = Field(primary_key=True, max_length=64)  # decimal; X.509 serials exceed int64
    officer_id: str = Field(foreign_key="officer.id", index=True, max_length=26)
    department_id: str = Field(foreign_key="department.id", max_length=26)
    alg: str = Field(max_length=16)
    certificate: str = Field(sa_column=Column(Text, nullable=False))
    custodial: bool = False
    private_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    not_before: datetime = _utc_column(nullable=False)
    not_after: datetime = _utc_column(nullable=False)
    revoked_at: datetime | None = _utc_column(nullable=True)
    created_at: datetime = _utc_column(nullable=False)


class DepartmentSeal(SQLModel, table=True):
    """A department's e-seal (电子印章): a seal certificate from the department CA and its key,
    encrypted at rest. The seal code is the department's code."""

    department_id: str = Field(primary_key=True, foreign_key="department.id", max_length=26)
    seal_code: str = Field(max_length=64)
    certificate: str = Field(sa_column=Column(Text, nullable=False))
    private_key: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _utc_column(nullable=False)


class DepartmentBlsKey(SQLModel, table=True):
    """A department's BLS co-signing key (IETF BLS, G2 proof-of-possession suite)."""

    department_id: str = Field(primary_key=True, foreign_key="department.id", max_length=26)
    public_key: str = Field(max_length=96)  # hex, 48 bytes
    proof_of_possession: str = Field(max_length=192)  # hex, 96 bytes
    secret_key: str = Field(sa_column=Column(Text, nullable=False))  # AES-GCM sealed
    created_at: datetime = _utc_column(nullable=False)


class TransferGrant(SQLModel, table=True):
    """A visibility grant: what an accepted transfer lets the recipient department read, one row
    per item."""

    department_id: str = Field(primary_key=True, foreign_key="department.id", max_length=26)
    evidence_id: str = Field(primary_key=True, foreign_key="evidence.id", max_length=26)
    transfer_id: str = Field(foreign_key="transfer.id", max_length=26, index=True)
    granted_at: datetime = _utc_column(nullable=False)
