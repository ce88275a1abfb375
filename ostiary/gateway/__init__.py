"""The gateway: requests for services other than IAM and STS, authorized here and forwarded to a backend.

`operations` says which operation a request is (from botocore's models); `permissions` (with `s3`,
`dynamodb`, `kms`, and `generic` for every other service, over `mapping`) says what that operation needs
in policy terms: actions, resource ARNs, condition keys, from AWS's Service Authorization Reference and
the operation-to-action map of iann0036/iam-dataset (`data/sdk_map.json`). `endpoint` runs a request
through authentication, the engine and `forwarding` to the backend that `backends` names; `refusals`
speaks the JSON protocols.
"""
