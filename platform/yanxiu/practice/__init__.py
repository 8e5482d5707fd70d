"""Teaching-practice records: parse, code, measure, score, diagnose, review."""
