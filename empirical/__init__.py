"""Random-feature score models of (12), their exact gradient flows (9)-(10) and KL measurements."""
