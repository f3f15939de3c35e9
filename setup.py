"""Install catravs; version pins live in requirements/ only."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name: str) -> list[str]:
    """Read ``requirements/{name}.txt``, skipping comments and includes."""
    reqs = []
    with open(osp.join(HERE, 'requirements', f'{name}.txt'), encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-'):
                reqs.append(line)
    return reqs


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'catravs', 'version.py'), encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='catravs',
    version=read_version(),
    description='CATR and audio-visual video segmentation on MMEngine',
    long_description=open(osp.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['catravs', 'catravs.*']),
    python_requires='>=3.10',
    install_requires=read_requirements('runtime'),
    extras_require={'video': read_requirements('video'),
                    'analysis': read_requirements('analysis'),
                    'tests': (read_requirements('tests') + read_requirements('video')
                              + read_requirements('analysis'))},
    license='Apache-2.0',
    zip_safe=False,
)
