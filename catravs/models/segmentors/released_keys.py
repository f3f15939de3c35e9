"""Released checkpoint -> catravs state dict: one key table per method, mapped both ways.

A method's released checkpoint holds the same tensors as catravs' model under other
names, plus parameters its forward never uses. A method describes that once, as a
:class:`ReleasedKeyTable`: rules that pair a released key template with a catravs key
template, and the dead keys with the reason. Templates are keys with fields:

* ``{rest}``: any text (the end of a key: ``weight``, ``0.bias``, ...);
* ``{i}`` (any other name): a number; ``{i+1}`` / ``{i-1}`` on one side shifts it, e.g.
  ``('spatial_decoder.lay{k+1}.{rest}', 'head.pixel_decoder.convs.{k}.0.{rest}')``
  maps ``lay1`` to ``convs.0``.

Rules are tried in order, and the first whose released template matches the whole key
wins. Where the two codes store a tensor in another layout (TPAVI's released 1x1x1
``Conv3d`` weights, catravs' 1x1 ``Conv2d``), the table's ``values`` function reshapes
it after the renaming. The table gives :meth:`~ReleasedKeyTable.to_catravs` (a key, or
``KeyError`` for a key no rule knows), :meth:`~ReleasedKeyTable.convert` (a state dict,
dead keys dropped) and the inverse, :meth:`~ReleasedKeyTable.to_released`, derived from
the same rules (the released key whose conversion gives the catravs key), which error
messages use to name a missing weight as the released file calls it. :func:`layer_rules`
writes the rules of a stack of layers from a renaming table, :func:`prefixed` nests a
table (a backbone's) under a prefix; :data:`PVT_V2_RULES` is the original PVT-v2 naming
-> timm's.

Adding a method (``<method>_released_keys.py`` beside its segmentor)::

    TABLE = ReleasedKeyTable(
        'the released <Method> model (<its class>)',
        rules=(('vggish.{rest}', 'audio_encoder.{rest}'), ...,
               *prefixed('encoder_backbone.', 'backbone.', PVT_V2_RULES)),
        dead=((r'^path4\\.resConfUnit1\\.', 'built, never called'),))
    convert_released_state_dict = TABLE.convert

and its tool ``tools/model_converters/<method>_released_to_catravs.py`` parses its
arguments and calls :func:`catravs.apis.convert_released_checkpoint` with ``TABLE`` and
the config whose model the result must load into (the strict check, the report and the
"nothing written" are there, once for every method).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Optional

from torch import Tensor

__all__ = ['PVT_V2_RULES', 'ReleasedKeyTable', 'layer_rules', 'map_released_state_dict',
           'prefixed']

_FIELD = re.compile(r'\{(\w+)([+-]\d+)?\}')
Rule = tuple[str, str]


class _Template:
    """One side of a rule: a key with ``{rest}`` and ``{name[+-k]}`` fields."""

    def __init__(self, text: str) -> None:
        self.text, self.offsets = text, {}
        parts, pos = [], 0
        for m in _FIELD.finditer(text):
            if m[1] in self.offsets:
                raise ValueError(f"key template '{text}' names {{{m[1]}}} twice")
            self.offsets[m[1]] = int(m[2] or 0)
            parts += [re.escape(text[pos:m.start()]),
                      f'(?P<{m[1]}>.+)' if m[1] == 'rest' else fr'(?P<{m[1]}>\d+)']
            pos = m.end()
        self.regex = re.compile(''.join(parts) + re.escape(text[pos:]))

    def match(self, key: str) -> Optional[dict]:
        """The fields' values (numbers unshifted) if ``key`` is this template, else None."""
        m = self.regex.fullmatch(key)
        if m is None:
            return None
        values = {name: m[name] if name == 'rest' else int(m[name]) - offset
                  for name, offset in self.offsets.items()}
        return None if any(isinstance(v, int) and v < 0 for v in values.values()) else values

    def fill(self, values: dict) -> str:
        return _FIELD.sub(lambda m: values['rest'] if m[1] == 'rest'
                          else str(values[m[1]] + int(m[2] or 0)), self.text)


class ReleasedKeyTable:
    """A method's released naming: ordered rules and dead keys (see the module docstring).

    Args:
        model: what the released checkpoint holds, for messages (e.g. ``'the released
            CATR model (Pred_endecoder)'``).
        rules: ``(released template, catravs template)`` pairs, tried in order; both
            sides name the same fields.
        dead: ``(regex, reason)`` of keys the released forward never uses (searched in
            the released key); checked before the rules.
        values: ``(catravs key, released tensor) -> tensor`` in catravs' layout, applied by
            :meth:`convert` to every converted tensor (None: tensors kept as they are).
    """

    def __init__(self, model: str, rules: Iterable[Rule], dead: Iterable[Rule] = (),
                 values: Optional[Callable[[str, Tensor], Tensor]] = None) -> None:
        self.model, self.values = model, values
        self.rules = [(_Template(r), _Template(c)) for r, c in rules]
        for released, ours in self.rules:
            if set(released.offsets) != set(ours.offsets):
                raise ValueError(f"key rule '{released.text}' -> '{ours.text}': both sides "
                                 'must name the same fields')
        self.dead = [(re.compile(pattern), reason) for pattern, reason in dead]

    def dead_key_reason(self, key: str) -> Optional[str]:
        """Why the released code never uses ``key``, or None for a live key."""
        return next((why for pattern, why in self.dead if pattern.search(key)), None)

    def to_catravs(self, key: str) -> str:
        """The catravs key of a live released key.

        Raises:
            KeyError: no rule knows ``key``; the message names it and the model.
        """
        for released, ours in self.rules:
            values = released.match(key)
            if values is not None:
                return ours.fill(values)
        raise KeyError(f"unknown key '{key}': not a key of {self.model}; is this a "
                       "checkpoint of the released code's train.py?")

    def to_released(self, key: str) -> Optional[str]:
        """The live released key that :meth:`to_catravs` maps to catravs' ``key``, or None.

        Derived from the rules: the first rule whose catravs side matches gives a
        candidate, kept only if it converts back to ``key`` (an earlier rule may claim
        the candidate) and is not a dead key.
        """
        for released, ours in self.rules:
            values = ours.match(key)
            if values is None:
                continue
            candidate = released.fill(values)
            if self.dead_key_reason(candidate) is None:
                try:
                    if self.to_catravs(candidate) == key:
                        return candidate
                except KeyError:
                    pass
        return None

    def convert(self, state_dict: Mapping[str, Tensor],
                origins: Optional[dict[str, str]] = None
                ) -> tuple[dict[str, Tensor], dict[str, str]]:
        """Drop the dead keys, rename every other one (and reshape it with ``values``).

        Args:
            state_dict: the released state dict (a ``module.`` prefix already removed,
                as :func:`catravs.models.backbones.pretrained.load_state_dict_file` does).
            origins: if given, filled with each converted key's released key.

        Returns:
            ``(converted, dropped)``: the catravs state dict, and each dropped key with
            the reason it is dead.

        Raises:
            KeyError: the first key that is neither dead nor known to a rule.
        """
        return map_released_state_dict(state_dict, self.dead_key_reason, self._convert_one,
                                       origins)

    def _convert_one(self, key: str, value: Tensor) -> tuple[str, Tensor]:
        new = self.to_catravs(key)
        return new, (value if self.values is None else self.values(new, value))


def map_released_state_dict(
        state_dict: Mapping[str, Tensor],
        dead_key_reason: Callable[[str], Optional[str]],
        convert: Callable[[str, Tensor], tuple[str, Tensor]],
        origins: Optional[dict[str, str]] = None) -> tuple[dict[str, Tensor], dict[str, str]]:
    """The loop of :meth:`ReleasedKeyTable.convert` with the renaming as functions
    (``key -> reason or None``; ``(key, tensor) -> (catravs key, tensor)``, raising
    ``KeyError`` on an unknown key). A table is the form to prefer: it gives the inverse
    for messages, and its ``values`` covers a conversion that also changes tensors."""
    converted, dropped = {}, {}
    for key, value in state_dict.items():
        reason = dead_key_reason(key)
        if reason is not None:
            dropped[key] = reason
            continue
        new, value = convert(key, value)
        converted[new] = value
        if origins is not None:
            origins[new] = key
    return converted, dropped


def layer_rules(released: str, ours: str, renames: Mapping[str, str]) -> tuple[Rule, ...]:
    """Rules of a stack of layers: ``{released}.{i}.{old}{rest}`` ->
    ``{ours}.{i}.{new}{rest}`` for each ``old -> new`` of ``renames`` (prefixes of the
    layer's keys, e.g. ``{'linear1.': 'ffn.net.0.'}``)."""
    return tuple((f'{released}.{{i}}.{old}{{rest}}', f'{ours}.{{i}}.{new}{{rest}}')
                 for old, new in renames.items())


def prefixed(released: str, ours: str, rules: Sequence[Rule]) -> tuple[Rule, ...]:
    """``rules`` under a prefix on each side (e.g. a backbone's table under
    ``encoder_backbone.`` -> ``backbone.``)."""
    return tuple((released + r, ours + c) for r, c in rules)


#: PVT-v2 in the original repository's naming (whai362/PVT) -> timm's, the naming of
#: :class:`catravs.models.backbones.PVTv2Backbone`; the classifier ``head.*`` has no rule.
PVT_V2_RULES: tuple[Rule, ...] = (
    ('patch_embed1.{rest}', 'patch_embed.{rest}'),
    ('patch_embed{s+1}.{rest}', 'stages.{s}.downsample.{rest}'),
    ('block{s+1}.{j}.mlp.dwconv.dwconv.{rest}', 'stages.{s}.blocks.{j}.mlp.dwconv.{rest}'),
    ('block{s+1}.{j}.{rest}', 'stages.{s}.blocks.{j}.{rest}'),
    ('norm{s+1}.{rest}', 'stages.{s}.norm.{rest}'),
)
