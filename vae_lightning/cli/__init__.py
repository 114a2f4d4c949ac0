"""What the user types and reads: command-line plumbing, the console, the run guard that checks a command before
any folder is made, and the commands printed for the user to paste."""
