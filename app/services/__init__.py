"""Business rules as plain functions; none of them knows about HTTP."""
