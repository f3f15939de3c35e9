"""Constants once, types by isinstance: a scan of the source (``ast``) of catravs and tools.

- the registry scope is ``catravs.registry.SCOPE``: no string ``'catravs'`` is passed
  as a scope (``overwrite_default_scope``, ``get('default_scope', ...)``);
- ``IGNORE_INDEX`` is assigned in one module, ``catravs/structures``;
- VGGish's example shape is ``VGGISH_EXAMPLE_SHAPE``: no literal ``(1, 96, 64)`` and no
  literal 16000 outside ``catravs/utils/vggish_params.py``;
- no type is tested by its name (``type(x).__name__ == '...'``).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
HOME_OF = {'IGNORE_INDEX': 'catravs/structures/avs_data_sample.py',
           'VGGISH': 'catravs/utils/vggish_params.py'}


def _is_type_name(node: ast.AST) -> bool:
    """``type(x).__name__``"""
    return (isinstance(node, ast.Attribute) and node.attr == '__name__'
            and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
            and node.value.func.id == 'type')


def problems_in(tree: ast.AST, where: str) -> list[str]:
    found = []
    for node in ast.walk(tree):
        line = f'{where}:{getattr(node, "lineno", "?")}'
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, 'id', '')
            # positional and keyword arguments: scope_name='catravs' counts as 'catravs'
            args = [a.value for a in [*node.args, *(k.value for k in node.keywords)]
                    if isinstance(a, ast.Constant)]
            if name == 'overwrite_default_scope' and 'catravs' in args or \
                    name == 'get' and args[:1] == ['default_scope'] and 'catravs' in args:
                found.append(f"{line}: the scope written out ('catravs'); use SCOPE")
        elif isinstance(node, ast.Compare):
            if any(_is_type_name(n) for n in [node.left, *node.comparators]):
                found.append(f'{line}: a type tested by its name; use isinstance')
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id == 'IGNORE_INDEX' \
                        and where != HOME_OF['IGNORE_INDEX']:
                    found.append(f'{line}: IGNORE_INDEX defined again')
        elif isinstance(node, ast.Tuple) and where != HOME_OF['VGGISH']:
            values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            if values[-3:] == [1, 96, 64]:
                found.append(f"{line}: VGGish's example shape written out")
        elif isinstance(node, ast.Constant) and node.value == 16000 \
                and where != HOME_OF['VGGISH']:
            found.append(f"{line}: VGGish's sample rate written out")
    return found


def test_constants_once_and_no_type_names():
    problems = []
    for folder in ('catravs', 'tools'):
        for path in sorted((REPO_ROOT / folder).rglob('*.py')):
            where = str(path.relative_to(REPO_ROOT))
            problems += problems_in(ast.parse(path.read_text(encoding='utf-8')), where)
    assert problems == []


@pytest.mark.parametrize('source, expected', [
    ("with DefaultScope.overwrite_default_scope('catravs'):\n    pass\n", 'scope written'),
    ("scope = cfg.get('default_scope', 'catravs')\n", 'scope written'),
    ("ok = type(h).__name__ == 'RNGStateHook'\n", 'tested by its name'),
    ('IGNORE_INDEX = 255\n', 'IGNORE_INDEX defined again'),
    ('x = torch.zeros(t, 1, 96, 64)\nshape = (t, 1, 96, 64)\n', 'example shape'),
    ('seconds = n / 16000\n', 'sample rate'),
])
def test_the_scan_finds_each_kind(source, expected):
    problems = problems_in(ast.parse(source), 'catravs/x.py')
    assert len(problems) == 1 and expected in problems[0], problems


@pytest.mark.parametrize('source, expected', [
    ("with DefaultScope.overwrite_default_scope(scope_name='catravs'):\n    pass\n",
     'scope written'),
    ("scope = cfg.get('default_scope', default='catravs')\n", 'scope written'),
    ('IGNORE_INDEX: int = 255\n', 'IGNORE_INDEX defined again'),
])
def test_the_scan_reads_keywords_and_annotated_assignments(source, expected):
    problems = problems_in(ast.parse(source), 'catravs/x.py')
    assert len(problems) == 1 and expected in problems[0], problems
