"""From composed Hydra config to objects: checking a config before anything runs, and building what it names."""
