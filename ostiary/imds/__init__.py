"""The instance metadata endpoint (IMDSv1/v2): role credentials of an instance profile for a workload."""
