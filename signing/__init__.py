"""Keys, certificates, canonical statements, e-seals and co-signatures. Pure: no I/O."""
