"""Database helpers shared by the auth schema and the job store."""
