"""Running Ostiary in production: backup and restore, keyring rotation, health and readiness."""
