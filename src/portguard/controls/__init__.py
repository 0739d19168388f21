"""Control orders and control results: the feedback loop every rule and model learns from."""
