"""Access Analyzer's REST-JSON API on the IAM endpoint: each operation module declares what it serves,
`endpoint` routes, authenticates, authorizes and answers."""
