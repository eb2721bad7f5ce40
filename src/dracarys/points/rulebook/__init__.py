"""The earning rules (versioned: a change is a new version) and limited-time events that
multiply chosen rules: the rule book awards read, its administration, the public page."""
