"""Access: who acts (identity and tokens), department certificate authorities and seals (PKI), and
the trust bundle.
"""
