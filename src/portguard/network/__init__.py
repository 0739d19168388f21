"""Criminal networks: entity resolution of parties, the graph around seizures, risk propagation, exports."""
