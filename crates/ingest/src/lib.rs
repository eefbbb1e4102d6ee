//! Parse, infer and clean uploaded spreadsheets with no I/O (stub; see docs/ARCHITECTURE.md).
