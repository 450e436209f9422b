"""The root error of the registry package and its meaningful subtypes."""


class RegistryError(Exception):
    """Something in the central register failed or was refused."""


class NotFoundError(RegistryError):
    """The certificate, key or proof asked for does not exist (or is not yours to see)."""


class ProofError(RegistryError):
    """A Merkle inclusion or consistency proof does not verify, or cannot exist for the sizes."""


class CheckpointError(RegistryError):
    """A signed checkpoint is malformed, or not validly signed by the expected key."""
