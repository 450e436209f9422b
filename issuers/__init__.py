"""The schools' side: the AMU rules, issuing, signing keys, delivery and the school API."""
