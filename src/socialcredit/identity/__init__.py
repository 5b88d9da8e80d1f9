"""Real-name identity: ID numbers, divisions, the registry of persons and organisations."""
