"""cl_client: typed async SDK for CL Server (PROTOCOL.md §7)."""
