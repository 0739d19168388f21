"""Release rights: identity-bound pick-up rights from shipping line to driver, and the gate check."""
