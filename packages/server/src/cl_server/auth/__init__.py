"""Auth service: users, bcrypt passwords, ES256 JWT issuing and the public key (PROTOCOL.md §2).

Importing this package loads nothing heavy; ``cl_server.auth.tokens`` can be used on its own to
verify tokens, and ``cl_server.auth.app.create_app`` builds the HTTP service.
"""
