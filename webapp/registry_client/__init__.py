"""The Registry v2 client: addresses, the sign-in handshake and the SSRF-safe session. No Flask.

Modules, each importing only the ones before it: `errors`; `policy` (where a check may connect)
and `address` (what admins type); `deadline` and `transport` (the guarded session and its
watchdog); `statuses` (the status list and its texts); `providers` (one module per registry
kind: hosts, endpoints, `auths` keys, expiry rules, words and hints; `ecr` for AWS ECR);
`reference` and `resolve` (image references and which registry serves one); `challenge`, `tls`,
`client_settings`; `handshake` (the protocol steps) and `check` (`run_check`, `probe_manifest`).
"""
