"""Credit policy, the append-only hour ledger (学时台账) and compliance."""
