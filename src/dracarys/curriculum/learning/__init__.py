"""The learner's side: reading and completing lessons, and progress."""
