"""Personnel: the employee register of a port organisation, staff screening and insider-risk signals."""
