"""Federation: OpenID Connect tokens and SAML responses from outside identity providers, and the
guarded fetches of their keys."""
