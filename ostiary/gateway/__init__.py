"""The gateway: requests for services other than IAM and STS, authorized here and forwarded to a backend.

`operations` says which operation a request is (from botocore's models); `permissions` says what that
operation needs in policy terms (actions, resource ARNs, condition keys), from AWS's Service
Authorization Reference and the operation-to-action map of iann0036/iam-dataset (`data/sdk_map.json`).
"""
