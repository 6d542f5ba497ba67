"""The finance subgraph: ledger, payment terms and credit, payments, invoices, profit sharing."""
