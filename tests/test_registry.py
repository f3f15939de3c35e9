"""Registries: categories, clear errors, and survival under a real Runner's default scope."""
import pytest
import torch.nn as nn

from catravs.analysis.module_listing import list_registered
from catravs.models import build_model_part, registered_in_category
from catravs.registry import MODEL_PART_CATEGORIES, MODELS, category_of


def test_every_category_has_a_base_and_members():
    MODELS.import_from_location()
    for category in ('visual_backbone', 'audio_encoder', 'neck', 'fusion', 'decoder', 'head',
                     'loss', 'matcher'):
        assert category in MODEL_PART_CATEGORIES
        assert registered_in_category(category), category


def test_listing_groups_by_category():
    listing = list_registered()
    assert 'CombinatorialDependenceFusion' in listing['fusion']
    assert 'DiceLoss' in listing['loss'] and 'DiceLoss' not in listing['fusion']
    assert 'CATR' in listing['model (other)']
    assert 'S4Dataset' in listing['dataset']
    assert 'AVSBinaryMetric' in listing['metric']


def test_unknown_type_names_the_field_and_lists_choices():
    with pytest.raises(KeyError, match=r"model\.fusion: type 'NoSuchFusion'.*"
                                       r'CombinatorialDependenceFusion'):
        build_model_part(dict(type='NoSuchFusion'), 'fusion', 'model.fusion')


def test_wrong_category_is_refused_with_both_categories():
    with pytest.raises(TypeError, match=r"model\.fusion: 'DiceLoss'.*registered as a loss.*"
                                        r'expects a fusion'):
        build_model_part(dict(type='DiceLoss'), 'fusion', 'model.fusion')


def test_duplicate_name_says_who_registered_it():
    from catravs.models.fusions import BaseFusion

    class CombinatorialDependenceFusion(BaseFusion):  # noqa: D401 - a clashing plugin
        pass

    with pytest.raises(KeyError, match=r"already registered there by "
                                       r'catravs\.models\.fusions\.combinatorial_dependence_'
                                       r'fusion\.CombinatorialDependenceFusion \(category: '
                                       r'fusion\)'):
        MODELS.register_module(module=CombinatorialDependenceFusion)
    assert category_of(MODELS.get('CombinatorialDependenceFusion')) == 'fusion'


def test_model_parts_build_inside_a_runner_scope(tmp_path):
    """A Runner sets default_scope='catravs'; building must still find every part."""
    from mmengine.registry import DefaultScope

    from tests.conftest import tiny_catr_cfg
    with DefaultScope.overwrite_default_scope('catravs'):
        from mmengine.registry import MODELS as ROOT_MODELS
        model = ROOT_MODELS.build(tiny_catr_cfg())
    assert isinstance(model.fusion, nn.Module)
    assert category_of(type(model.backbone)) == 'visual_backbone'
