"""Online study: browsing the catalog, enrolment, progress and completion credited to the ledger."""
