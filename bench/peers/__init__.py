"""Adapters that put each peer engine behind one shape: prepare(principal, policies) -> decide(request).

Each module has NAME, VERSION, LIMITS (constructs of the workload it cannot express, in words) and
`prepare(principal, policies)`, where `policies` is a list of (name, document) and the result is a
function from a workload request (action, resource, context) to "Allow", "ExplicitDeny" or
"ImplicitDeny". `prepare` is the compile step, timed apart; the returned function is the decision.
"""
