"""The audit trail: one CloudTrail record per call answered, written down before the answer leaves and
moved into the store in batches (`recorder`), read back by CloudTrail's LookupEvents (`lookup`).

events      the record of a call (CloudTrail's format); identity: its userIdentity; redaction: no secrets
plans       what each operation's model marks secret or data, planned once per operation for redaction
calls       the hooks of the request flow (IAM/STS calls, gateway decisions)
recorder    the write-ahead segments and the background writer
lookup      LookupEvents; endpoint: serving it on the shared port
"""
