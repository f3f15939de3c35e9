"""import catravs refuses a torch / torchvision / torchaudio mix from different releases."""
from importlib import metadata

import pytest

from catravs.utils import env_check


def fake_versions(monkeypatch, **versions):
    def version(name):
        if name not in versions:
            raise metadata.PackageNotFoundError(name)
        return versions[name]

    monkeypatch.setattr(env_check.metadata, 'version', version)


def test_matching_release_passes(monkeypatch):
    fake_versions(monkeypatch, torch='2.11.0+cu130', torchvision='0.26.0+cu130',
                  torchaudio='2.11.0')
    env_check.check_torch_family()


def test_mismatched_torchaudio_is_named(monkeypatch):
    fake_versions(monkeypatch, torch='2.11.0', torchvision='0.26.0', torchaudio='2.9.1')
    with pytest.raises(ImportError, match=r'torchaudio 2\.9\.1 does not belong to torch '
                                          r'2\.11\.0 \(expected torchaudio 2\.11\.x\)'):
        env_check.check_torch_family()


def test_mismatched_torchvision_is_named(monkeypatch):
    fake_versions(monkeypatch, torch='2.11.0', torchvision='0.29.1', torchaudio='2.11.0')
    with pytest.raises(ImportError, match=r'torchvision 0\.29\.1 .* \(expected torchvision 0\.26'):
        env_check.check_torch_family()


def test_missing_torch_says_how_to_install(monkeypatch):
    fake_versions(monkeypatch)
    with pytest.raises(ImportError, match='requirements/runtime.txt'):
        env_check.check_torch_family()


def test_installed_environment_is_consistent():
    env_check.check_torch_family()  # the environment the suite runs in
