"""PDF reports from the marts: one per relationship manager."""
