"""One module per scenario of issue 8; each ``run`` returns a JSON-ready dict of figures."""
