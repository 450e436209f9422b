"""The central side: the append-only certificate register, its transparency log, lookups for
participants and verification for authorities. Also hosts the service's wiring (settings, app
factory, CLI), because the registry is the service every other part plugs into."""
