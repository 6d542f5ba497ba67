"""Business-rule problems of the catalog: `Issue` (field path, message, stable code), the
`DomainError` that carries them, and the codes clients branch on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# --------------------------------------------------------------------------------------------
# Problems


@dataclass(frozen=True, slots=True)
class Issue:
    """One business-rule violation. `field` is a path into the input (`skus.1.code`), or None."""

    code: str
    message: str
    field: str | None = None

    def under(self, prefix: str) -> Issue:
        """The same issue, its field nested under `prefix` (e.g. a SKU's issue inside a product)."""
        return Issue(self.code, self.message, f"{prefix}.{self.field}" if self.field else prefix)


class DomainError(Exception):
    """Raised by rules that stop an operation; carries every issue found, not just the first."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(f"{i.code}: {i.message}" for i in self.issues))

    @classmethod
    def single(cls, code: str, message: str, field: str | None = None) -> DomainError:
        return cls([Issue(code, message, field)])


class Codes:
    """Stable error codes (they are part of the API: clients branch on them)."""

    REQUIRED = "REQUIRED"
    INVALID_VALUE = "INVALID_VALUE"
    TOO_LONG = "TOO_LONG"
    INVALID_SKU_CODE = "INVALID_SKU_CODE"
    DUPLICATE_SKU_CODE = "DUPLICATE_SKU_CODE"
    SKU_BELONGS_TO_OTHER_PRODUCT = "SKU_BELONGS_TO_OTHER_PRODUCT"
    UNKNOWN_ATTRIBUTE = "UNKNOWN_ATTRIBUTE"
    MISSING_ATTRIBUTE = "MISSING_ATTRIBUTE"
    INVALID_ATTRIBUTE_VALUE = "INVALID_ATTRIBUTE_VALUE"
    INVALID_ATTRIBUTE_SCHEMA = "INVALID_ATTRIBUTE_SCHEMA"
    DUPLICATE_VARIANT = "DUPLICATE_VARIANT"
    INVALID_UNIT = "INVALID_UNIT"
    INVALID_PACK_SIZE = "INVALID_PACK_SIZE"
    INVALID_STATUS_TRANSITION = "INVALID_STATUS_TRANSITION"
    NOT_PUBLISHABLE = "NOT_PUBLISHABLE"
    CATEGORY_CYCLE = "CATEGORY_CYCLE"
    CATEGORY_NOT_FOUND = "CATEGORY_NOT_FOUND"
    NOT_FOUND = "NOT_FOUND"
    VERSION_CONFLICT = "VERSION_CONFLICT"
    FORBIDDEN = "FORBIDDEN"
    INVALID_MEDIA_URL = "INVALID_MEDIA_URL"
    INVALID_IMPORT = "INVALID_IMPORT"
    INCONSISTENT_PRODUCT = "INCONSISTENT_PRODUCT"
