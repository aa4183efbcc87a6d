"""Sharing intelligence with peers: keys, fingerprints, STIX bundles, hub client, matching."""
