from .base_matcher import BaseMatcher
from .hungarian_matcher import HungarianMatcher

__all__ = ['BaseMatcher', 'HungarianMatcher']
