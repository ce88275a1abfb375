"""The store: tables, queries, migrations and the secret keyring. The only package that imports sqlalchemy."""
