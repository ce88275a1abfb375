"""Who is calling: SigV4 verification, credential lookup, sealed session tokens. Never imports services/."""
