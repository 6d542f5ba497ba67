"""The double-entry ledger, as pure domain rules (no database, no GraphQL).

Every money movement is one `Entry` of two or more `Line`s over accounts; debits equal credits
(checked here and again by PostgreSQL at commit). Entries are never changed: a correction is
the `reversal` of an entry. A balance is the sum of an account's lines (debit positive).

Accounts (one per tenant, currency, kind and, where it says so, party organization):

| kind                     | party       | normal side | what it holds                                  |
|--------------------------|-------------|-------------|------------------------------------------------|
| BUYER_RECEIVABLE         | buyer       | debit       | what a buyer owes on issued invoices           |
| CASH                     | -           | debit       | money at the bank / provider (clearing in)     |
| REFUNDS                  | -           | debit       | money given back to buyers (contra revenue)    |
| SALES_CLEARING           | -           | credit      | invoiced sales not yet settled between parties |
| SUPPLIER_PAYABLE         | supplier    | credit      | what the platform owes a supplier              |
| DISTRIBUTOR_COMMISSION   | distributor | credit      | what the platform owes a distributor           |
| PLATFORM_REVENUE         | -           | credit      | the platform's fee                             |
| ROUNDING                 | -           | credit      | minor units no party's share could take        |
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from subgraphs.finance.money import MoneyError, normalize

ZERO = Decimal(0)


class AccountKind(StrEnum):
    BUYER_RECEIVABLE = "BUYER_RECEIVABLE"
    CASH = "CASH"
    REFUNDS = "REFUNDS"
    SALES_CLEARING = "SALES_CLEARING"
    SUPPLIER_PAYABLE = "SUPPLIER_PAYABLE"
    DISTRIBUTOR_COMMISSION = "DISTRIBUTOR_COMMISSION"
    PLATFORM_REVENUE = "PLATFORM_REVENUE"
    ROUNDING = "ROUNDING"


# Accounts that belong to one organization; the others are the platform's own.
PARTY_KINDS = frozenset(
    {AccountKind.BUYER_RECEIVABLE, AccountKind.SUPPLIER_PAYABLE, AccountKind.DISTRIBUTOR_COMMISSION}
)
DEBIT_NORMAL = frozenset({AccountKind.BUYER_RECEIVABLE, AccountKind.CASH, AccountKind.REFUNDS})


class EntryKind(StrEnum):
    INVOICE_ISSUED = "INVOICE_ISSUED"
    PAYMENT_RECEIVED = "PAYMENT_RECEIVED"
    REFUND_PAID = "REFUND_PAID"
    SETTLEMENT = "SETTLEMENT"
    PAYOUT = "PAYOUT"
    INVOICE_VOIDED = "INVOICE_VOIDED"
    REVERSAL = "REVERSAL"
    CREDIT_NOTE = "CREDIT_NOTE"
    SHARES_REVERSED = "SHARES_REVERSED"


class LedgerError(ValueError):
    """An entry that would break double entry (unbalanced, empty, mixed currency, bad amount)."""


@dataclass(frozen=True, slots=True)
class AccountRef:
    kind: AccountKind
    currency: str
    party_id: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if (self.kind in PARTY_KINDS) != (self.party_id is not None):
            raise LedgerError(
                f"{self.kind} accounts {'need' if self.kind in PARTY_KINDS else 'take no'} party"
            )


@dataclass(frozen=True, slots=True)
class Line:
    account: AccountRef
    debit: Decimal = ZERO
    credit: Decimal = ZERO

    @property
    def signed(self) -> Decimal:
        """Debit positive, credit negative: what this line adds to its account's balance."""
        return self.debit - self.credit


def debit(account: AccountRef, amount: Decimal) -> Line:
    return Line(account, debit=amount)


def credit(account: AccountRef, amount: Decimal) -> Line:
    return Line(account, credit=amount)


@dataclass(frozen=True, slots=True)
class Entry:
    kind: EntryKind
    currency: str
    lines: tuple[Line, ...]
    memo: str = ""
    order_id: uuid.UUID | None = None
    reverses: uuid.UUID | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    def __post_init__(self) -> None:
        validate(self)

    @property
    def total(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)


def validate(entry: Entry) -> None:
    """Raise LedgerError unless `entry` is a balanced, single-currency entry of exact amounts."""
    if len(entry.lines) < 2:
        raise LedgerError("an entry needs at least two lines")
    for line in entry.lines:
        if line.account.currency != entry.currency:
            raise LedgerError("all lines of an entry are in the entry's currency")
        for amount in (line.debit, line.credit):
            if not amount.is_finite() or amount < 0:
                raise LedgerError("line amounts are finite and not negative")
            try:
                whole = normalize(amount, entry.currency) == amount
            except MoneyError:
                whole = False
            if not whole:
                raise LedgerError(f"{amount} is not a whole number of {entry.currency} minor units")
        if (line.debit == 0) == (line.credit == 0):
            raise LedgerError("a line is either a debit or a credit, and not zero")
    debits = sum((line.debit for line in entry.lines), ZERO)
    credits = sum((line.credit for line in entry.lines), ZERO)
    if debits != credits:
        raise LedgerError(f"unbalanced entry: debits {debits} != credits {credits}")


def make_entry(
    kind: EntryKind,
    currency: str,
    lines: Iterable[Line],
    *,
    memo: str = "",
    order_id: uuid.UUID | None = None,
    reverses: uuid.UUID | None = None,
) -> Entry:
    """An entry from `lines`, dropping zero lines (a share that rounds to nothing)."""
    kept = tuple(line for line in lines if line.debit or line.credit)
    return Entry(kind, currency, kept, memo=memo, order_id=order_id, reverses=reverses)


def reversal(entry: Entry, memo: str = "") -> Entry:
    """The correcting entry: every line on the other side."""
    lines = tuple(Line(line.account, debit=line.credit, credit=line.debit) for line in entry.lines)
    return Entry(
        EntryKind.REVERSAL,
        entry.currency,
        lines,
        memo=memo or f"reversal of {entry.id}",
        order_id=entry.order_id,
        reverses=entry.id,
    )


# --------------------------------------------------------------------------- business events


def account(kind: AccountKind, currency: str, party: uuid.UUID | None = None) -> AccountRef:
    return AccountRef(kind, currency, party)


def invoice_issued(order_id: uuid.UUID, buyer: uuid.UUID, amount: Decimal, currency: str) -> Entry:
    """The buyer owes the invoice; the sale waits in clearing until it is settled."""
    return make_entry(
        EntryKind.INVOICE_ISSUED,
        currency,
        [
            debit(account(AccountKind.BUYER_RECEIVABLE, currency, buyer), amount),
            credit(account(AccountKind.SALES_CLEARING, currency), amount),
        ],
        memo="invoice issued",
        order_id=order_id,
    )


def payment_received(
    order_id: uuid.UUID | None, buyer: uuid.UUID, amount: Decimal, currency: str, memo: str = "payment"
) -> Entry:
    return make_entry(
        EntryKind.PAYMENT_RECEIVED,
        currency,
        [
            debit(account(AccountKind.CASH, currency), amount),
            credit(account(AccountKind.BUYER_RECEIVABLE, currency, buyer), amount),
        ],
        memo=memo,
        order_id=order_id,
    )


def refund_paid(
    order_id: uuid.UUID | None,
    buyer: uuid.UUID,
    amount: Decimal,
    currency: str,
    *,
    invoiced: bool,
    memo: str | None = None,
) -> Entry:
    """Money back to the buyer. Against an invoiced sale it is a refund (contra account REFUNDS,
    netted out of the sale at settlement); without a live invoice it returns a prepayment, so
    the buyer's receivable goes back up by what they had paid ahead."""
    kind = AccountKind.REFUNDS if invoiced else AccountKind.BUYER_RECEIVABLE
    return make_entry(
        EntryKind.REFUND_PAID,
        currency,
        [
            debit(account(kind, currency, None if invoiced else buyer), amount),
            credit(account(AccountKind.CASH, currency), amount),
        ],
        memo=memo or ("refund" if invoiced else "prepayment returned"),
        order_id=order_id,
    )


def credit_note(order_id: uuid.UUID, buyer: uuid.UUID, amount: Decimal, currency: str, number: str) -> Entry:
    """Returned goods taken off the invoice: the buyer owes less (receivable down) and the sale is
    reduced through the contra account REFUNDS (netted out at settlement, or clawed back from
    the parties after it). Money goes back only if the buyer had paid more than it now owes:
    that is a separate `refund_paid(invoiced=False)` of the credit balance."""
    return make_entry(
        EntryKind.CREDIT_NOTE,
        currency,
        [
            debit(account(AccountKind.REFUNDS, currency), amount),
            credit(account(AccountKind.BUYER_RECEIVABLE, currency, buyer), amount),
        ],
        memo=f"credit note {number}",
        order_id=order_id,
    )


def shares_reversed(order_id: uuid.UUID, parts: Sequence[tuple[AccountRef, Decimal]], currency: str) -> Entry:
    """A return after settlement: each party gives back its part of the returned amount (its
    payable or the platform's revenue goes down), and REFUNDS is emptied by the same total."""
    lines = [debit(ref, amount) for ref, amount in parts]
    total = sum((amount for _, amount in parts), ZERO)
    lines.append(credit(account(AccountKind.REFUNDS, currency), total))
    return make_entry(EntryKind.SHARES_REVERSED, currency, lines, memo="shares reversed", order_id=order_id)


@dataclass(frozen=True, slots=True)
class SettlementParts:
    """Who gets what of one settled sale (amounts sum to the sale; see sharing.py)."""

    platform: Decimal
    supplier: Decimal
    level1: Decimal
    level2: Decimal
    rounding: Decimal
    supplier_id: uuid.UUID
    level1_id: uuid.UUID | None
    level2_id: uuid.UUID | None

    @property
    def total(self) -> Decimal:
        return self.platform + self.supplier + self.level1 + self.level2 + self.rounding


def settlement(order_id: uuid.UUID, parts: SettlementParts, currency: str, refunded: Decimal = ZERO) -> Entry:
    """Clearing (the invoiced sale) is emptied into the parties' accounts; what was refunded
    before settlement comes out of the REFUNDS account first, so the parties share the net sale.
    A distributor share without a distributor (a sale with no level-2 shop) is platform revenue."""
    platform = parts.platform
    lines = [credit(account(AccountKind.SUPPLIER_PAYABLE, currency, parts.supplier_id), parts.supplier)]
    for amount, party in ((parts.level1, parts.level1_id), (parts.level2, parts.level2_id)):
        if party is None:
            platform += amount
        else:
            lines.append(credit(account(AccountKind.DISTRIBUTOR_COMMISSION, currency, party), amount))
    lines.append(credit(account(AccountKind.PLATFORM_REVENUE, currency), platform))
    lines.append(credit(account(AccountKind.ROUNDING, currency), parts.rounding))
    lines.append(credit(account(AccountKind.REFUNDS, currency), refunded))
    lines.insert(0, debit(account(AccountKind.SALES_CLEARING, currency), parts.total + refunded))
    return make_entry(EntryKind.SETTLEMENT, currency, lines, memo="settlement", order_id=order_id)


def payout(
    order_id: uuid.UUID | None, kind: AccountKind, party: uuid.UUID, amount: Decimal, currency: str
) -> Entry:
    """Money paid out to a supplier or distributor."""
    if kind not in (AccountKind.SUPPLIER_PAYABLE, AccountKind.DISTRIBUTOR_COMMISSION):
        raise LedgerError("payouts go to suppliers and distributors")
    return make_entry(
        EntryKind.PAYOUT,
        currency,
        [debit(account(kind, currency, party), amount), credit(account(AccountKind.CASH, currency), amount)],
        memo="payout",
        order_id=order_id,
    )


# --------------------------------------------------------------------------- in memory


@dataclass
class Journal:
    """An in-memory journal (the property tests' model of the PostgreSQL one)."""

    entries: list[Entry] = field(default_factory=list)

    def post(self, entry: Entry) -> Entry:
        validate(entry)
        self.entries.append(entry)
        return entry

    def balance(self, ref: AccountRef) -> Decimal:
        return sum((line.signed for e in self.entries for line in e.lines if line.account == ref), ZERO)

    def balances(self) -> dict[AccountRef, Decimal]:
        out: dict[AccountRef, Decimal] = defaultdict(lambda: ZERO)
        for entry in self.entries:
            for line in entry.lines:
                out[line.account] += line.signed
        return dict(out)


def trial_balance(balances: dict[AccountRef, Decimal]) -> dict[str, Decimal]:
    """Sum of all balances per currency: zero in a sound ledger."""
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for ref, amount in balances.items():
        out[ref.currency] += amount
    return dict(out)


def lines_total(lines: Sequence[Line]) -> Decimal:
    return sum((line.signed for line in lines), ZERO)
