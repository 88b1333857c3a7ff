"""Python tools of rules_unikernel."""
