"""The Registry v2 client: addresses, the sign-in handshake and the SSRF-safe session. No Flask.

Modules: `address` (what admins type), `challenge` (WWW-Authenticate), `tls` (CA validation and
the SSL context), `outbound` (the guarded session) with `deadline` (its watchdog), `handshake`
(the protocol steps), `check` (`run_check`, `probe_manifest`), `statuses` (the status list and
its texts), `providers` (Docker Hub, GitHub, ECR knowledge), `settings` (configuration);
`reference` and `resolve` handle image references.
"""
