"""Import-time check that torch, torchvision and torchaudio come from one release."""
from importlib import metadata

# torch minor release -> the torchvision / torchaudio minor release built with it.
_COMPANIONS = {
    'torchvision': lambda major, minor: (0, minor + 15) if major == 2 else None,
    'torchaudio': lambda major, minor: (major, minor),
}


def _major_minor(version: str) -> tuple[int, int]:
    parts = version.split('+', 1)[0].split('.')
    return int(parts[0]), int(parts[1])


def check_torch_family() -> None:
    """Raise ImportError when torchvision or torchaudio does not match torch.

    torchaudio's wheel does not pin torch, so ``pip install torchaudio`` next to
    another torch release gives a pair that fails deep inside an import. Reading
    the installed distributions' metadata finds this without importing either.
    """
    try:
        torch_version = metadata.version('torch')
    except metadata.PackageNotFoundError as exc:
        raise ImportError('catravs needs PyTorch: pip install -r requirements/runtime.txt') from exc
    torch_mm = _major_minor(torch_version)
    for name, expected_of in _COMPANIONS.items():
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # reported by whichever module imports it
        expected = expected_of(*torch_mm)
        if expected is not None and _major_minor(version) != expected:
            raise ImportError(
                f'{name} {version} does not belong to torch {torch_version} '
                f'(expected {name} {expected[0]}.{expected[1]}.x). Install the '
                f'matching release, e.g. pip install -r requirements/runtime.txt')
