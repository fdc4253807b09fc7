"""[notify] Signed webhook delivery from the stream (Standard Webhooks)."""
