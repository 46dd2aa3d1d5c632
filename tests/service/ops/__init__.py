"""Operations: metrics, logs, request ids, health."""
