"""A run's life on disk: its directory and lock, the config it saves, checkpoints written atomically and read safely,
and rebuilding a trained model from one."""
