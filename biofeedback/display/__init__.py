"""What a person sees while a session runs (terminal for now)."""
