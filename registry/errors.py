"""The root error of the registry package and its meaningful subtypes."""


class RegistryError(Exception):
    """Something in the central register failed or was refused."""


class NotFoundError(RegistryError):
    """The certificate, key or proof asked for does not exist (or is not yours to see)."""
