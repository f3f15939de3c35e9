"""A plain-text table for metric logs (prettytable is not a dependency)."""
from __future__ import annotations

from collections.abc import Sequence


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]],
                 float_format: str = '{:.2f}') -> str:
    """Render ``rows`` under ``header`` as an aligned text table.

    Floats are written with ``float_format``; other cells with ``str``.
    """
    cells = [[float_format.format(c) if isinstance(c, float) else str(c) for c in row]
             for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    rule = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'

    def line(values: Sequence[str]) -> str:
        return '| ' + ' | '.join(v.ljust(w) for v, w in zip(values, widths)) + ' |'

    return '\n'.join([rule, line(header), rule, *[line(r) for r in cells], rule])
