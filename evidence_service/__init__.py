"""Evidence custody service: intake, custody log, and (later) proofs, transfers and packages."""
