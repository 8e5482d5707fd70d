"""Course resources: content loading, validation, import and queries."""
